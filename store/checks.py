"""`backroom check`: a registry of named checks of the database, each returning the
differences it finds (empty: in step) and, where what differs can be rebuilt, a repair.

Adding a check is one decorated function in the module whose idea it checks (or here):

    from store.checks import check

    def _rebuild_totals() -> str:
        ...                                    # one transaction; says what it did
        return "per-customer totals recomputed"

    @check("customer_totals", "per-customer totals match their orders",
           repair=_rebuild_totals, hint="`backroom check --repair` recomputes them")
    def _customer_totals() -> list[str]:
        return [f"customer #{cid}: stored {a}, orders say {b}" for cid, a, b in ...]

A module that registers checks is listed in CHECK_MODULES, so `run_checks` finds it without
the command line importing it. A check that applies to one backend only says so with
`applies` (e.g. `applies=dbmod.is_sqlite`); it is then reported as not applicable.

Written-out SQL (see store.sql): SQLite's pragmas and FTS5 shadow tables have no peewee
form, and the comparisons run set-based over a million rows."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from store import customer_figures, events_log, invoices
from store import db as dbmod
from store.customers import customer_search_text
from store.errors import NotFound
from store.folding import fold_item
from store.models import Customer, Order, OrderItem, Subscriber, db, utcnow
from store.operators import Actor, require
from store.order_rows import insert_search, refresh_search_many, search_inputs, search_row
from store.outbox import release_lapsed
from store.shop import Shop
from store.sql import Params, id_source, id_value, update_rows
from store.subscribers import search_text as subscriber_search_text

SHOWN = 10  # differences listed per check; the rest are counted
CHUNK = 2000  # orders (or customers) whose search text is recomputed at once
CHECK_MODULES: list[str] = []  # modules whose import registers more checks (store.<name>)


@dataclass(frozen=True)
class Check:
    """One named check: what it checks, the function that lists the differences, and the
    repair (None when nothing can be rebuilt: the hint says what to do)."""

    name: str
    title: str
    find: Callable[[Shop], list[str]]
    repair: Callable[[Shop], str] | None = None
    hint: str = ""
    applies: Callable[[], bool] | None = None


@dataclass(frozen=True)
class CheckResult:
    """What one check found: `differences` empty when in step, `applicable` False when it
    does not apply to this database (a SQLite pragma on PostgreSQL)."""

    name: str
    title: str
    differences: tuple[str, ...]
    hint: str
    repairable: bool
    applicable: bool = True

    @property
    def ok(self) -> bool:
        return not self.differences


REGISTRY: dict[str, Check] = {}


Find = Callable[[Shop], list[str]]


def check(name: str, title: str, *, repair: Callable[[Shop], str] | None = None,
          hint: str = "", applies: Callable[[], bool] | None = None
          ) -> Callable[[Find], Find]:
    """Register the decorated function (`find(shop)`) as the check `name` (a later one of
    the same name replaces it)."""
    def register(find: Find) -> Find:
        REGISTRY[name] = Check(name, title, find, repair, hint, applies)
        return find
    return register


def registered() -> list[Check]:
    """Every check, in the order registered (the modules of CHECK_MODULES imported first)."""
    for module in CHECK_MODULES:
        importlib.import_module(module)
    return list(REGISTRY.values())


def _chosen(names: Sequence[str] | None) -> list[Check]:
    checks = registered()
    if not names:
        return checks
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise NotFound(f"no check named {unknown[0]!r} (checks: {', '.join(REGISTRY)})")
    return [c for c in checks if c.name in names]


def _result(shop: Shop, c: Check) -> CheckResult:
    if c.applies is not None and not c.applies():
        return CheckResult(c.name, c.title, (), c.hint, False, applicable=False)
    found = c.find(shop)
    return CheckResult(c.name, c.title, tuple(found), c.hint, c.repair is not None)


def run_checks(shop: Shop, actor: Actor, names: Sequence[str] | None = None
               ) -> list[CheckResult]:
    """Run the checks (all, or those named); what each found."""
    require(actor, "maintenance")
    return [_result(shop, c) for c in _chosen(names)]


def repair(shop: Shop, actor: Actor, results: Sequence[CheckResult]) -> list[str]:
    """Repair what the results found and can be rebuilt; what was done, one line a check."""
    require(actor, "maintenance")
    done = []
    for result in results:
        c = REGISTRY[result.name]
        if result.differences and c.repair is not None:
            what = c.repair(shop)
            events_log.event("repair", actor.login, check=c.name)
            done.append(f"{c.name}: {what}")
    return done


def listed(rows: Sequence[str], total: int | None = None) -> list[str]:
    """The first SHOWN differences, and how many more there are."""
    total = len(rows) if total is None else total
    shown = list(rows[:SHOWN])
    if total > len(shown):
        shown.append(f"... and {total - len(shown):,} more")
    return shown


# ----- SQLite's own check ----------------------------------------------------------------------

@check("integrity", "SQLite integrity_check and foreign keys", applies=dbmod.is_sqlite,
       hint="the file is damaged: restore the last good backup (`backroom restore`), or "
            "recover what is readable with `sqlite3 shop.db .recover`")
def _integrity(shop: Shop) -> list[str]:
    problems = [str(r[0]) for r in db.execute_sql("PRAGMA integrity_check(20)")]
    found = [] if problems == ["ok"] else problems
    orphans = db.execute_sql("PRAGMA foreign_key_check").fetchall()
    by_table: dict[str, int] = {}
    for table, _rowid, _parent, _fk in orphans:
        by_table[table] = by_table.get(table, 0) + 1
    found += [f"{count:,} {table} row(s) refer to a row that is gone"
              for table, count in sorted(by_table.items())]
    return found


# ----- the search index ------------------------------------------------------------------------

# (FTS5 index, the table it indexes, its key column, what a row is)
SEARCH_INDEXES = (("order_fts", "order_search", "order_id", "order"),
                  ("customer_fts", "customer", "id", "customer"),
                  ("item_fts", "order_item", "id", "item"))


def _orders_without_search_row() -> list[int]:
    """Orders whose search row (order_search, migration 0005) is missing."""
    return [r[0] for r in db.execute_sql(
        "SELECT o.id FROM orders o LEFT JOIN order_search s ON s.order_id = o.id "
        "WHERE s.order_id IS NULL ORDER BY o.id")]


def _missing(index: str, table: str, key: str) -> tuple[int, list[int]]:
    sql = (f"SELECT t.{key} FROM {table} t LEFT JOIN {index}_docsize d ON d.id = t.{key} "
           f"WHERE d.id IS NULL ORDER BY t.{key}")
    ids = [r[0] for r in db.execute_sql(sql)]
    return len(ids), ids[:SHOWN]


def _extra(index: str, table: str, key: str) -> tuple[int, list[int]]:
    sql = (f"SELECT d.id FROM {index}_docsize d LEFT JOIN {table} t ON t.{key} = d.id "
           f"WHERE t.{key} IS NULL ORDER BY d.id")
    ids = [r[0] for r in db.execute_sql(sql)]
    return len(ids), ids[:SHOWN]


def _codes(ids: list[int]) -> str:
    if not ids:
        return ""
    sql = f"SELECT id, code FROM orders WHERE id IN (SELECT value FROM {id_source('ids')})"
    codes = dict(db.execute_sql(sql, {"ids": id_value(ids)}).fetchall())
    return ", ".join(codes.get(i, f"#{i}") for i in ids)


def _index_differences(index: str, table: str, key: str, what: str) -> list[str]:
    found = []
    missing, some = _missing(index, table, key)
    if missing:
        shown = _codes(some) if what == "order" else ", ".join(f"#{i}" for i in some)
        more = f" and {missing - len(some):,} more" if missing > len(some) else ""
        found.append(f"{missing:,} {what}(s) missing from {index} ({shown}{more}): a search "
                     "does not find them")
    extra, some = _extra(index, table, key)
    if extra:
        found.append(f"{extra:,} row(s) of {index} for {what}s that are gone "
                     f"(#{', #'.join(map(str, some))})")
    if not found:
        try:  # the index against the table's text, row by row (FTS5's own check)
            db.execute_sql(f"INSERT INTO {index}({index}, rank) VALUES ('integrity-check', 1)")
        except Exception as exc:  # SQLite says only that it differs, not where
            found.append(f"{index} does not match the {what}s' searchable text ({exc})")
    return found


def _ids(table: str) -> Iterator[list[int]]:
    """The ids of `table`, CHUNK at a time, in order (keyset pages)."""
    last = 0
    while True:
        p = Params()
        ids = [r[0] for r in db.execute_sql(
            f"SELECT id FROM {table} WHERE id > {p(last)} ORDER BY id LIMIT {CHUNK}", p)]
        if not ids:
            return
        yield ids
        last = ids[-1]


def _stale_order_search() -> list[int]:
    """Orders whose search row holds other text than their fields and items make now (a
    searched field changed without store.order_rows hearing of it): a search finds them by
    what they were, not by what they are."""
    stale = []
    for ids in _ids("orders"):
        stored = {r[0]: (r[1], r[2]) for r in db.execute_sql(
            "SELECT order_id, text, name FROM order_search WHERE order_id IN "
            f"(SELECT value FROM {id_source('ids')})", {"ids": id_value(ids)})}
        for order, items in search_inputs(ids):
            row = search_row(order["id"], order, items)
            have = stored.get(order["id"])
            if have is not None and have != (row["text"], row["name"]):
                stale.append(int(order["id"]))
    return stale


def _customer_search_texts(ids: Sequence[int]) -> list[tuple[int, str, str]]:
    """(id, stored, expected) search text of each customer: store.customers' definition,
    from their fields and their addresses' places."""
    bound = {"ids": id_value(ids)}
    within = f"IN (SELECT value FROM {id_source('ids')})"
    places: dict[int, list[str]] = {}
    for customer_id, postcode, city, country in db.execute_sql(
            f"SELECT customer_id, postcode, city, country FROM address WHERE customer_id "
            f"{within} ORDER BY customer_id, id", bound):
        places.setdefault(customer_id, []).extend((postcode, city, country))
    columns = ("id", "first_name", "last_name", "email", "phone", "search_text")
    rows = [dict(zip(columns, values, strict=True)) for values in db.execute_sql(
        f"SELECT {', '.join(columns)} FROM customer WHERE id {within}", bound)]
    return [(int(c["id"]), c["search_text"] or "",
             customer_search_text(c, places.get(c["id"], ()))) for c in rows]


