"""Random sequences of operator actions (hypothesis stateful): the workflow is never broken,
no order is refunded more than it was paid, the history has exactly one 'status' row per
successful change and one 'status_undone' row per undone one, and each order's tracking number
is the one the operator's choices give (a change fills it in or replaces it, undo puts back the
number it replaced while the order still has the one it set)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
)

from store import db as dbmod
from store import operators, orders, payments, status, undo
from store.errors import NotFound, Refused
from store.models import Order, OrderEvent, OrderSearch
from store.shop import open_shop
from store.workflow import DEFAULT
from tests.conftest import make_config
from tests.factories import place

STATUSES = DEFAULT.keys()
_TEMPLATE: list[str] = []


def _template() -> str:
    """A migrated empty shop database, built once and copied for each example (fast)."""
    if not _TEMPLATE:
        path = tempfile.mkdtemp(prefix="backroom-stateful-template-") + "/shop.db"
        dbmod.close()
        open_shop(make_config(f"sqlite:///{path}"))
        dbmod.close()
        _TEMPLATE.append(path)
    return _TEMPLATE[0]


@dataclass
class Expected:
    """What the model believes about one order."""

    status: str
    status_rows: int = 0
    undone_rows: int = 0
    tracking: str = ""


class OrderWorkflow(RuleBasedStateMachine):
    orders_ = Bundle("orders")
    batches = Bundle("batches")

    def __init__(self) -> None:
        super().__init__()
        template = _template()
        self.dir = tempfile.mkdtemp(prefix="backroom-stateful-")
        shutil.copyfile(template, f"{self.dir}/shop.db")
        self.shop = open_shop(make_config(f"sqlite:///{self.dir}/shop.db"))
        self.actor = operators.ensure_admin("ada")
        self.expected: dict[int, Expected] = {}
        # per batch: (order, from status, to status, (old, new) tracking if it set one)
        self.batch_orders: dict[str, list[tuple[int, str, str, tuple[str, str] | None]]] = {}

    def teardown(self) -> None:
        dbmod.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(target=orders_, items=st.integers(1, 3), pickup=st.booleans())
    def place(self, items: int, pickup: bool) -> int:
        ref = place(self.shop, total_items=items,
                    shipping_method="pickup" if pickup else "standard")
        self.expected[ref.id] = Expected(self.shop.workflow.initial.key)
        return ref.id

    @rule(target=batches, ids=st.lists(orders_, min_size=1, max_size=3, unique=True),
          to=st.one_of(st.just("paid"), st.sampled_from(STATUSES)),
          tracking=st.sampled_from([None, "1Z999", "1Z777"]),
          replace=st.sampled_from([None, True, False]))
    def change_status(self, ids: list[int], to: str, tracking: str | None,
                      replace: bool | None) -> str:
        before = {i: Order.get_by_id(i) for i in ids}
        change = status.change_status(self.shop, self.actor, ids, to, tracking=tracking,
                                      replace_tracking=replace, shared_tracking=True)
        replacing = len(ids) == 1 if replace is None else replace
        moved = []
        for result in change.results:
            order = before[result.order_id]
            if result.changed:
                assert self.shop.workflow.allowed(order.status, to), (order.status, to)
                if "tracking" in self.shop.workflow[to].requires:
                    assert tracking or order.tracking_number or order.shipping_method == "pickup"
                exp = self.expected[order.id]
                exp.status = to
                exp.status_rows += 1
                sets = None
                if tracking and (replacing or not order.tracking_number):
                    sets = (order.tracking_number, tracking)
                    exp.tracking = tracking
                moved.append((order.id, order.status, to, sets))
            else:
                assert result.reason
                assert Order.get_by_id(order.id).version == order.version  # untouched
        self.batch_orders[change.batch] = moved
        return change.batch

    @rule(batch=consumes(batches))
    def undo(self, batch: str) -> None:
        try:
            change = undo.undo(self.shop, self.actor, batch)
        except (NotFound, Refused):
            return
        for result in change.results:
            if result.changed:
                exp = self.expected[result.order_id]
                back, sets = next((f, t) for i, f, _, t in self.batch_orders[batch]
                                  if i == result.order_id)
                exp.status = back
                exp.undone_rows += 1
                if sets and exp.tracking == sets[1]:
                    exp.tracking = sets[0]

    @rule(order_id=orders_, tracking=st.sampled_from(["FIX-1", "1Z999", ""]))
    def set_tracking(self, order_id: int, tracking: str) -> None:
        orders.set_tracking(self.shop, self.actor, order_id, tracking)
        self.expected[order_id].tracking = tracking

    @rule(order_id=orders_, amount=st.integers(1, 8000))
    def record_payment(self, order_id: int, amount: int) -> None:
        before = Order.get_by_id(order_id)
        try:
            payments.record_payment(self.shop, self.actor, order_id, amount)
        except Refused:
            assert before.amount_paid + amount > before.total
            return
        assert Order.get_by_id(order_id).amount_paid == before.amount_paid + amount

    @rule(order_id=orders_, amount=st.integers(1, 3000), full=st.booleans())
    def refund(self, order_id: int, amount: int, full: bool) -> None:
        before = Order.get_by_id(order_id)
        if full:
            amount = max(1, before.amount_paid - before.amount_refunded)
        try:
            moved = payments.refund(self.shop, self.actor, order_id, amount, "test")
        except Refused:
            assert amount > before.amount_paid - before.amount_refunded
            return
        assert amount <= before.amount_paid - before.amount_refunded
        if moved:
            assert self.shop.workflow.allowed(before.status, "refunded")
            self.expected[order_id].status = "refunded"
            self.expected[order_id].status_rows += 1

    @invariant()
    def database_matches_model(self) -> None:
        for order_id, exp in self.expected.items():
            order = Order.get_by_id(order_id)
            assert order.status == exp.status
            assert order.tracking_number == exp.tracking
            assert exp.tracking.lower() in OrderSearch.get_by_id(order_id).text
            assert order.status in self.shop.workflow
            assert 0 <= order.amount_refunded <= order.amount_paid <= order.total
            events = OrderEvent.select().where(OrderEvent.order == order_id)
            kinds = [e.kind for e in events]
            assert kinds.count("status") == exp.status_rows
            assert kinds.count("status_undone") == exp.undone_rows

    @precondition(lambda self: bool(self.expected))
    @invariant()
    def history_replays_to_status(self) -> None:
        """Replaying the history's status rows from the initial status gives the status,
        and every forward step is one the workflow allows."""
        wf = self.shop.workflow
        for order_id in self.expected:
            status = wf.initial.key
            for event in OrderEvent.select().where(OrderEvent.order == order_id).order_by(
                    OrderEvent.id):
                if event.kind == "status":
                    assert event.from_status == status and wf.allowed(status, event.to_status)
                    status = event.to_status
                elif event.kind == "status_undone":
                    assert event.from_status == status
                    status = event.to_status
            assert Order.get_by_id(order_id).status == status


OrderWorkflow.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestOrderWorkflow = OrderWorkflow.TestCase
