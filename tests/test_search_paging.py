"""Search pages read both ways (forward by next cursors, back by previous ones) hold the
orders whose text holds every word: across the boundary where a walk stopped at its budget
walks on (a common word beside a 1-2 character one), and for a customer's orders checked one
by one (in every sort, tab and test state, hostile words, a customer at the cap and one who
does not exist). Written by a review of those changes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from store import db as dbmod
from store import demo, queries, search
from store.folding import fold_query
from store.queries import QueueFilter, parse_filter
from store.workflow import DEFAULT
from tests.factories import place


def _forward(f: QueueFilter, limit: int) -> tuple[list[int], list[object]]:
    seen: list[int] = []
    pages = []
    cursor = None
    while True:
        page = queries.queue_page(f, cursor, limit)
        pages.append(page)
        seen += [row.id for row in page.rows]
        if not page.next_cursor:
            return seen, pages
        cursor = page.next_cursor


def _backward(f: QueueFilter, limit: int, last_page) -> list[int]:
    """From the last page back to the first through prev cursors."""
    seen = [row.id for row in last_page.rows]
    cursor = last_page.prev_cursor
    guard = 0
    while cursor:
        guard += 1
        assert guard < 10000
        page = queries.queue_page(f, cursor, limit, backwards=True)
        seen = [row.id for row in page.rows] + seen
        cursor = page.prev_cursor
    return seen


def _truth(f: QueueFilter) -> set[int]:
    words = [fold_query(w) for w in f.text.split()]
    texts = dict(dbmod.db.execute_sql("SELECT order_id, text FROM order_search").fetchall())
    where = [f"archived = {'TRUE' if f.archived else 'FALSE'}"]
    if f.customer_id is not None:
        where.append(f"customer_id = {int(f.customer_id)}")
    if f.only_test:
        where.append("is_test = TRUE")
    elif not f.show_test:
        where.append("is_test = FALSE")
    if f.statuses:
        where.append("status IN (" + ", ".join(f"'{s}'" for s in f.statuses) + ")")
    ids = [i for (i,) in dbmod.db.execute_sql(f"SELECT id FROM orders WHERE {' AND '.join(where)}")]
    return {i for i in ids if all(w in texts.get(i, "") for w in words)}


@pytest.mark.parametrize(("probe", "cap", "margin", "steps"),
                         [(3, 10**6, 3, 16), (3, 10**6, 3, 1), (3, 40, 3, 1), (200, 10**6, 3, 16)])
def test_walk_on_pages_backwards_too(shop, monkeypatch, probe, cap, margin, steps):
    """Every way to a page forced (a small probe, a walk cap, few SQLite steps a row)."""
    monkeypatch.setattr(search, "PROBE", probe)
    monkeypatch.setattr(queries, "WALK_CAP", cap)
    monkeypatch.setattr(queries, "WALK_MARGIN", margin)
    monkeypatch.setattr(queries, "WALK_STEPS_PER_ROW", steps)
    monkeypatch.setattr(queries, "WALK_STEPS_PER_FOUND", steps)
    for i in range(70):
        dense = i >= 50 and i % 2 == 0
        place(shop, name="Dana Köhler" if dense or i % 9 == 0 else f"Other {i}",
              email=f"c{i}@example.com")
    for text in ("example c1", "example 6", "c3 example", "koehler", "kohler d"):
        for sort in ("placed", "code"):
            for descending in (True, False):
                f = QueueFilter(text=text, sort=sort, descending=descending)
                expected = queries.matching_ids(f)
                assert set(expected) == _truth(f), (text, sort, descending)
                for limit in (1, 3, 4):
                    got, pages = _forward(f, limit)
                    assert got == expected, (text, sort, descending, limit)
                    back = _backward(f, limit, pages[-1])
                    assert back == expected, (text, sort, descending, limit, back)


QUERIES = ["example", "mug", "example ab", "tee xl", "%_x", "a\\b", '"exam"', 'ex"am', "zzzzqq",
           "exa'mple"]
RESTS = ["", "sort:code", "sort:-code", "sort:placed", "sort:total", "sort:-status",
         "archived:yes", "test:only", "test:no", "status:shipped"]


def test_customer_walk_every_sort_tab_and_direction(shop, monkeypatch):
    """Their orders checked one by one, or the word's index (CUSTOMER_WALK 0): the same."""
    demo.build(shop, 2000, seed=6)
    customers = [c for (c,) in dbmod.db.execute_sql(
        "SELECT customer_id FROM orders WHERE customer_id IS NOT NULL GROUP BY customer_id "
        "ORDER BY COUNT(*) DESC, customer_id LIMIT 2")] + [987654]
    problems = []
    for customer in customers:
        for words in QUERIES:
            for rest in RESTS:
                f = parse_filter(f"customer:{customer} {words} {rest}", DEFAULT)
                truth = _truth(f)
                for cap in (queries.CUSTOMER_WALK, 0):
                    monkeypatch.setattr(queries, "CUSTOMER_WALK", cap)
                    queries._COMPILED.clear()
                    for limit in (3,):
                        got, pages = _forward(f, limit)
                        if set(got) != truth or len(got) != len(truth):
                            problems.append(("fwd", customer, words, rest, cap, limit))
                            continue
                        back = _backward(f, limit, pages[-1])
                        if back != got:
                            problems.append(("back", customer, words, rest, cap, limit))
                    counts = queries.status_counts(replace(f, statuses=()))
                    every = _truth(replace(f, statuses=()))
                    if counts["_all"] != len(every):
                        problems.append(("count", customer, words, rest, cap, counts, len(every)))
                    if set(queries.matching_ids(f)) != truth:
                        problems.append(("ids", customer, words, rest, cap))
    assert not problems, problems[:20]