def _stale_customer_search() -> list[tuple[int, str]]:
    """Customers whose search text is not what their fields and addresses make now: (id,
    the text they should have)."""
    return [(cid, want) for ids in _ids("customer")
            for cid, have, want in _customer_search_texts(ids) if have != want]


def _stale_subscriber_search() -> list[tuple[int, str]]:
    """Subscribers whose folded search text (migration 0014) is not what their address and
    name make now (store.subscribers.search_text; an erased row: none): (id, the text they
    should have). The list's `/` finds them by what they were."""
    stale = []
    for ids in _ids("subscriber"):
        for sid, email, key, first, last, have in db.execute_sql(
                "SELECT id, email, email_key, first_name, last_name, search_text FROM "
                f"subscriber WHERE id IN (SELECT value FROM {id_source('ids')})",
                {"ids": id_value(ids)}):
            want = "" if key is None else subscriber_search_text(email, first, last)
            if (have or "") != want:
                stale.append((int(sid), want))
    return sorted(stale)


def _stale_items() -> tuple[list[tuple[int, str]], int]:
    """Items whose folded text (order_item.folded, migration 0018) is not what their SKU and
    name fold to now (store.folding.fold_item), or is missing (an item written behind the
    store's back): (id, the text they should have) of each, and how many were missing.
    `product:` finds them by what they were, or not at all. Each SKU and name is folded once
    a chunk: a shop's items repeat its few products."""
    stale: list[tuple[int, str]] = []
    missing = last = 0
    while True:
        p = Params()
        found = db.execute_sql(
            f"SELECT id, sku, name, folded FROM order_item WHERE id > {p(last)} ORDER BY id "
            f"LIMIT {CHUNK * 10}", p).fetchall()
        if not found:
            return stale, missing
        last = found[-1][0]
        folded: dict[tuple[str, str], str] = {}
        for item_id, sku, name, have in found:
            key = (sku or "", name or "")
            want = folded.get(key)
            if want is None:
                want = folded[key] = fold_item(*key)
            if have != want:
                stale.append((int(item_id), want))
                missing += have is None


