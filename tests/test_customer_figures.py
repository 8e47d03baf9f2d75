"""The figures kept on each customer (store.customer_figures) always equal what their orders
say: random sequences of every change that moves them (hypothesis stateful), each followed by
the check `backroom check` runs, on SQLite and (with BACKROOM_TEST_PG_URL) PostgreSQL; and the
check itself finds and repairs a figure written wrong behind the store's back."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, rule

from store import checks, customer_figures, customers, operators, orders, payments, status, undo
from store import db as dbmod
from store.errors import BackroomError, PermissionDenied
from store.models import Customer, Order, utcnow
from store.shop import open_shop
from tests.conftest import PG_URL, _empty_pg, cli_config, create_pg_database, make_config
from tests.factories import place
from tui.cli import main

_TEMPLATE: list[str] = []


def _template() -> str:
    """A migrated empty shop database, built once and copied for each example."""
    if not _TEMPLATE:
        path = tempfile.mkdtemp(prefix="backroom-figures-template-") + "/shop.db"
        dbmod.close()
        open_shop(make_config(f"sqlite:///{path}"))
        dbmod.close()
        _TEMPLATE.append(path)
    return _TEMPLATE[0]


class FigureChanges(RuleBasedStateMachine):
    """Customers, their orders (real and test, in the shop currency and another), payments,
    refunds, single and bulk status changes (paid records the balance), undo, the test flag,
    deletion and erasure, in any order."""

    url = ""  # set by the PostgreSQL variant
    customers_ = Bundle("customers")
    picks = st.integers(0, 10**6)  # an order by its place in self.order_ids

    def __init__(self) -> None:
        super().__init__()
        self.dir = ""
        if self.url:
            dbmod.close()
            _empty_pg(self.url)
            url = self.url
        else:
            self.dir = tempfile.mkdtemp(prefix="backroom-figures-")
            shutil.copyfile(_template(), f"{self.dir}/shop.db")
            url = f"sqlite:///{self.dir}/shop.db"
        self.shop = open_shop(make_config(url))
        self.actor = operators.ensure_admin("ada")
        self.batches: list[str] = []
        self.order_ids: list[int] = []
        self.count = 0

    def teardown(self) -> None:
        dbmod.close()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _try(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return fn(*args, **kwargs)
        except BackroomError:
            return None

    @initialize(target=customers_)
    def first_customers(self):  # type: ignore[no-untyped-def]
        """Two customers with an order each, so every rule has something to work on."""
        made = [self.add_customer(), self.add_customer()]
        for customer in made:
            self.order_ids.append(place(self.shop, customer_id=customer, price=2500).id)
        return multiple(*made)

    def _order(self, pick: int) -> int:
        return self.order_ids[pick % len(self.order_ids)]

    @rule(target=customers_)
    def add_customer(self) -> int:
        self.count += 1
        return customers.create_customer(self.shop, self.actor, email=f"c{self.count}@ex.com",
                                         first_name="Ann", last_name=f"Smith {self.count}").id

    @rule(customer=customers_, days=st.integers(0, 400), is_test=st.booleans(),
          other_currency=st.booleans(), price=st.integers(1, 50000))
    def place(self, customer: int, days: int, is_test: bool, other_currency: bool,
              price: int) -> None:
        ref = self._try(place, self.shop, customer_id=customer, price=price, is_test=is_test,
                        currency="USD" if other_currency else None,
                        placed_at=utcnow() - dt.timedelta(days=days))
        if ref is not None:
            self.order_ids.append(ref.id)

    @rule(pick=picks, part=st.integers(1, 4))
    def pay(self, pick: int, part: int) -> None:
        order = self._order(pick)
        row = Order.get_or_none(Order.id == order)
        if row is not None and row.total > row.amount_paid:
            self._try(payments.record_payment, self.shop, self.actor, order,
                      max(1, (row.total - row.amount_paid) // part))

    @rule(pick=picks, part=st.integers(1, 3))
    def refund(self, pick: int, part: int) -> None:
        order = self._order(pick)
        row = Order.get_or_none(Order.id == order)
        if row is not None and row.amount_paid > row.amount_refunded:
            self._try(payments.refund, self.shop, self.actor, order,
                      max(1, (row.amount_paid - row.amount_refunded) // part), "returned")

    @rule(picks_=st.lists(picks, min_size=1, max_size=4),
          to=st.sampled_from(["paid", "shipped", "cancelled", "completed",
                              "awaiting_verification"]))
    def change(self, picks_: list[int], to: str) -> None:
        picked = list(dict.fromkeys(self._order(p) for p in picks_))
        result = self._try(status.change_status, self.shop, self.actor, picked, to,
                           tracking="TRK-1")
        if result is not None and result.changed:
            self.batches.append(result.batch)

    @rule()
    def undo_last(self) -> None:
        if self.batches:
            self._try(undo.undo, self.shop, self.actor, self.batches.pop())

    @rule(pick=picks, is_test=st.booleans())
    def test_flag(self, pick: int, is_test: bool) -> None:
        order = self._order(pick)
        if Order.get_or_none(Order.id == order) is not None:
            self._try(orders.set_test_flag, self.shop, self.actor, order, is_test)

    @rule(pick=picks)
    def delete(self, pick: int) -> None:
        order = self._order(pick)
        if Order.get_or_none(Order.id == order) is not None:
            self._try(orders.delete_order, self.shop, self.actor, order)

    @rule(customer=customers_)
    def erase(self, customer: int) -> None:
        row = Customer.get_by_id(customer)
        self._try(customers.delete_customer, self.shop, self.actor, customer, row.email)

    @invariant()
    def figures_match_the_orders(self) -> None:
        assert customer_figures.differences(self.shop.currency) == []


FigureChanges.TestCase.settings = settings(
    max_examples=40, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestFigureChanges = FigureChanges.TestCase


class PgFigureChanges(FigureChanges):
    pass


PgFigureChanges.TestCase.settings = settings(
    max_examples=15, stateful_step_count=20, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.pg
def test_figures_match_the_orders_on_postgresql() -> None:
    if not PG_URL:
        pytest.skip("PostgreSQL tests need BACKROOM_TEST_PG_URL")
    url = create_pg_database()
    PgFigureChanges.url = url
    try:
        PgFigureChanges.TestCase().runTest()
    finally:
        from tests.conftest import drop_pg_database

        dbmod.close()
        drop_pg_database(url)


def test_check_finds_repairs_and_is_for_admins(shop, admin, viewer, tmp_path, monkeypatch):
    cid = customers.create_customer(shop, admin, email="k@ex.com", first_name="Jürgen",
                                    last_name="Köhler").id
    ref = place(shop, customer_id=cid, price=1000)
    status.change_status(shop, admin, [ref.id], "paid")

    def figures(actor):
        return checks.run_checks(shop, actor, ["customer_figures"])[0]

    assert figures(admin).ok
    Customer.update(spent=5, order_count=7).where(Customer.id == cid).execute()  # by hand
    found = figures(admin)
    assert found.repairable
    assert found.differences == (f"customer #{cid}: orders 7 (the orders say 1), "
                                 "spent 5 (the orders say 1200)",)
    with pytest.raises(PermissionDenied):
        checks.run_checks(shop, viewer, ["customer_figures"])
    done = checks.repair(shop, admin, [found])
    assert done == ["customer_figures: figures of 1 customer(s) recomputed from their orders"]
    assert figures(admin).ok
    # the command line: exit 1 while a difference is left, 0 once repaired
    Customer.update(spent=5).where(Customer.id == cid).execute()
    url = shop.config.database_url
    import tomli_w

    (tmp_path / "config.toml").write_text(tomli_w.dumps(cli_config(url)))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BACKROOM_DATABASE_URL", raising=False)
    monkeypatch.delenv("BACKROOM_CONFIG", raising=False)
    dbmod.close()
    runner = CliRunner(env={"BACKROOM_OPERATOR": "ada"})
    out = runner.invoke(main, ["check", "--only", "customer_figures"])
    assert out.exit_code == 1, out.output
    assert "customer_figures: DIFFERS" in out.output
    dbmod.close()
    out = runner.invoke(main, ["check", "--repair", "--only", "customer_figures"])
    assert out.exit_code == 0 and "repaired: customer_figures" in out.output, out.output
    dbmod.close()
    out = runner.invoke(main, ["check", "--only", "nope"])
    assert out.exit_code == 1 and "no check named 'nope'" in out.output
