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


class ReportsWorkerErrors:
    """Mix into a Screen: a worker that failed becomes the app's notice (and log line).

    Worker.StateChanged does not bubble, so each screen that runs workers hands it on."""

    def on_worker_state_changed(self, event: Any) -> None:
        from textual.worker import WorkerState

        if event.state == WorkerState.ERROR and event.worker.error is not None:
            report = getattr(self.app, "report_error", None)  # type: ignore[attr-defined]
            if report is not None:
                report(event.worker.error)
            else:
                self.notify(  # type: ignore[attr-defined]
                    str(event.worker.error), severity="error", markup=False
                )
