"""The queue queries on SQLite and PostgreSQL: filters, keyset paging, counts, detail."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from store import db as dbmod
from store import demo, orders, payments, queries, status
from store.errors import NotFound, ValidationError
from store.folding import fold, fold_query
from store.models import Order, OrderItem
from store.queries import QueueFilter, parse_filter
from store.workflow import DEFAULT
from tests.factories import place

BASE = dt.datetime(2026, 11, 1, 9, 0)


def _place_many(shop, count: int, **kwargs):
    return [place(shop, placed_at=BASE + dt.timedelta(hours=i), name=f"Buyer {i}",
                  email=f"buyer{i}@example.com", **kwargs) for i in range(count)]


def _walk(f: QueueFilter, limit: int) -> list[int]:
    ids: list[int] = []
    cursor = None
    while True:
        page = queries.queue_page(f, cursor, limit)
        ids += [r.id for r in page.rows]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


def test_first_page_rows_newest_first(shop, admin):
    refs = _place_many(shop, 5)
    page = queries.queue_page(QueueFilter(), limit=3)
    assert [r.code for r in page.rows] == [r.code for r in reversed(refs)][:3]
    row = page.rows[0]
    assert row.customer_name == "Buyer 4" and row.customer_email == "buyer4@example.com"
    assert row.status == "awaiting_payment" and row.item_count == 1 and row.currency == "EUR"
    assert row.total == 1999 + 400 and row.mail_state == "queued"
    assert page.prev_cursor is None and page.next_cursor is not None


def test_paging_forward_and_back_visits_each_order_once(shop, admin):
    refs = _place_many(shop, 23)
    f = QueueFilter()
    forward_pages = []
    cursor = None
    while True:
        page = queries.queue_page(f, cursor, 5)
        forward_pages.append(page)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    seen = [r.id for p in forward_pages for r in p.rows]
    assert seen == [r.id for r in reversed(refs)]
    # back from the last page to the first
    back: list[int] = []
    page = forward_pages[-1]
    back = [r.id for r in page.rows]
    while page.prev_cursor is not None:
        page = queries.queue_page(f, page.prev_cursor, 5, backwards=True)
        back = [r.id for r in page.rows] + back
    assert back == seen


def test_paging_under_concurrent_inserts(shop, admin):
    _place_many(shop, 12)
    f = QueueFilter()
    first = queries.queue_page(f, None, 5)
    # new orders arrive (newer than everything) while the operator pages down
    place(shop, placed_at=BASE + dt.timedelta(days=10), name="Late One")
    second = queries.queue_page(f, first.next_cursor, 5)
    place(shop, placed_at=BASE + dt.timedelta(days=11), name="Later One")
    assert second.next_cursor
    third = queries.queue_page(f, second.next_cursor, 5)
    ids = [r.id for p in (first, second, third) for r in p.rows]
    assert len(ids) == len(set(ids)) == 12
    back = queries.queue_page(f, second.prev_cursor, 5, backwards=True)
    assert [r.id for r in back.rows] == [r.id for r in first.rows]


@pytest.mark.parametrize("sort", ["placed", "total", "status", "code"])
@pytest.mark.parametrize("descending", [True, False])
def test_every_sort_pages_completely(shop, admin, sort, descending):
    refs = [place(shop, price=p, placed_at=BASE + dt.timedelta(minutes=i))
            for i, p in enumerate([500, 300, 500, 100, 900, 300, 700])]
    status.change_status(shop, admin, [refs[1].id, refs[4].id], "cancelled")
    f = QueueFilter(sort=sort, descending=descending)
    ids = _walk(f, 2)
    assert sorted(ids) == sorted(r.id for r in refs)
    assert ids == queries.matching_ids(f)
    back = queries.queue_page(f, queries.queue_page(f, queries.queue_page(f, None, 2).next_cursor,
                                                    2).prev_cursor, 2, backwards=True)
    assert [r.id for r in back.rows] == ids[:2]
    rows = [queries.order_detail(i) for i in ids]
    if sort == "total":
        totals = [r.total for r in rows]
        assert totals == sorted(totals, reverse=descending)
    if sort == "code":
        numbers = [r.number for r in rows]
        assert numbers == sorted(numbers, reverse=descending)


def test_filters_combine(shop, admin):
    a = place(shop, placed_at=BASE, payment_method="wire")
    b = place(shop, placed_at=BASE + dt.timedelta(days=1), payment_method="card", is_test=True)
    c = place(shop, placed_at=BASE + dt.timedelta(days=2), payment_method="wire")
    status.change_status(shop, admin, [a.id, b.id], "paid")
    status.change_status(shop, admin, [c.id], "cancelled")

    def ids(f: QueueFilter) -> set[int]:
        return {r.id for r in queries.queue_page(f).rows}

    assert ids(QueueFilter(statuses=("paid",))) == {a.id, b.id}
    assert ids(QueueFilter(statuses=("paid", "cancelled"), payment_method="WIRE")) == {a.id, c.id}
    assert ids(QueueFilter(statuses=("paid",), show_test=False)) == {a.id}
    assert ids(QueueFilter(placed_from=BASE + dt.timedelta(hours=1),
                           placed_to=BASE + dt.timedelta(days=2))) == {b.id}
    assert ids(QueueFilter(product="sku-0")) == {a.id, b.id, c.id}
    assert ids(QueueFilter(product="nothing like it")) == set()
    orders.set_archived(shop, admin, [c.id])
    assert ids(QueueFilter()) == {a.id, b.id}
    assert ids(QueueFilter(archived=True)) == {c.id}
    counts = queries.status_counts(QueueFilter(statuses=("paid",)))
    assert counts == {"paid": 2, "_all": 2}
    counts = queries.status_counts(QueueFilter(archived=True))
    assert counts == {"cancelled": 1, "_all": 1}


def test_customer_filter_and_neighbours(shop, admin):
    from store import customers

    cust = customers.create_customer(shop, admin, email="zo@example.com", first_name="Zoë",
                                      last_name="Øster")
    mine = [place(shop, customer_id=cust.id, placed_at=BASE + dt.timedelta(hours=i))
            for i in range(3)]
    place(shop, placed_at=BASE + dt.timedelta(hours=10))
    f = QueueFilter(customer_id=cust.id)
    assert [r.id for r in queries.queue_page(f).rows] == [m.id for m in reversed(mine)]
    assert [r.customer_name for r in queries.queue_page(f).rows] == ["Zoë Øster"] * 3
    assert queries.neighbour(f, mine[2].id, 1) == mine[1].id
    assert queries.neighbour(f, mine[2].id, 2) == mine[0].id
    assert queries.neighbour(f, mine[0].id, 1) is None
    assert queries.neighbour(f, mine[0].id, -1) == mine[1].id
    assert queries.neighbour(f, mine[2].id, -1) is None


def test_mail_state_shows_latest_mail(shop, admin):
    ref = place(shop)
    change = status.change_status(shop, admin, [ref.id], "paid")
    assert change.mails == 1
    assert queries.queue_page(QueueFilter()).rows[0].mail_state == "held"
    assert queries.queue_page(QueueFilter(), limit=1).rows[0].id == ref.id


def test_order_detail(shop, admin):
    ref = place(shop, total_items=2, customer_note="ring twice")
    status.change_status(shop, admin, [ref.id], "paid")
    payments.refund(shop, admin, ref.id, 100, "scratched")
    orders.add_note(shop, admin, ref.id, "called the customer")
    detail = queries.order_detail(ref.id)
    assert detail.code == ref.code and detail.status == "paid"
    assert [i.sku for i in detail.items] == ["SKU-0", "SKU-1"]
    assert detail.items[0].line_total == 1999
    assert [p.kind for p in detail.payments] == ["payment", "refund"]
    assert detail.refundable == detail.total - 100
    assert detail.addresses["shipping"].city == "Paris"
    assert [e.kind for e in detail.events] == ["placed", "status", "refund", "note"]
    assert detail.events[1].to_status == "paid"
    assert {m.kind for m in detail.mails} >= {"order_placed", "refunded"}
    with pytest.raises(NotFound):
        queries.order_detail(ref.id + 1000)


def test_parse_filter():
    f = parse_filter("status:shipped,p  placed:>2026-11-01 placed:<2026-12-01 sku:ABC pay:wire "
                     "customer:7 archived:yes test:no sort:-total anna smith", DEFAULT)
    assert f.statuses == ("shipped", "paid")
    assert f.placed_from == dt.datetime(2026, 11, 1) and f.placed_to == dt.datetime(2026, 12, 1)
    assert (f.product, f.payment_method, f.customer_id) == ("ABC", "wire", 7)
    assert f.archived and not f.show_test
    assert (f.sort, f.descending) == ("total", True)
    assert f.text == "anna smith"
    day = parse_filter("placed:2026-11-05", DEFAULT)
    assert (day.placed_from, day.placed_to) == (dt.datetime(2026, 11, 5), dt.datetime(2026, 11, 6))
    assert parse_filter("status:Shipped", DEFAULT).statuses == ("shipped",)
    assert parse_filter("sort:code", DEFAULT).descending is False
    base = QueueFilter(statuses=("paid",))
    assert parse_filter("anna", DEFAULT, base).statuses == ("paid",)
    for bad in ("status:nope", "placed:soon", "sort:size", "archived:maybe", "customer:abc"):
        with pytest.raises(ValidationError, match=bad.split(":")[0]):
            parse_filter(bad, DEFAULT)


def test_bad_cursor_is_refused(shop):
    with pytest.raises(ValidationError):
        queries.queue_page(QueueFilter(), "not-a-cursor")
    place(shop)
    place(shop)
    cursor = queries.queue_page(QueueFilter(), None, 1).next_cursor
    assert cursor
    with pytest.raises(ValidationError, match="sort order"):
        queries.queue_page(QueueFilter(sort="total"), cursor)


@pytest.mark.parametrize("sort", ["placed", "total", "code"])
def test_the_archived_tab_reads_archived_orders_only(shop, sort):
    """The Archived tab's first page reads the archived orders from the queue's index, not
    every current order before them: PostgreSQL's planner, which assumes archived orders are
    spread evenly over the dates, took the placed_at index and read past every current one
    (12-80 ms on 200,000 orders where the queue's index answers in 0.05 ms); the code order
    likewise through the number's own index."""
    demo.build(shop, 3000, seed=1)
    oldest = [r[0] for r in dbmod.db.execute_sql("SELECT id FROM orders ORDER BY placed_at, id")]
    dbmod.db.execute_sql(  # the oldest two thirds archived, as a shop that has run a while
        f"UPDATE orders SET archived = TRUE WHERE id IN ({','.join(map(str, oldest[:2000]))})")
    if not dbmod.is_sqlite():  # its rows in the order they were placed, as years of orders lie
        dbmod.db.execute_sql("CLUSTER orders USING order_placed_at")
    dbmod.db.execute_sql("ANALYZE")
    f = QueueFilter(archived=True, sort=sort)
    page = queries.queue_page(f, limit=50)
    assert len(page.rows) == 50 and all(row.archived for row in page.rows)
    sql, params = queries._statement(f, None, True, 51, "index", 0)
    if dbmod.is_sqlite():
        plan = " ".join(str(r) for r in dbmod.db.execute_sql(f"EXPLAIN QUERY PLAN {sql}",
                                                              params))
        assert "orders_queue_" in plan and "TEMP B-TREE" not in plan
        return
    plan = "\n".join(r[0] for r in dbmod.db.execute_sql(f"EXPLAIN ANALYZE {sql}", params))
    assert "orders_queue_" in plan, plan
    assert "Rows Removed by Filter" not in plan.split("SubPlan")[0], plan


def test_a_status_tab_sorted_by_total_reads_its_own_index(shop):
    """Sorting a tab by total reads (archived, status, total, id): without it the page walked
    every current order by total until it met a page of the tab's status (the Unpaid tab: 63
    ms on a million orders; PostgreSQL's Refunded tab: 22 ms on 200,000)."""
    demo.build(shop, 3000, seed=1)  # ANALYZEd, as a demo or an import leaves a shop
    f = QueueFilter(statuses=("awaiting_payment",), sort="total")
    rows = queries.queue_page(f, limit=20).rows
    totals = [row.total for row in rows]
    assert rows and {row.status for row in rows} == {"awaiting_payment"}
    assert totals == sorted(totals, reverse=True)
    sql, params = queries._statement(f, None, True, 21, "index", 0)
    if dbmod.is_sqlite():
        plan = " ".join(str(r) for r in dbmod.db.execute_sql(f"EXPLAIN QUERY PLAN {sql}",
                                                              params))
    else:
        plan = "\n".join(r[0] for r in dbmod.db.execute_sql(f"EXPLAIN {sql}", params))
    assert "orders_queue_status_total" in plan and "TEMP B-TREE" not in plan, plan
    # the placed order of a tab still reads its own index, the new one beside it
    sql, params = queries._statement(replace(f, sort="placed"), None, True, 21, "index", 0)
    if dbmod.is_sqlite():
        plan = " ".join(str(r) for r in dbmod.db.execute_sql(f"EXPLAIN QUERY PLAN {sql}",
                                                              params))
        assert "orders_queue_status " in plan and "TEMP B-TREE" not in plan, plan


def _every_page(f: QueueFilter) -> list[int]:
    ids, cursor = [], None
    while True:
        page = queries.queue_page(f, cursor, limit=9)
        ids += [row.id for row in page.rows]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


@pytest.mark.parametrize("text", ["zz", "a", "ma", "é", "ł", "BR", "1", "\u0301", "%_"])
def test_a_short_query_finds_the_same_orders_whichever_way_it_reads(shop, monkeypatch, text):
    """A query of 1-2 characters matching fewer than SHORT_FEW orders (per column) is read by
    the ids its indexes give, else by the planner's way (on SQLite a walk of the queue's
    index checking each order, which read every current order for `zz`: 300 ms on a million
    orders, 1 ms by ids): the pages and the tabs' counts are the same either way."""
    demo.build(shop, 600, seed=3)
    for typed in (text, f"{text} sort:total", f"{text} sort:-status",
                  f"{text} placed:>=2020-01-01"):
        f = parse_filter(typed, DEFAULT)
        monkeypatch.setattr(queries.search, "SHORT_FEW", 10 ** 6)
        by_ids, counts = _every_page(f), queries.status_counts(f)
        monkeypatch.setattr(queries.search, "SHORT_FEW", 1)  # every prefix too common: walked
        assert _every_page(f) == by_ids, typed
        assert queries.status_counts(f) == counts, typed
        if text in ("zz", "\u0301", "%_"):  # a lone combining accent folds to nothing
            assert by_ids == [] and counts == {"_all": 0}


def test_a_customers_orders_are_counted_from_the_customers_index(shop):
    """The tabs' counts of `customer:N` read that customer's orders: SQLite grouped by status
    along the queue's status index, reading every current order (570 ms on a million
    orders where the customer's index answers in 0.6 ms)."""
    demo.build(shop, 3000, seed=4)  # more orders than ANALYZE samples, as a real shop
    customer = dbmod.db.execute_sql(
        "SELECT customer_id FROM orders WHERE archived = FALSE AND customer_id IS NOT NULL "
        "GROUP BY customer_id "
        "ORDER BY COUNT(*) DESC LIMIT 1").fetchone()[0]
    f = parse_filter(f"customer:{customer}", DEFAULT)
    seen: list[str] = []
    if dbmod.is_sqlite():
        dbmod.db.connection().set_trace_callback(seen.append)
    try:
        counts = queries.status_counts(f)
    finally:
        if dbmod.is_sqlite():
            dbmod.db.connection().set_trace_callback(None)
    expected: dict[str, int] = {}
    for (state,) in dbmod.db.execute_sql(
            f"SELECT status FROM orders WHERE customer_id = {int(customer)} AND archived = FALSE"):
        expected[state] = expected.get(state, 0) + 1
    assert counts == {**expected, "_all": sum(expected.values())} and counts["_all"] > 1
    if dbmod.is_sqlite():
        (grouped,) = [sql for sql in seen if "GROUP BY" in sql]
        plan = " ".join(str(r) for r in dbmod.db.execute_sql(f"EXPLAIN QUERY PLAN {grouped}"))
        assert "customer" in plan and "orders_queue_status" not in plan, plan


@pytest.mark.parametrize("words", ["example", "mug", "zqxjkv", "example ab", "tee xl",
                                   "gonçalves", "łódź", "br-"])
def test_a_customers_orders_filtered_by_text_are_checked_one_by_one(shop, monkeypatch, words):
    """A customer's orders filtered by a common word (the profile's orders, `customer:12
    example`) are checked one by one from the customer's index (a customer with fewer than
    CUSTOMER_WALK orders), where every match of the word was read to find theirs (1.1 s a
    page on a million orders, SQLite): pages, counts and "mark all" hold the orders whose
    text holds every word, in each sort and tab, as the word's index finds them."""
    demo.build(shop, 2000, seed=6)
    texts = dict(dbmod.db.execute_sql("SELECT order_id, text FROM order_search").fetchall())
    customers = [c for (c,) in dbmod.db.execute_sql(
        "SELECT customer_id FROM orders WHERE customer_id IS NOT NULL GROUP BY customer_id "
        "ORDER BY COUNT(*) DESC, customer_id LIMIT 3")]
    folded = fold_query(words).split()
    found_any = False
    for customer in customers:
        for rest in ("", "sort:total", "sort:-status", "archived:yes", "status:shipped"):
            f = parse_filter(f"customer:{customer} {words} {rest}", DEFAULT)
            theirs = {oid for (oid,) in dbmod.db.execute_sql(
                "SELECT id FROM orders WHERE customer_id = "
                f"{int(customer)} AND archived = {'TRUE' if f.archived else 'FALSE'}"
                + (" AND status = 'shipped'" if f.statuses else ""))}
            holding = {oid for oid in theirs if all(w in texts[oid] for w in folded)}
            found_any = found_any or bool(holding)
            seen: dict[int, tuple[list[int], dict[str, int], list[int]]] = {}
            for cap in (queries.CUSTOMER_WALK, 0):  # their orders checked; the index's way
                monkeypatch.setattr(queries, "CUSTOMER_WALK", cap)
                queries._COMPILED.clear()
                seen[cap] = (_every_page(f), queries.status_counts(replace(f, statuses=())),
                             queries.matching_ids(f))
            walked, indexed = seen[queries.CUSTOMER_WALK], seen[0]
            assert walked == indexed, (customer, rest)
            assert set(walked[0]) == holding == set(walked[2]), (customer, rest)
    if words in ("example", "mug", "br-"):
        assert found_any


def test_a_customers_orders_filtered_by_text_read_the_customers_index(shop):
    """On SQLite the page of `customer:N word` reads the customer's index, in every sort
    (sorted by total, the planner walked the queue's total index: 550 ms on a million)."""
    if not dbmod.is_sqlite():
        pytest.skip("PostgreSQL's planner reads the customer's index itself")
    demo.build(shop, 2000, seed=6)
    (customer,) = dbmod.db.execute_sql(
        "SELECT customer_id FROM orders WHERE customer_id IS NOT NULL GROUP BY customer_id "
        "ORDER BY COUNT(*) DESC LIMIT 1").fetchone()
    for rest in ("", "sort:total", "sort:status"):
        f = parse_filter(f"customer:{customer} example {rest}", DEFAULT)
        seen: list[str] = []
        dbmod.db.connection().set_trace_callback(seen.append)
        try:
            assert queries.queue_page(f).rows
        finally:
            dbmod.db.connection().set_trace_callback(None)
        (page,) = [sql for sql in seen if "ORDER BY" in sql]
        plan = " ".join(str(r) for r in dbmod.db.execute_sql(f"EXPLAIN QUERY PLAN {page}"))
        assert "orders_customer_placed" in plan and "order_fts" not in plan, (rest, plan)


HOSTILE_ITEMS = [("CUP-50%", "Cup, 50% off"), ("A_B-1", "Thé vert sencha"),
                 ("LMP-ØRSTED", "Desk lamp Ørsted"), ("OB-1", "O'Brien's \"big\" mug"),
                 ("NUL-1", "Back\\slash [b]bold[/b]"),
                 # many languages: the filter folds them as free text does (store.folding)
                 ("CRM-9", "Crème brûlée"), ("LDZ-9", "Łódź mug"), ("ldz-10", "łódź"),
                 ("STR-9", "Straße sign"), ("KHL-9", "Köhler kettle"),
                 ("SRN-9", "Sørensen chair"), ("TKY-9", "東京タワー print"),
                 ("EMJ-9", "Snake 🐍🐍🐍 sticker"), ("RTL-9", "כוס קפה فنجان")]
MANY_LANGUAGES = ["creme", "the", "lodz", "ŁÓDŹ", "strasse", "koehler", "kohler", "sorensen",
                  "soerensen", "東京", "🐍", "קפה", "فنجان", "crème BRÛLÉE"]


@pytest.mark.parametrize("product", ["mug", "MUG", "Thé", "THÉ", "ørsted", "50%", "0%",
                                     "a_b", "A_", "zzz", "ab", "o'brien", "\"big\"",
                                     "tote bag", "k\\s", "[b]", "\u0301é", "\u0301\u0301\u0301",
                                     "\"", "* ^", "NEAR(a b)", "AND", "東京タ", "🐍🐍🐍",
                                     "mu\x00g", "1\no'brien", "9\ncr", *MANY_LANGUAGES])
def test_a_product_filter_finds_the_same_orders_whichever_way_it_reads(shop, admin,
                                                                     monkeypatch, product):
    """`product:` reads the orders of the few items the items' trigram index finds, or walks
    the queue checking each order's items (a common product; 1-2 characters): the pages and
    the tabs' counts are the same either way, wildcards and quotes taken as typed, and both
    are what folding each item's SKU and name and the product as free text is folded finds
    (accents and case aside in every script; never across the SKU and the name). (Every
    order's items were checked before: 250-690 ms for a product nothing holds on a million
    orders, 1.4 s for its counts.)"""
    if "\x00" in product and not dbmod.is_sqlite():
        pytest.skip("PostgreSQL takes no NUL in text (nor does the filter parser pass one)")
    demo.build(shop, 400, seed=5)
    for n, (sku, name) in enumerate(HOSTILE_ITEMS * 2):
        placed = orders.place_order(shop, admin, items=[orders.ItemInput(sku, name, 1, 990)],
                                    guest_name=f"Item Buyer {n}",
                                    guest_email=f"items{n}@example.com")
        if n % 2:
            status.change_status(shop, admin, [placed.id], "paid")
    for rest in ("", "sort:total", "status:paid", "placed:>=2020-01-01"):
        f = replace(parse_filter(rest, DEFAULT), product=product)
        seen = {}
        for few in (10 ** 6, 1):  # every match read by id; then every product walked
            monkeypatch.setattr(queries.search, "product_page_few", lambda few=few: few)
            monkeypatch.setattr(queries.search, "product_count_few", lambda few=few: few)
            queries._COMPILED.clear()
            seen[few] = (_every_page(f), queries.status_counts(f))
        assert seen[1] == seen[10 ** 6], (product, rest)
    everything = replace(parse_filter("", DEFAULT), product=product)
    if "\x00" in product:  # checked above not to raise (SQLite; FTS5 stops at a NUL)
        return
    shown = {r.id for r in queries.queue_page(everything, None, 1000).rows}
    typed = fold_query(product.strip())
    holding = {oid for oid, sku, name in OrderItem.select(
        OrderItem.order_id, OrderItem.sku, OrderItem.name).join(Order).where(
        Order.archived == False).tuples()  # noqa: E712
        if typed and (typed in fold(sku) or typed in fold(name))}
    assert shown == holding, product
    if product in ("mug", "MUG", "Thé", "THÉ", "50%", "0%", "a_b", "A_", "o'brien", "\"big\"",
                   "k\\s", "[b]", "tote bag", *MANY_LANGUAGES):
        assert shown, product
    if product in ("zzz", "\u0301\u0301\u0301", "1\no'brien", "9\ncr"):
        assert not shown


FOUND_BY = {  # what an operator types after product: -> the SKUs of the items it finds
    "creme": {"CRM-9"}, "CRÈME BRÛLÉE": {"CRM-9"}, "the": {"A_B-1"}, "THÉ": {"A_B-1"},
    "lodz": {"LDZ-9", "ldz-10"}, "ŁÓDŹ": {"LDZ-9", "ldz-10"}, "łódź mug": {"LDZ-9"},
    "strasse": {"STR-9"}, "STRASSE": {"STR-9"}, "koehler": {"KHL-9"}, "kohler": {"KHL-9"},
    "KÖHLER": {"KHL-9"}, "sorensen": {"SRN-9"}, "soerensen": {"SRN-9"}, "東京": {"TKY-9"},
    "🐍": {"EMJ-9"}, "קפה": {"RTL-9"}, "فنجان": {"RTL-9"}, "ldz": {"LDZ-9", "ldz-10"},
    "crm-9": {"CRM-9"}, '"9 creme"': set(), "creme\u0301": {"CRM-9"}, "\u0301": set(),
}


def test_a_product_filter_folds_as_free_text_does(shop, admin, monkeypatch):
    """`product:` ignores accents and case in every script, as free text does: it compared
    the SKU and name with LIKE, so `creme` missed "Crème brûlée", `lodz` "Łódź mug", and on
    SQLite (whose LIKE folds ASCII case only) `ŁÓDŹ` missed "łódź". Typed in the filter
    box, by the index's ids or walked alike; the SKU and the name are never matched as one
    text."""
    placed = {}
    for n, (sku, name) in enumerate(HOSTILE_ITEMS):
        placed[sku] = orders.place_order(
            shop, admin, items=[orders.ItemInput(sku, name, 1, 990)],
            guest_name=f"Item Buyer {n}", guest_email=f"items{n}@example.com").id
    for typed, skus in FOUND_BY.items():
        f = parse_filter(f"product:{typed}", DEFAULT)
        for few in (10 ** 6, 1):  # every match read by id; then every product walked
            monkeypatch.setattr(queries.search, "product_page_few", lambda few=few: few)
            queries._COMPILED.clear()
            found = {r.id for r in queries.queue_page(f, None, 100).rows}
            assert found == {placed[sku] for sku in skus}, (typed, few)


def test_the_product_index_follows_every_new_item(shop, admin):
    """An item written after the index was built (an order placed) is found through it,
    as `backroom check` finds the index in step. (The bulk import's rebuild: test_imports;
    the demo builder's: every test here that builds one.)"""
    from store import checks

    demo.build(shop, 200, seed=6)
    before = queries.queue_page(replace(QueueFilter(), product="Zanzibar kettle")).rows
    placed = orders.place_order(shop, admin,
                                items=[orders.ItemInput("KTL-Z", "Zanzibar kettle", 1, 4990)],
                                guest_name="Ama Mensah", guest_email="ama@example.gh")
    seen: list[str] = []
    if dbmod.is_sqlite():
        dbmod.db.connection().set_trace_callback(seen.append)
    try:
        after = queries.queue_page(replace(QueueFilter(), product="zanzibar KETTLE")).rows
        counts = queries.status_counts(replace(QueueFilter(), product="zanzibar KETTLE"))
    finally:
        if dbmod.is_sqlite():
            dbmod.db.connection().set_trace_callback(None)
    assert before == () and [r.id for r in after] == [placed.id] and counts["_all"] == 1
    if dbmod.is_sqlite():  # both read the index, not every order's items
        read = [sql for sql in seen if '"order_item"' in sql and not sql.startswith("--")]
        assert len(read) == 2 and all("item_fts MATCH" in sql and "EXISTS" not in sql
                                      for sql in read), read
    [index] = checks.run_checks(shop, admin, ["search_index"])
    assert index.differences == ()


@pytest.mark.parametrize("typed", ["pay:wire", "pay:WIRE status:paid", "pay:cod test:no",
                                   "pay:card test:only", "pay:paypal sort:total",
                                   "pay:nothing-paid-so"])
def test_a_payment_method_is_counted_from_its_index(shop, typed):
    """`pay:wire`'s tab counts read the payment method's index (migration 0019; they read
    every current order: 1.0 s on a million orders on SQLite), while its pages still walk the
    queue's index (both planners took the new one and sorted every wire order: 56-77 ms a
    page, where the walk takes 2): counts and pages hold the orders paid that way."""
    demo.build(shop, 1500, seed=8)
    f = parse_filter(typed, DEFAULT)
    method = f.payment_method.lower()
    rows = Order.select(Order.id, Order.status, Order.payment_method, Order.is_test).where(
        Order.archived == False).tuples()  # noqa: E712
    paid_so = {oid: state for oid, state, pm, is_test in rows
               if pm.lower() == method and (f.show_test or not is_test)
               and (not f.only_test or is_test)}
    counts: dict[str, int] = {}
    for state in paid_so.values():
        counts[state] = counts.get(state, 0) + 1
    assert queries.status_counts(replace(f, statuses=())) == {**counts,
                                                              "_all": sum(counts.values())}
    listed = {oid for oid, state in paid_so.items() if not f.statuses or state in f.statuses}
    assert set(_every_page(f)) == listed == set(queries.matching_ids(f))
    if typed == "pay:wire":
        assert listed
    if dbmod.is_sqlite():
        seen: list[str] = []
        dbmod.db.connection().set_trace_callback(seen.append)
        try:
            queries.status_counts(f)
            queries.queue_page(f)
        finally:
            dbmod.db.connection().set_trace_callback(None)
        (grouped,) = [sql for sql in seen if "GROUP BY" in sql]
        (page,) = [sql for sql in seen if "ORDER BY" in sql and "GROUP BY" not in sql]
        plans = [" ".join(str(r) for r in dbmod.db.execute_sql(f"EXPLAIN QUERY PLAN {sql}"))
                 for sql in (grouped, page)]
        if not f.only_test:  # test orders are counted from their own index
            assert "orders_payment_method" in plans[0], plans[0]
        assert "orders_payment_method" not in plans[1], plans[1]


def test_test_orders_are_read_from_their_own_index(shop, admin):
    """`test:only` reads the few test orders from their partial index, and `test:no` is
    counted as every order less them: the same counts and pages as reading each order (which
    read every current order from the table: 490 and 514 ms on a million orders)."""
    demo.build(shop, 500, seed=7)
    tests = [place(shop, is_test=True, name=f"Tess Tester {n}") for n in range(12)]
    status.change_status(shop, admin, [t.id for t in tests[:5]], "paid")
    orders.set_archived(shop, admin, [tests[-1].id])

    def expected(is_test: bool | None, statuses: tuple[str, ...] = ()) -> dict[str, int]:
        found: dict[str, int] = {}
        for state, flag in Order.select(Order.status, Order.is_test).where(
                Order.archived == False).tuples():  # noqa: E712
            if (is_test is None or bool(flag) == is_test) and (not statuses or
                                                                state in statuses):
                found[state] = found.get(state, 0) + 1
        return {**found, "_all": sum(found.values())}

    for typed, is_test in (("test:only", True), ("test:no", False), ("test:all", None),
                           ("test:no status:paid", False), ("test:only status:paid", True)):
        f = parse_filter(typed, DEFAULT)
        only = ("paid",) if "status:" in typed else ()
        assert queries.status_counts(f, only) == expected(is_test, only), typed
    current_tests = {oid for (oid,) in Order.select(Order.id).where(
        Order.archived == False, Order.is_test == True).tuples()}  # noqa: E712
    assert {t.id for t in tests[:-1]} <= current_tests
    seen: list[str] = []
    for typed in ("test:only", "test:only sort:total", "test:only sort:-status",
                  "test:only sort:code", "test:only status:paid"):
        f = parse_filter(typed, DEFAULT)
        shown = [r.id for r in queries.queue_page(replace(f, show_test=True, only_test=False),
                                                  None, 10 ** 4).rows
                 if r.id in current_tests]  # the same orders in the same order
        if dbmod.is_sqlite():
            dbmod.db.connection().set_trace_callback(seen.append)
        try:
            paged = _every_page(f)
        finally:
            if dbmod.is_sqlite():
                dbmod.db.connection().set_trace_callback(None)
        assert paged == shown, typed
    if dbmod.is_sqlite():
        dbmod.db.connection().set_trace_callback(seen.append)
        try:
            queries.status_counts(parse_filter("test:only", DEFAULT))
        finally:
            dbmod.db.connection().set_trace_callback(None)
        for sql in [sql for sql in seen if '"orders" AS "t1"' in sql]:
            plan = " ".join(str(r) for r in dbmod.db.execute_sql(f"EXPLAIN QUERY PLAN {sql}"))
            assert "orders_test_orders" in plan, (sql, plan)


@pytest.mark.parametrize("typed", ["example ab", "mug xl", "example zq", "gonçalves a",
                                   "ab example sort:total", "xl mug status:paid"])
def test_a_common_word_with_a_short_one_pages_only_orders_holding_both(shop, typed):
    """A common word beside a word of 1-2 characters: every order paged holds both, as the
    counts say. (PostgreSQL's one-statement page read the rows past its walk from the long
    word's matches alone: `mug xl` paged 201 orders where 28 hold both.)"""
    demo.build(shop, 2000, seed=8)
    f = parse_filter(typed, DEFAULT)
    paged = _every_page(f)
    assert len(paged) == len(set(paged)) == queries.status_counts(f, f.statuses)["_all"], typed
    assert set(paged) == set(queries.matching_ids(f)), typed
