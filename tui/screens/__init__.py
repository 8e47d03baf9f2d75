"""Screens of backroom, and the one way they reach the store from a thread worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def in_db(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a store call on this worker thread with a connection of its own, closed after,
    so short-lived worker threads never leak connections."""
    from store.models import db

    if not db.is_closed():
        return fn(*args, **kwargs)
    with db.connection_context():
        return fn(*args, **kwargs)
