"""A deterministic, realistic demo shop, built in bulk so a million orders take minutes.

Rows are written with executemany (SQLite) or execute_values (PostgreSQL) inside one
transaction, bypassing the services: the services are for one operator's change at a time.
The same seed gives the same customers, codes, totals and statuses. Everything the services
would write is here too: items, addresses, payments and refunds, history, notes, outbox rows."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import random
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from peewee import fn

from store import customer_figures, subscribers
from store import db as dbmod
from store.codes import format_code
from store.customers import customer_search_text
from store.errors import Refused, ValidationError
from store.folding import fold_item
from store.models import Customer, CustomerGroup, Operator, Order, db, utcnow
from store.order_rows import search_row
from store.orders import allocate_numbers
from store.shop import Shop

CHUNK = 10000
PARALLEL_FROM = 50000  # below this, forking a generator costs more than it saves
MAIL_RETENTION_DAYS = 90  # older sent mail is purged in a real shop; the demo keeps 90 days
TABLES = ("customer", "orders", "order_search", "order_item", "address", "order_event", "payment",
          "outbox")
MAX_ORDERS = 5_000_000

# (country, tax basis points, language, first names, last names, cities with postcodes)
COUNTRIES: tuple[tuple[str, int, str, tuple[str, ...], tuple[str, ...],
                       tuple[tuple[str, str], ...]], ...] = (
    ("FR", 2000, "fr",
     ("Zoé", "François", "Amélie", "Jérôme", "Hélène", "Camille", "Léa", "Noël", "Inès", "Gaël"),
     ("Lefèvre", "Dubois", "Moreau", "Bénard", "Girard", "Rousseau", "Lemaître", "Faure"),
     (("Paris", "75011"), ("Lyon", "69003"), ("Nantes", "44000"), ("Besançon", "25000"))),
    ("PL", 2300, "en",
     ("Łukasz", "Małgorzata", "Paweł", "Zofia", "Wojciech", "Agnieszka", "Jędrzej"),
     ("Żółć", "Wójcik", "Kowalczyk", "Grzegorzewska", "Dąbrowski", "Szczęsny"),
     (("Kraków", "30-001"), ("Łódź", "90-001"), ("Gdańsk", "80-001"), ("Wrocław", "50-001"))),
    ("PT", 2300, "en",
     ("João", "Inês", "Gonçalo", "Conceição", "Tomás", "Leonor"),
     ("Gonçalves", "Simões", "Magalhães", "Conceição", "Araújo", "Brandão"),
     (("Lisboa", "1100-148"), ("Porto", "4000-322"), ("Évora", "7000-501"))),
    ("DK", 2500, "en",
     ("Søren", "Åse", "Jørgen", "Mette", "Bjørn", "Sørine"),
     ("Øster", "Mørch", "Kjær", "Bækgaard", "Holm", "Ærø"),
     (("København", "1050"), ("Aarhus", "8000"), ("Ærøskøbing", "5970"))),
    ("DE", 1900, "en",
     ("Jürgen", "Käthe", "Björn", "Uwe", "Anneliese", "Jörg", "Lena"),
     ("Müller", "Schröder", "Weiß", "Groß", "Köhler", "Bäcker"),
     (("München", "80331"), ("Köln", "50667"), ("Düsseldorf", "40213"), ("Berlin", "10115"))),
    ("ES", 2100, "en",
     ("José", "María", "Begoña", "Iñaki", "Nuria", "Álvaro"),
     ("Núñez", "Peña", "Ibáñez", "García", "Muñoz", "Castaño"),
     (("Madrid", "28013"), ("A Coruña", "15001"), ("Málaga", "29015"))),
    ("GB", 2000, "en",
     ("Oliver", "Amelia", "Harry", "Isla", "George", "Siobhán", "Niamh"),
     ("Smith", "O'Connor", "Taylor", "Brown", "Ní Bhriain", "Evans"),
     (("London", "EC1A 1BB"), ("Leeds", "LS1 4AP"), ("Bristol", "BS1 5TR"))),
    ("SE", 2500, "en",
     ("Åsa", "Björn", "Märta", "Örjan", "Linnéa"),
     ("Ångström", "Sjöberg", "Öberg", "Åkesson", "Lindqvist"),
     (("Göteborg", "411 03"), ("Malmö", "211 20"), ("Umeå", "903 26"))),
)
COUNTRY_WEIGHTS = (34, 14, 8, 7, 14, 8, 10, 5)

PRODUCTS: tuple[tuple[str, str, int], ...] = tuple(
    (f"{prefix}-{n:03d}", f"{name} {size}", price + n % 7 * 150)
    for prefix, name, price in (
        ("MUG", "Ceramic mug", 1290), ("TEE", "Organic cotton tee", 2490),
        ("CAP", "Wool cap", 1990), ("BAG", "Canvas tote bag", 1590),
        ("NBK", "Dotted notebook", 990), ("PEN", "Fountain pen", 3490),
        ("CRM", "Crème brûlée set", 2990), ("TEA", "Thé vert sencha", 890),
        ("SCF", "Merino scarf", 4490), ("LMP", "Desk lamp Ørsted", 6990),
        ("SOC", "Bamboo socks", 790), ("PST", "Poster Kraków 1936", 1990),
    )
    for n, size in enumerate(("S", "M", "L", "XL", "blue", "green", "red", "oak", "ash",
                              "No. 5", "deluxe", "mini"))
)
# each product's SKU and name folded for `product:` (order_item.folded), once, not per item
FOLDED_PRODUCTS = tuple(fold_item(sku, name) for sku, name, _price in PRODUCTS)
DOMAINS = ("example.com", "example.org", "mail.example.net", "post.example.com")
PAY_METHODS = ("card", "paypal", "wire", "cod")
PAY_WEIGHTS = (55, 25, 12, 8)
SHIP_METHODS = ("standard", "express", "pickup")
SHIP_WEIGHTS = (80, 15, 5)
CARRIERS = ("UPS", "DHL", "La Poste", "PostNord", "InPost")
OPERATORS = (("anna", "clerk", "Anna Kowalska"), ("marek", "manager", "Marek Nowak"),
             ("sofia", "clerk", "Sofía Peña"))
NOTES = ("customer called about delivery", "gift wrap requested", "address checked by phone",
         "left at the neighbour's", "asked for an invoice with VAT number",
         "parcel damaged, photo received")
CUSTOMER_NOTES = ("Please ring twice", "Livraison après 18h svp", "Zostawić u sąsiada",
                  "It's a gift, no invoice in the box", "Bitte nicht knicken", "")
OPERATOR_LOGINS = tuple(login for login, _role, _name in OPERATORS)
FINAL = ("completed", "cancelled", "refunded")
REFUND_REASONS = {"refunded": "returned by the customer", "cancelled": "cancelled after payment"}
GROUPS = (("Retail", True, 0, ""), ("Wholesale", False, 1000, ""),
          ("VIP", False, 500, "free shipping"), ("Staff", False, 2000, ""))
ADDRESS_COLUMNS = ("customer_id", "order_id", "kind", "first_name", "last_name", "company",
                   "line1", "line2", "postcode", "city", "region", "country", "phone",
                   "created_at", "updated_at")
STREETS = ("Rue de la Paix", "ul. Długa", "Rua Augusta", "Nørregade", "Königstraße",
           "Calle Mayor", "High Street", "Storgatan")
MAIL_OF = {"awaiting_verification": "awaiting_verification", "paid": "payment_received",
           "shipped": "shipped", "completed": "completed", "cancelled": "cancelled",
           "refunded": "refunded"}


@dataclass(frozen=True)
class DemoStats:
    """What build() wrote, and how long it took."""

    orders: int
    customers: int
    items: int
    payments: int
    events: int
    mails: int
    seconds: float
    first_code: str
    last_code: str

    def summary(self) -> str:
        rate = self.orders / self.seconds if self.seconds else 0
        return (f"demo shop: {self.orders:,} orders ({self.first_code} .. {self.last_code}), "
                f"{self.customers:,} customers, {self.items:,} items, {self.payments:,} payments, "
                f"{self.events:,} history rows, {self.mails:,} mails; built in "
                f"{self.seconds:.1f} s ({rate:,.0f} orders/s)")


def _ascii(text: str) -> str:
    """An email-safe spelling of a name (Łukasz Żółć -> lukasz.zolc)."""
    table = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae",
                           "ß": "ss", "'": "", " ": ""})
    decomposed = unicodedata.normalize("NFKD", text.translate(table))
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


def _table(values: Sequence[Any], weights: Sequence[int]) -> tuple[Any, ...]:
    """Values repeated by weight: one rng.random() picks from it (random.choices is slow)."""
    return tuple(v for v, w in zip(values, weights, strict=True) for _ in range(w))


COUNTRY_TABLE = _table(range(len(COUNTRIES)), COUNTRY_WEIGHTS)
GROUP_TABLE = _table(range(4), (85, 6, 7, 2))
LINES_TABLE = _table((1, 2, 3, 4), (55, 28, 12, 5))
QUANTITY_TABLE = _table((1, 2, 3), (85, 12, 3))
SHIP_TABLE = _table(SHIP_METHODS, SHIP_WEIGHTS)
PAY_TABLE = _table(PAY_METHODS, PAY_WEIGHTS)


class _Rows:
    """Rows of one chunk per table, collected by the generator, written by the builder."""

    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite
        self.tables: dict[str, list[Sequence[Any]]] = {t: [] for t in TABLES}

    def ts(self, value: dt.datetime | None) -> Any:
        if value is None:
            return None
        return str(value) if self.sqlite else value

    def add(self, table: str, row: Sequence[Any]) -> None:
        self.tables[table].append(row)

    def take(self) -> dict[str, list[Sequence[Any]]]:
        tables, self.tables = self.tables, {t: [] for t in TABLES}
        return tables


def _write(sqlite: bool, tables: dict[str, list[Sequence[Any]]], counts: dict[str, int]) -> None:
    """Insert one chunk, parents first (customers, then orders, then what refers to them)."""
    cursor = db.cursor()
    for table in TABLES:
        rows = tables[table]
        if not rows:
            continue
        columns = COLUMNS[table]
        names = ", ".join(f'"{c}"' for c in columns)
        if sqlite:
            marks = ", ".join("?" * len(columns))
            cursor.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
        else:
            from psycopg2.extras import execute_values

            execute_values(cursor, f'INSERT INTO "{table}" ({names}) VALUES %s', rows,
                           page_size=2000)
        counts[table] = counts.get(table, 0) + len(rows)


def _status_path(rng: random.Random, age_days: float, pay: str) -> list[str]:
    """The statuses an order went through after being placed, by its age (realistic mix)."""
    r = rng.random()
    verify = ["awaiting_verification"] if pay == "wire" else []
    if age_days < 1:
        if r < 0.45:
            return []
        if r < 0.50:
            return verify or ["awaiting_verification"]
        if r < 0.93:
            return [*verify, "paid"]
        return ["cancelled"]
    if age_days < 4:
        if r < 0.08:
            return []
        if r < 0.40:
            return [*verify, "paid"]
        if r < 0.90:
            return [*verify, "paid", "shipped"]
        return ["cancelled"]
    if age_days < 21:
        if r < 0.02:
            return []
        if r < 0.50:
            return [*verify, "paid", "shipped"]
        if r < 0.88:
            return [*verify, "paid", "shipped", "completed"]
        if r < 0.95:
            return ["cancelled"]
        return [*verify, "paid", "refunded"]
    if r < 0.80:
        return [*verify, "paid", "shipped", "completed"]
    if r < 0.91:
        return ["cancelled"]
    if r < 0.95:
        return [*verify, "paid", "cancelled"]
    if r < 0.98:
        return [*verify, "paid", "shipped", "refunded"]
    return [*verify, "paid", "refunded"]


def _ensure_groups_and_operators() -> list[int]:
    now = utcnow()
    ids = []
    has_default = CustomerGroup.select().where(CustomerGroup.is_default == True).exists()  # noqa: E712
    for name, default, discount, privilege in GROUPS:
        group = CustomerGroup.get_or_none(CustomerGroup.name == name)
        if group is None:
            group = CustomerGroup.create(name=name, is_default=default and not has_default,
                                         discount_bp=discount, privilege=privilege,
                                         created_at=now, updated_at=now)
        ids.append(group.id)
    for login, role, name in OPERATORS:
        if Operator.get_or_none(Operator.login == login) is None:
            Operator.create(login=login, role=role, display_name=name)
    return ids


def _drop_search_triggers() -> list[str]:
    """SQLite: drop the triggers that index each new order and customer for search, and
    return their SQL; the index is rebuilt once after the load (_restore_search)."""
    triggers = [sql for (sql,) in db.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name IN "
        "('order_fts_insert', 'customer_fts_ai', 'item_fts_insert')").fetchall()]
    for name in ("order_fts_insert", "customer_fts_ai", "item_fts_insert"):
        db.execute_sql(f"DROP TRIGGER IF EXISTS {name}")
    return triggers


def _restore_search(indexes: list[str], triggers: list[str]) -> None:
    """SQLite: put back what the load dropped, and rebuild the search tables in one go."""
    for sql in indexes + triggers:
        db.execute_sql(sql)
    db.execute_sql("INSERT INTO order_fts(order_fts) VALUES ('rebuild')")
    if any("customer_fts" in sql for sql in triggers):
        db.execute_sql("INSERT INTO customer_fts(customer_fts) VALUES ('rebuild')")
    if any("item_fts" in sql for sql in triggers):
        db.execute_sql("INSERT INTO item_fts(item_fts) VALUES ('rebuild')")


def _advance_sequences() -> None:
    """PostgreSQL: the load chose the ids; move the id sequences past them."""
    for table in ("orders", "customer"):
        db.execute_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                       f"(SELECT MAX(id) FROM {table}))")


def _drop_indexes() -> list[str]:
    """SQLite: drop the secondary indexes of the bulk tables (inside the build's transaction)
    and return their SQL; building an index once after the load is far cheaper than keeping
    it up to date row by row."""
    marks = ", ".join("?" * len(TABLES))
    rows = db.execute_sql(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({marks})", TABLES).fetchall()
    for name, _sql in rows:
        db.execute_sql(f'DROP INDEX "{name}"')
    return [sql for _name, sql in rows]


@dataclass(frozen=True)
class _Plan:
    """Everything the row generator needs; it reads no database, so it can run in a child."""

    seed: int
    count: int
    customers: int
    start: dt.datetime
    end: dt.datetime
    group_ids: tuple[int, ...]
    first_customer_id: int
    first_id: int
    first_number: int
    prefix: str
    currency: str
    sqlite: bool


def _produce(plan: _Plan) -> Iterator[dict[str, list[Sequence[Any]]]]:
    """The demo's rows, chunk by chunk: customers first, then orders; same seed, same rows."""
    rng = random.Random(plan.seed)
    rows = _Rows(plan.sqlite)
    people: list[_Person] = []
    for n in range(plan.customers):
        people.append(_customer(rng, rows, plan.first_customer_id + n, plan.start,
                                plan.group_ids))
        if len(people) % CHUNK == 0:
            yield rows.take()
    yield rows.take()
    guests = [_guest(rng, 900000000 + n) for n in range(max(20, plan.count // 8))]
    span = (plan.end - plan.start).total_seconds()
    step = span / plan.count
    for i in range(plan.count):
        placed = plan.start + dt.timedelta(seconds=int((i + rng.random()) * step))
        _order(rng, rows, plan, plan.first_id + i, plan.first_number + i, placed, people, guests)
        if (i + 1) % CHUNK == 0 or i + 1 == plan.count:
            yield rows.take()


def _child(plan: _Plan, queue: Any) -> None:
    """Generate in a child process while the parent writes: two cores, half the wall time."""
    try:
        for chunk in _produce(plan):
            queue.put(chunk)
        queue.put(None)
    except BaseException as exc:  # the parent re-raises it as a message
        queue.put(f"{type(exc).__name__}: {exc}")
    finally:
        queue.close()
        queue.join_thread()
        os._exit(0)  # never run the inherited database connection's finalisers


def _chunks(plan: _Plan) -> Iterator[dict[str, list[Sequence[Any]]]]:
    """The generator's chunks, from a forked child when the platform has fork and N is big."""
    if plan.count < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        yield from _produce(plan)
        return
    context = multiprocessing.get_context("fork")
    queue = context.Queue(maxsize=3)
    child = context.Process(target=_child, args=(plan, queue), daemon=True)
    child.start()
    try:
        while True:
            chunk = queue.get()
            if chunk is None:
                break
            if isinstance(chunk, str):
                raise RuntimeError(f"demo data generator failed: {chunk}")
            yield chunk
    finally:
        if child.is_alive():
            child.terminate()
        child.join()


def existing_orders() -> int:
    """How many orders the shop already holds (the demo only fills an empty one)."""
    return int(Order.select().count())


def build(shop: Shop, count: int, seed: int = 1,
          progress: Callable[[int], Any] | None = None) -> DemoStats:
    """Fill an empty shop with `count` orders and their customers; same seed, same shop."""
    if count < 1 or count > MAX_ORDERS:
        raise ValidationError(f"the demo builds 1 to {MAX_ORDERS:,} orders, not {count:,}")
    existing = existing_orders()
    if existing:
        raise Refused(f"the database already holds {existing:,} orders; the demo only fills "
                      "an empty shop (use another --database)")
    started = time.perf_counter()
    sqlite = dbmod.is_sqlite()
    end = utcnow().replace(minute=0, second=0, microsecond=0)
    span_days = min(1095, max(60, count // 50))
    counts: dict[str, int] = {}
    triggers: list[str] = []
    indexes: list[str] = []
    if sqlite:
        db.execute_sql("PRAGMA foreign_keys = OFF")  # ids are assigned here, parents first
    try:
        with db.atomic():
            group_ids = _ensure_groups_and_operators()
            if sqlite:
                triggers, indexes = _drop_search_triggers(), _drop_indexes()
            plan = _Plan(
                seed=seed, count=count, customers=max(20, count // 5),
                start=end - dt.timedelta(days=span_days), end=end, group_ids=tuple(group_ids),
                first_customer_id=_next_id(Customer), first_id=_next_id(Order),
                first_number=allocate_numbers(count), prefix=shop.prefix,
                currency=shop.currency, sqlite=sqlite)
            for chunk in _chunks(plan):
                _write(sqlite, chunk, counts)
                if progress is not None and chunk.get("orders"):
                    progress(len(chunk["orders"]))
            if sqlite:
                _restore_search(indexes, triggers)
            customer_figures.rebuild_all(shop.currency)
            # customers who consented at checkout are the newsletter's subscribers
            consenting = Customer.select(Customer.id).where(Customer.marketing_consent)
            subscribers.customers_changed([c.id for c in consenting], "storefront")
            if not sqlite:
                _advance_sequences()
    finally:
        if sqlite:
            db.execute_sql("PRAGMA foreign_keys = ON")
    if sqlite:
        db.execute_sql("PRAGMA analysis_limit = 1000")
    db.execute_sql("ANALYZE")
    return DemoStats(
        orders=counts.get("orders", 0), customers=counts.get("customer", 0),
        items=counts.get("order_item", 0), payments=counts.get("payment", 0),
        events=counts.get("order_event", 0), mails=counts.get("outbox", 0),
        seconds=time.perf_counter() - started,
        first_code=format_code(shop.prefix, plan.first_number),
        last_code=format_code(shop.prefix, plan.first_number + count - 1),
    )


def _next_id(model: Any) -> int:
    return int(model.select(fn.MAX(model.id)).scalar() or 0) + 1


_Person = tuple[int | None, str, str, str, str, int, str, tuple[str, ...], int]
# (customer id, first, last, email, phone, country index, language, address fields, group)

CUSTOMER_COLUMNS = ("id", "first_name", "last_name", "email", "email_key", "phone", "language",
                    "status", "status_reason", "group_id", "registered_at", "marketing_consent",
                    "consent_at", "consent_source", "confirmed_at", "version", "updated_by",
                    "search_text", "created_at", "updated_at")


def _person(rng: random.Random, number: int) -> tuple[str, str, str, str, int, tuple[str, ...]]:
    country = COUNTRY_TABLE[int(rng.random() * len(COUNTRY_TABLE))]
    code, _tax, _lang, firsts, lasts, cities = COUNTRIES[country]
    first, last = rng.choice(firsts), rng.choice(lasts)
    email = f"{_ascii(first)}.{_ascii(last)}{number}@{rng.choice(DOMAINS)}"
    phone = f"+{rng.randint(30, 49)} {rng.randint(100, 999)} {rng.randint(100000, 999999)}"
    city, postcode = rng.choice(cities)
    line1 = f"{rng.randint(1, 180)} {rng.choice(STREETS)}"
    return first, last, email, phone, country, (line1, postcode, city, code)


def _guest(rng: random.Random, number: int) -> _Person:
    """Someone who orders without an account (guests come back, so they are a pool)."""
    first, last, email, phone, country, address = _person(rng, number)
    return (None, first, last, email, phone, country, COUNTRIES[country][2], address, 0)


def _customer(rng: random.Random, rows: _Rows, cid: int, start: dt.datetime,
              group_ids: Sequence[int]) -> _Person:
    """One registered customer with their address; returned for their orders to use."""
    first, last, email, phone, country, address = _person(rng, cid)
    language = COUNTRIES[country][2]
    group = group_ids[GROUP_TABLE[int(rng.random() * len(GROUP_TABLE))]]
    registered = start - dt.timedelta(days=rng.randint(0, 700))
    r = rng.random()
    status = "active" if r < 0.992 else "suspended" if r < 0.997 else "denied"
    consent = rng.random() < 0.4
    ts = rows.ts(registered)
    search = customer_search_text({"first_name": first, "last_name": last, "email": email,
                                   "phone": phone}, (address[1], address[2], address[3]))
    rows.add("customer", (
        cid, first, last, email, email.lower(), phone, language, status,
        "" if status == "active" else "chargebacks", group, ts, consent,
        ts if consent else None, "checkout" if consent else "", ts, 1, "storefront",
        search, ts, ts))
    rows.add("address", (
        cid, None, "shipping", first, last, "", address[0], "", address[1], address[2], "",
        address[3], phone, ts, ts))
    return (cid, first, last, email, phone, country, language, address, group)


ORDER_COLUMNS = ("id", "number", "code", "customer_id", "customer_name", "customer_email",
                 "customer_phone", "language", "status", "currency", "subtotal", "tax",
                 "shipping_cost", "discount", "total", "payment_method", "payment_reference",
                 "amount_paid", "amount_refunded", "shipping_method", "tracking_number",
                 "carrier", "internal_reference", "customer_note", "item_count", "placed_at",
                 "archived", "is_test", "version", "updated_by", "created_at", "updated_at")
SEARCH_COLUMNS = ("order_id", "text", "name")
ITEM_COLUMNS = ("order_id", "sku", "name", "folded", "quantity", "unit_price", "tax_rate_bp",
                "created_at", "updated_at")
PAYMENT_COLUMNS = ("order_id", "kind", "amount", "currency", "method", "reference", "reason",
                   "operator_login", "created_at", "updated_at")
EVENT_COLUMNS = ("order_id", "kind", "from_status", "to_status", "message", "data",
                 "operator_login", "visible", "created_at", "updated_at")
OUTBOX_COLUMNS = ("kind", "recipient", "language", "payload", "idempotency_key", "state",
                  "order_id", "customer_id", "subject", "attempts", "next_attempt_at",
                  "last_error", "sent_at", "lease_owner", "message_id", "created_at", "updated_at")


class _Head(NamedTuple):
    """Which order, and whom its mails go to: what every row of its history names."""

    oid: int
    number: int
    code: str
    cid: int | None
    email: str
    language: str


def _order(rng: random.Random, w: _Rows, plan: _Plan, oid: int, number: int,
           placed: dt.datetime, customers: list[_Person], guests: list[_Person]) -> None:
    """One order with everything the services would have written over its life."""
    random_ = rng.random
    tables = w.tables
    ts = str if w.sqlite else _same
    currency = plan.currency
    code = format_code(plan.prefix, number)
    end = plan.end
    person, is_test = _buyer(random_, number, customers, guests)
    cid, first, last, email, phone, country, language, _address, _group = person
    name = f"{first} {last}"
    t_placed = ts(placed)
    subtotal, tax, quantity_total, pairs = _lines(
        random_, tables["order_item"].append, oid, COUNTRIES[country][1], t_placed)
    ship_method = SHIP_TABLE[int(random_() * 100)]
    shipping = 0 if ship_method == "pickup" or subtotal >= 5000 else (
        990 if ship_method == "express" else 490)
    discount = subtotal // 10 if random_() < 0.08 else 0
    total = subtotal + tax + shipping - discount
    pay = PAY_TABLE[int(random_() * 100)]
    age = (end - placed).total_seconds() / 86400
    path = _status_path(rng, age, pay)
    status = path[-1] if path else "awaiting_payment"
    tracking = carrier = ""
    if "shipped" in path and ship_method != "pickup":
        carrier = CARRIERS[country % len(CARRIERS)]
        tracking = f"{carrier[:2].upper()}{number * 7919 % 10**10:010d}"
    reference = ""
    if random_() < 0.12:
        reference = f"INV-{placed.year}-{number}"
    note = CUSTOMER_NOTES[int(random_() * len(CUSTOMER_NOTES))] if random_() < 0.06 else ""
    paid = total if "paid" in path else 0
    refunded = _refunded(random_, status, paid, total)
    archived = age > 365 and status in FINAL
    found = search_row(oid, {"code": code, "customer_name": name, "customer_email": email,
                             "customer_phone": phone, "tracking_number": tracking,
                             "internal_reference": reference}, pairs)
    tables["order_search"].append((oid, found["text"], found["name"]))
    head = _Head(oid, number, code, cid, email, language)
    operator, t_at = _history(random_, w, plan, head, placed, path, pay, total, tracking)
    tables["orders"].append((
        oid, number, code, cid, name, email, phone, language, status, currency, subtotal,
        tax, shipping, discount, total, pay, f"PAY-{number}" if paid and pay != "cod" else "",
        paid, refunded, ship_method, tracking, carrier, reference, note, quantity_total,
        t_placed, archived, is_test, 1 + len(path), operator, t_placed, t_at))
    _addresses(random_, tables["address"].append, oid, person, t_placed)
    if refunded:
        reason = REFUND_REASONS.get(status, "item arrived scratched")
        tables["payment"].append((oid, "refund", refunded, currency, pay, "", reason, "marek",
                                  t_at, t_at))
        tables["order_event"].append((
            oid, "refund", "", "", reason,
            f'{{"amount": {refunded}, "full": {"true" if refunded == paid else "false"}}}',
            "marek", False, t_at, t_at))
    if random_() < 0.04:
        # an hour to a day after the order, and never after now (a note from tomorrow topped
        # the shop log)
        at = ts(min(plan.end, placed + dt.timedelta(seconds=int(3600 + random_() * 100000))))
        tables["order_event"].append((oid, "note", "", "", NOTES[int(random_() * len(NOTES))],
                                      "{}", OPERATOR_LOGINS[int(random_() * 3)], False, at, at))


def _buyer(random_: Callable[[], float], number: int, customers: list[_Person],
           guests: list[_Person]) -> tuple[_Person, bool]:
    """Who placed an order: mostly a customer (the first ones most often, as loyal ones
    are), else a guest; a few are test orders, placed by staff under a made-up name."""
    is_test = random_() < 0.003
    if random_() < 0.7 and not is_test:
        return customers[int(len(customers) * random_() ** 2)], False
    _cid, first, last, email, phone, country, language, address, group = \
        guests[int(len(guests) * random_())]
    if is_test:
        first, last, email = "Test", "Order", f"test{number}@{DOMAINS[0]}"
    return (None, first, last, email, phone, country, language, address, group), is_test


def _lines(random_: Callable[[], float], add_item: Callable[[Sequence[Any]], None], oid: int,
           tax_bp: int, t_placed: Any) -> tuple[int, int, int, list[tuple[str, str]]]:
    """An order's items; their subtotal, tax, quantity and (sku, name) pairs for search."""
    subtotal = tax = quantity_total = 0
    pairs = []
    for _ in range(LINES_TABLE[int(random_() * 100)]):
        product = int(random_() * len(PRODUCTS))
        sku, pname, price = PRODUCTS[product]
        quantity = QUANTITY_TABLE[int(random_() * 100)]
        subtotal += quantity * price
        tax += round(quantity * price * tax_bp / 10000)
        quantity_total += quantity
        pairs.append((sku, pname))
        add_item((oid, sku, pname, FOLDED_PRODUCTS[product], quantity, price, tax_bp, t_placed,
                  t_placed))
    return subtotal, tax, quantity_total, pairs


def _refunded(random_: Callable[[], float], status: str, paid: int, total: int) -> int:
    """What was given back: all of it when refunded or cancelled after payment; now and
    then a part of a completed order (a scratched item)."""
    if status == "refunded" or (status == "cancelled" and paid):
        return paid
    if status == "completed" and random_() < 0.03:
        return max(1, total // 4)
    return 0


def _history(random_: Callable[[], float], w: _Rows, plan: _Plan, head: _Head,
             placed: dt.datetime, path: list[str], pay: str, total: int,
             tracking: str) -> tuple[str, Any]:
    """The order's placing and each status change along its path, with the payment and the
    customer's mails (kept for MAIL_RETENTION_DAYS); the last operator and time."""
    tables = w.tables
    add_event = tables["order_event"].append
    add_payment = tables["payment"].append
    add_mail = tables["outbox"].append
    ts = str if w.sqlite else _same
    end = plan.end
    oid, number, code, cid, email, language = head
    t_placed = ts(placed)
    keep_mail = (end - placed).total_seconds() / 86400 < MAIL_RETENTION_DAYS
    add_event((oid, "placed", "", "awaiting_payment", "order placed",
               f'{{"total": {total}}}', "storefront", False, t_placed, t_placed))
    if keep_mail:
        add_mail(("order_placed", email, language, f'{{"order_id": {oid}, "code": "{code}"}}',
                  f"placed:{oid}", "sent", oid, cid, "", 1, t_placed, "", t_placed, "",
                  f"<{oid}@demo>", t_placed, t_placed))
    when = placed
    previous = "awaiting_payment"
    operator = "storefront"
    t_at = t_placed
    last_index = len(path) - 1
    for index, target in enumerate(path):
        when = when + dt.timedelta(seconds=int(1800 + random_() * 214200))
        if when > end:
            when = end
        t_at = ts(when)
        operator = "storefront" if target == "paid" and pay != "wire" else \
            OPERATOR_LOGINS[int(random_() * 3)]
        data = "{}"
        if target == "paid":
            data = f'{{"recorded_payment": {total}}}'
            add_payment((oid, "payment", total, plan.currency, pay,
                         f"PAY-{number}" if pay != "cod" else "", "", operator, t_at, t_at))
        elif target == "shipped" and tracking:
            data = f'{{"tracking": "{tracking}"}}'
        add_event((oid, "status", previous, target, "", data, operator, True, t_at, t_at))
        previous = target
        if keep_mail:
            if index == last_index and (end - when).total_seconds() < 3600 * 6:
                state, sent = "queued", None
            elif random_() < 0.002:
                state, sent = "dead", None
            else:
                state, sent = "sent", t_at
            add_mail((MAIL_OF[target], email, language,
                      f'{{"order_id": {oid}, "code": "{code}", "status": "{target}"}}',
                      f"status:{oid}:demo{index}", state, oid, cid, "",
                      0 if state == "queued" else 1, t_at,
                      "550 mailbox unavailable" if state == "dead" else "", sent, "",
                      f"<{oid}.{index}@demo>" if sent else "", t_at, t_at))
    return operator, t_at


def _addresses(random_: Callable[[], float], add_address: Callable[[Sequence[Any]], None],
               oid: int, person: _Person, t_placed: Any) -> None:
    """The shipping address, and now and then a billing one (a company's, in Germany)."""
    _cid, first, last, _email, phone, country, _language, address, _group = person
    add_address((None, oid, "shipping", first, last, "", address[0], "", address[1],
                 address[2], "", address[3], phone, t_placed, t_placed))
    if random_() < 0.12:
        add_address((None, oid, "billing", first, last, f"{last} GmbH" if country == 4 else "",
                     f"{1 + int(random_() * 99)} {STREETS[country]}", "", address[1],
                     address[2], "", address[3], phone, t_placed, t_placed))


def _same(value: Any) -> Any:
    return value

COLUMNS: dict[str, tuple[str, ...]] = {
    "customer": CUSTOMER_COLUMNS, "orders": ORDER_COLUMNS, "order_search": SEARCH_COLUMNS,
    "order_item": ITEM_COLUMNS,
    "address": ADDRESS_COLUMNS, "payment": PAYMENT_COLUMNS, "order_event": EVENT_COLUMNS,
    "outbox": OUTBOX_COLUMNS,
}
