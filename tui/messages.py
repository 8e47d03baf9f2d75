"""Messages the screens' workers post back to the event loop (past tense: what happened)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class PageLoaded(Message):
    """A page of the queue arrived; `where` says how it joins the loaded window."""

    generation: int
    page: Any  # store.queries.Page
    where: str  # replace | append | prepend
    request: tuple[str | None, bool]  # (cursor, backwards) that fetched it
    keep_id: int | None = None


@dataclass
class WindowReloaded(Message):
    """The whole loaded window was fetched again (after a change), pages in order."""

    generation: int
    pages: list[Any]
    requests: list[tuple[str | None, bool]]


@dataclass
class CountsLoaded(Message):
    """Per-status counts for the tabs (current orders) and the archived total."""

    generation: int
    counts: dict[str, int]
    archived: int


@dataclass
class DetailLoaded(Message):
    """An order's full detail arrived."""

    detail: Any  # store.queries.OrderDetail


@dataclass
class OrdersChanged(Message):
    """Orders were written (status change, undo, edit): screens showing them reload."""

    summary: str = ""