def _stale_items_found() -> list[str]:
    stale, missing = _stale_items()
    if not stale:
        return []
    ids = [item_id for item_id, _text in stale]
    more = f" and {len(ids) - SHOWN:,} more" if len(ids) > SHOWN else ""
    said = f", {missing:,} without any" if missing else ""
    return [f"{len(ids):,} item(s) whose folded text is out of date{said} "
            f"(#{', #'.join(map(str, ids[:SHOWN]))}{more}): `product:` finds them by what "
            "they were, or not at all"]


def _out_of_date(what: str, ids: Sequence[int]) -> str:
    more = f" and {len(ids) - SHOWN:,} more" if len(ids) > SHOWN else ""
    return (f"{len(ids):,} {what}(s) whose search text is out of date "
            f"(#{', #'.join(map(str, ids[:SHOWN]))}{more}): a search finds them by what they "
            "were, not by what they are")


@check("search_index",
       "the search index in step with the orders, their items, customers and subscribers",
       hint="`backroom check --repair` rebuilds the search rows and index from the orders, "
            "their items, customers and subscribers",
       repair=lambda shop: rebuild_search_index())
def _search_index(shop: Shop) -> list[str]:
    found: list[str] = []
    rowless = _orders_without_search_row()
    if rowless:
        more = f" and {len(rowless) - SHOWN:,} more" if len(rowless) > SHOWN else ""
        found.append(f"{len(rowless):,} order(s) without a search row "
                     f"({_codes(rowless[:SHOWN])}{more}): a search does not find them")
    stale = _stale_order_search()
    if stale:
        more = f" and {len(stale) - SHOWN:,} more" if len(stale) > SHOWN else ""
        found.append(f"{len(stale):,} order(s) whose search text is out of date "
                     f"({_codes(stale[:SHOWN])}{more}): a search finds them by what they "
                     "were, not by what they are")
    for what, stale_rows in (("customer", _stale_customer_search()),
                             ("subscriber", _stale_subscriber_search())):
        if stale_rows:
            found.append(_out_of_date(what, [rid for rid, _text in stale_rows]))
    found += _stale_items_found()
    if dbmod.is_sqlite():
        for index, table, key, what in SEARCH_INDEXES:
            found += _index_differences(index, table, key, what)
    return found


