"""Messages the screens' read workers post back to the event loop (past tense: what
happened). Only message handlers touch widgets."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from store.campaign_queries import CampaignRow
from store.customer_queries import CustomerFilter, CustomerPage, CustomerProfile, GroupRow
from store.health import HealthReport
from store.history_reads import LogPage
from store.outbox_queries import OutboxPage
from store.queries import OrderDetail, Page
from store.subscriber_queries import SubscriberPage


@dataclass
class PageLoaded(Message):
    """A page of the queue arrived; `where` says how it joins the loaded window."""

    generation: int
    page: Page
    where: str  # replace | append | prepend
    request: tuple[str | None, bool]  # (cursor, backwards) that fetched it
    keep_id: int | None = None


@dataclass
class WindowReloaded(Message):
    """The whole loaded window was fetched again (after a change), pages in order."""

    generation: int
    pages: list[Page]
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

    detail: OrderDetail


@dataclass
class OrdersChanged(Message):
    """Orders were written (status change, undo, edit): screens showing them reload."""

    summary: str = ""


@dataclass
class CustomersLoaded(Message):
    """A page of customers arrived for the request numbered `generation`; `total` is how many
    the filter holds, or -1 for a page of the same filter (the count kept), or None while a
    new filter's count is still being read (CustomersCounted brings it)."""

    generation: int
    page: CustomerPage
    filter: CustomerFilter
    total: int | None = 0


@dataclass
class CustomersCounted(Message):
    """How many customers the filter of request `generation` holds, counted after its first
    page was shown (a count reads every match: 16-80 ms for a segment of 200,000 customers,
    where the page takes 1)."""

    generation: int
    total: int


@dataclass
class CustomersFailed(Message):
    """The customer filter could not be read or the query was refused."""

    generation: int
    reason: str


@dataclass
class ProfileLoaded(Message):
    """A customer's profile arrived, with the names of the groups to choose from."""

    profile: CustomerProfile
    group_names: tuple[str, ...] = ()


@dataclass
class GroupsLoaded(Message):
    """The groups and their member counts arrived."""

    groups: tuple[GroupRow, ...]


@dataclass
class OutboxLoaded(Message):
    """Counts and the first page (or a further page, `append`) of the outbox arrived."""

    counts: dict[str, int]
    page: OutboxPage
    append: bool
    webhooks: str = ""  # the webhook line: deliveries by state, disabled endpoints and why




@dataclass
class CampaignsLoaded(Message):
    """The campaigns with their counts arrived (or `problem` says why they could not)."""

    campaigns: tuple[CampaignRow, ...]
    problem: str = ""


@dataclass
class SubscribersLoaded(Message):
    """A page of subscribers (appended when `append`) and the counts by state arrived for the
    request numbered `generation` (or `problem` says why they could not)."""

    generation: int
    page: SubscriberPage | None
    counts: dict[str, int]
    append: bool = False
    problem: str = ""


@dataclass
class HealthRead(Message):
    """The shop's health was read (report None: it could not be, `problem` says why)."""

    report: HealthReport | None
    problem: str = ""


@dataclass
class ShopLogLoaded(Message):
    """A page of the shop log arrived (`append`: a further page), or the filter's refusal."""

    generation: int
    page: LogPage | None
    append: bool
    problem: str = ""