def test_customer_walk_at_the_cap(shop, monkeypatch):
    """Fewer orders than the cap walk; as many or more read the index; the same pages."""
    demo.build(shop, 600, seed=6)
    (customer, n) = dbmod.db.execute_sql(
        "SELECT customer_id, COUNT(*) FROM orders WHERE customer_id IS NOT NULL "
        "GROUP BY customer_id ORDER BY COUNT(*) DESC LIMIT 1").fetchone()
    f = parse_filter(f"customer:{customer} example", DEFAULT)
    seen = {}
    for cap in (n - 1, n, n + 1):
        monkeypatch.setattr(queries, "CUSTOMER_WALK", cap)
        queries._COMPILED.clear()
        seen[cap] = (queries._customer_walk(f), _forward(f, 3)[0], queries.status_counts(f))
    assert [seen[c][0] for c in (n - 1, n, n + 1)] == [False, False, True]
    assert seen[n - 1][1:] == seen[n][1:] == seen[n + 1][1:]


NARROWED = ["pay:card", "pay:wire", "pay:PayPal", "pay:nothing-paid-so", "product:mug",
            "product:creme", "product:zzqq", "placed:2025-01..2026-06", "pay:card product:tee"]


@pytest.mark.parametrize(("probe", "steps"), [(3, 16), (3, 1), (200, 16)])
def test_a_narrowed_word_walks_the_same_pages(shop, monkeypatch, probe, steps):
    """A common word beside a payment method, a product or dates walks the queue in placed
    and code order (budgeted, walked on, else the word's index: `pay:card example` read every
    match of the word, 845 ms a page on a million orders): forward and back, the pages hold
    the orders that `matching_ids` lists, and those are the ones each condition keeps."""
    monkeypatch.setattr(search, "PROBE", probe)
    monkeypatch.setattr(queries, "WALK_STEPS_PER_ROW", steps)
    monkeypatch.setattr(queries, "WALK_STEPS_PER_FOUND", steps)
    demo.build(shop, 1200, seed=11)
    rows = dbmod.db.execute_sql(
        "SELECT o.id, lower(o.payment_method), o.placed_at, "
        "(SELECT group_concat(folded, '\n') FROM order_item i WHERE i.order_id = o.id) "
        "FROM orders o").fetchall() if dbmod.is_sqlite() else dbmod.db.execute_sql(
        "SELECT o.id, lower(o.payment_method), o.placed_at, "
        "(SELECT string_agg(folded, E'\\n') FROM order_item i WHERE i.order_id = o.id) "
        "FROM orders o").fetchall()
    facts = {oid: (method, str(placed), items or "") for oid, method, placed, items in rows}
    problems = []
    for narrowing in NARROWED:
        for words in ("example", "example ab", "mug example", "zzzzqq"):
            for rest in ("", "sort:code", "sort:-code", "sort:placed"):
                f = parse_filter(f"{narrowing} {words} {rest}", DEFAULT)
                truth = {oid for oid in _truth(replace(f, payment_method="", product="",
                                                       placed_from=None, placed_to=None))
                         if (not f.payment_method or facts[oid][0] == f.payment_method.lower())
                         and (not f.product or fold_query(f.product) in facts[oid][2])
                         and (f.placed_from is None or facts[oid][1] >= str(f.placed_from))
                         and (f.placed_to is None or facts[oid][1] < str(f.placed_to))}
                expected = queries.matching_ids(f)
                if set(expected) != truth:
                    problems.append((narrowing, words, rest, "matching_ids"))
                    continue
                for limit in (1, 7):
                    got, pages = _forward(f, limit)
                    back = _backward(f, limit, pages[-1])
                    if not got == back == expected:
                        problems.append((narrowing, words, rest, limit))
                if "pay:card" in narrowing and words == "example" and not rest:
                    assert expected  # the shop holds what the test reads
    assert not problems, problems