def rebuild_search_index() -> str:
    """Write the missing order search rows and the out-of-date ones (orders', items',
    customers' and subscribers'), then rebuild the FTS5 indexes from their tables (one
    transaction; searches wait for it)."""
    with db.atomic():
        rowless = _orders_without_search_row()
        for start in range(0, len(rowless), CHUNK):
            chunk = rowless[start:start + CHUNK]
            insert_search([search_row(order["id"], order, items)
                           for order, items in search_inputs(chunk)])
        stale = _stale_order_search()
        for start in range(0, len(stale), CHUNK):
            refresh_search_many(stale[start:start + CHUNK])
        customers = _stale_customer_search()
        update_rows(Customer, ("search_text",), [(text, cid) for cid, text in customers])
        people = _stale_subscriber_search()
        update_rows(Subscriber, ("search_text",), [(text, sid) for sid, text in people])
        items, _missing_items = _stale_items()
        update_rows(OrderItem, ("folded",), [(text, item_id) for item_id, text in items])
        if dbmod.is_sqlite():
            for index, _table, _key, _what in SEARCH_INDEXES:
                db.execute_sql(f"INSERT INTO {index}({index}) VALUES ('rebuild')")
    written = [f"{n:,} {what}" for n, what in ((len(rowless), "order(s) written"),
                                                (len(stale), "order(s) rewritten"),
                                                (len(items), "item(s) refolded"),
                                                (len(customers), "customer(s) rewritten"),
                                                (len(people), "subscriber(s) rewritten"))
               if n]
    return (f"search rows: {', '.join(written)}; " if written else "") + \
        "search index rebuilt from the orders, their items, customers and subscribers"


# ----- the outbox ------------------------------------------------------------------------------

def _stuck(now: dt.datetime) -> list[tuple[int, str]]:
    p = Params()
    sql = ("SELECT id, lease_owner FROM outbox WHERE state = 'sending' "
           f"AND (lease_until IS NULL OR lease_until < {p(now)}) ORDER BY id")
    return [(r[0], r[1]) for r in db.execute_sql(sql, p)]


