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