@check("outbox_leases", "no mail stuck \"sending\" past its worker's lease",
       hint="`backroom check --repair` gives them back to the queue (a worker that is "
            "running takes them again by itself; none is)",
       repair=lambda shop: f"{release_lapsed(utcnow()):,} mail(s) given back to the queue")
def _outbox_leases(shop: Shop) -> list[str]:
    stuck = _stuck(utcnow())
    if not stuck:
        return []
    owners = sorted({owner or "?" for _id, owner in stuck})
    ids = ", ".join(f"#{i}" for i, _o in stuck[:SHOWN])
    more = f" and {len(stuck) - SHOWN:,} more" if len(stuck) > SHOWN else ""
    return [f"{len(stuck):,} mail(s) stuck sending past their lease ({ids}{more}), leased by "
            f"{', '.join(owners)}: no worker has taken them back"]


# ----- maintained figures ---------------------------------------------------------------------

PAYMENT_SUMS = (
    "SELECT o.id, o.code, o.amount_paid, o.amount_refunded, "
    "COALESCE(SUM(CASE WHEN p.kind = 'payment' THEN p.amount "
    "WHEN p.kind = 'reversal' THEN -p.amount ELSE 0 END), 0) AS paid, "
    "COALESCE(SUM(CASE WHEN p.kind = 'refund' THEN p.amount ELSE 0 END), 0) AS refunded "
    "FROM orders o LEFT JOIN payment p ON p.order_id = o.id GROUP BY o.id, o.code, "
    "o.amount_paid, o.amount_refunded")


def _payment_differences() -> list[tuple[int, str, int, int, int, int]]:
    sql = (f"SELECT id, code, amount_paid, amount_refunded, paid, refunded FROM ({PAYMENT_SUMS}) "
           "AS s WHERE amount_paid <> paid OR amount_refunded <> refunded ORDER BY id")
    return [tuple(r) for r in db.execute_sql(sql)]  # type: ignore[misc]


def recompute_order_payments(shop: Shop) -> str:
    """Set each order's paid and refunded figures from its payment rows (the ledger)."""
    with db.atomic():
        rows = _payment_differences()
        update_rows(Order, ("amount_paid", "amount_refunded"),
                    [(paid, refunded, oid) for oid, _code, _p, _r, paid, refunded in rows],
                    "version = version + 1")
    return f"paid and refunded figures of {len(rows):,} order(s) recomputed from their payments"


@check("order_payments", "each order's paid and refunded figures match its payments",
       hint="`backroom check --repair` recomputes them from the payment rows (the ledger)",
       repair=recompute_order_payments)
def _order_payments(shop: Shop) -> list[str]:
    rows = _payment_differences()
    return listed([f"{code}: paid {p} / refunded {r} stored, the payments say {paid} / "
                   f"{refunded} (minor units)" for _id, code, p, r, paid, refunded in rows])


# ----- per-customer figures (store.customer_figures) -----------------------------------------

FIGURE_NAMES = ("orders", "spent", "first order", "last order")


def _repair_figures(shop: Shop) -> str:
    wrong = [customer_id for customer_id, _, _ in customer_figures.differences(shop.currency)]
    with db.atomic():
        customer_figures.refresh(wrong, shop.currency)
    return f"figures of {len(wrong):,} customer(s) recomputed from their orders"


@check("customer_figures",
       "each customer's orders, spent, first and last order match their real orders",
       hint="`backroom check --repair` recomputes them from the orders",
       repair=_repair_figures)
def _customer_figures(shop: Shop) -> list[str]:
    lines = []
    for customer_id, stored, expected in customer_figures.differences(shop.currency):
        wrong = [f"{name} {have} (the orders say {want})"
                 for name, have, want in zip(FIGURE_NAMES, stored, expected, strict=True)
                 if str(have) != str(want)]
        lines.append(f"customer #{customer_id}: {', '.join(wrong)}")
    return listed(lines)


# ----- invoice numbers (store.invoices) -------------------------------------------------------

@check("invoice_numbers", "invoice and credit-note numbers without a gap in each series",
       hint="a number missing from a series cannot be issued again: tell the accountant "
            "which, from the lines above")
def _invoice_numbers(shop: Shop) -> list[str]:
    return listed(invoices.gaps())
