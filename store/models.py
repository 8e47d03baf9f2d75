"""peewee models. Money is an integer of minor units beside an ISO 4217 code, never a float.
Times are naive UTC. Only `store` writes these tables; the TUI reads frozen rows from queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from peewee import (
    AutoField,
    BlobField,
    BooleanField,
    Case,
    CharField,
    DatabaseProxy,
    DateTimeField,
    Expression,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

db = DatabaseProxy()

# The largest integer a column holds on both backends (SQLite INTEGER, PostgreSQL BIGINT):
# a number typed beyond it can match no row, and the drivers refuse to send it.
MAX_INT = 2**63 - 1


def utcnow() -> dt.datetime:
    """Now, as naive UTC (what every timestamp column holds)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class BaseModel(Model):
    id = AutoField()  # what peewee adds implicitly, declared so type checkers know it
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        database = db
        legacy_table_names = False


class Operator(BaseModel):
    """A person who runs backroom, known by login name, with one role."""

    login = CharField(unique=True)
    display_name = CharField(default="")
    role = CharField(default="viewer")
    active = BooleanField(default=True)
    email = CharField(default="")  # where a campaign's test send goes (migration 0011)


class OperatorEvent(BaseModel):
    """Append-only history of the operators: who added, re-roled, deactivated or reactivated
    whom, and when (migration 0004). `login` is the operator changed, not a foreign key, so
    the history outlives any row."""

    login = CharField(index=True)
    kind = CharField()  # added, role, deactivated, reactivated
    old_role = CharField(default="")
    new_role = CharField(default="")
    operator_login = CharField(default="")


class CustomerGroup(BaseModel):
    """A group of customers with a discount (basis points) or a named privilege."""

    name = CharField(unique=True)
    is_default = BooleanField(default=False)
    discount_bp = IntegerField(default=0)
    privilege = CharField(default="")


class Customer(BaseModel):
    """A registered customer; guests are never customers, only names on orders."""

    first_name = CharField(default="")
    last_name = CharField(default="")
    email = CharField(default="")
    email_key = CharField(null=True, unique=True)  # lower(email); NULL once erased
    phone = CharField(default="")
    language = CharField(default="en")
    status = CharField(default="active", index=True)  # active, pending, suspended, denied, deleted
    status_reason = TextField(default="")
    group = ForeignKeyField(CustomerGroup, null=True, backref="customers", on_delete="SET NULL")
    group_id: int | None  # the foreign key's column, declared for type checkers
    registered_at = DateTimeField(default=utcnow)
    marketing_consent = BooleanField(default=False)
    consent_at = DateTimeField(null=True)
    consent_source = CharField(default="")
    confirm_token = CharField(null=True, unique=True)
    confirmed_at = DateTimeField(null=True)
    erased_at = DateTimeField(null=True)
    version = IntegerField(default=1)
    updated_by = CharField(default="")
    search_text = TextField(default="")  # folded (store.folding); written by store.customers
    # Figures kept by every change that moves them (store.customer_figures), in the same
    # transaction: the customer's real (not test) orders, what they spent (paid minus
    # refunded, in the shop currency), their first and last order. `backroom check` holds
    # them to the orders.
    order_count = IntegerField(default=0)
    spent = IntegerField(default=0)
    first_order_at = DateTimeField(null=True)
    last_order_at = DateTimeField(null=True)


class Order(BaseModel):
    """An order as placed; its customer fields are copies so old orders never change."""

    number = IntegerField(unique=True)
    code = CharField(unique=True)
    customer = ForeignKeyField(Customer, null=True, backref="orders", on_delete="SET NULL")
    customer_id: int | None  # the foreign key's column, declared for type checkers
    customer_name = CharField(default="")
    customer_email = CharField(default="")
    customer_phone = CharField(default="")
    language = CharField(default="en")
    status = CharField(index=True)
    currency = CharField(max_length=3)
    subtotal = IntegerField(default=0)
    tax = IntegerField(default=0)
    shipping_cost = IntegerField(default=0)
    discount = IntegerField(default=0)
    total = IntegerField(default=0)
    payment_method = CharField(default="")
    payment_reference = CharField(default="")
    amount_paid = IntegerField(default=0)
    amount_refunded = IntegerField(default=0)
    shipping_method = CharField(default="")
    tracking_number = CharField(default="")
    carrier = CharField(default="")
    internal_reference = CharField(default="")
    # where an imported order came from ("shopify", "woocommerce") and its name there
    # ("#1001"): shown, searchable, and what makes an import idempotent (migration 0008)
    external_source = CharField(default="")
    external_reference = CharField(default="")
    # the order this one replaces at no charge (a lost or damaged parcel's; migration 0010)
    replaces = ForeignKeyField("self", null=True, backref="replacements", on_delete="SET NULL",
                               column_name="replaces_id")
    replaces_id: int | None  # the foreign key's column, declared for type checkers
    customer_note = TextField(default="")
    gift_message = TextField(default="")  # printed on the packing slip (migration 0006)
    item_count = IntegerField(default=0)
    placed_at = DateTimeField(default=utcnow, index=True)
    archived = BooleanField(default=False)
    is_test = BooleanField(default=False)
    version = IntegerField(default=1)
    updated_by = CharField(default="")

    class Meta:
        table_name = "orders"  # "order" is an SQL keyword; raw SQL stays readable


class OrderSearch(Model):
    """What free search matches of one order, folded (store.order_rows.search_text), in a
    table of its own (migration 0005): a status change or a payment rewrites the order's row,
    and on PostgreSQL every index of a rewritten row is written again, the trigram index
    too, when the text lives beside the status. `name` is the folded customer name, for the
    1-2 character prefix match."""

    order = ForeignKeyField(Order, primary_key=True, backref="search", on_delete="CASCADE")
    order_id: int  # the foreign key's column, declared for type checkers
    text = TextField(default="")
    name = TextField(default="")

    class Meta:
        database = db
        table_name = "order_search"


class Address(BaseModel):
    """A billing or shipping address, of a customer or copied onto one order."""

    customer = ForeignKeyField(Customer, null=True, backref="addresses", on_delete="CASCADE")
    customer_id: int | None  # the foreign key's column, declared for type checkers
    order = ForeignKeyField(Order, null=True, backref="addresses", on_delete="CASCADE")
    order_id: int | None  # the foreign key's column, declared for type checkers
    kind = CharField(default="shipping")  # billing, shipping
    first_name = CharField(default="")
    last_name = CharField(default="")
    company = CharField(default="")
    line1 = CharField(default="")
    line2 = CharField(default="")
    postcode = CharField(default="")
    city = CharField(default="")
    region = CharField(default="")
    country = CharField(default="", max_length=2)
    phone = CharField(default="")


class OrderItem(BaseModel):
    """One line of an order; tax_rate_bp is basis points (2000 = 20 %)."""

    order = ForeignKeyField(Order, backref="items", on_delete="CASCADE")
    order_id: int  # the foreign key's column, declared for type checkers
    sku = CharField(default="")
    name = CharField(default="")
    quantity = IntegerField(default=1)
    unit_price = IntegerField(default=0)
    tax_rate_bp = IntegerField(default=0)
    # The SKU and name folded as search folds them (store.folding.fold_item; migration 0018):
    # what `product:` compares and its trigram index holds. Written by the store with the
    # item; NULL only for an item written behind its back, which `backroom check` finds.
    folded = TextField(null=True)


class Payment(BaseModel):
    """Money in (kind payment) or out (kind refund) of an order."""

    order = ForeignKeyField(Order, backref="payments", on_delete="CASCADE")
    order_id: int  # the foreign key's column, declared for type checkers
    kind = CharField(default="payment")
    amount = IntegerField()
    currency = CharField(max_length=3)
    method = CharField(default="")
    reference = CharField(default="")
    reason = TextField(default="")
    operator_login = CharField(default="")


class OrderEvent(BaseModel):
    """Append-only history of an order: who did what and when."""

    order = ForeignKeyField(Order, backref="events", on_delete="CASCADE")
    order_id: int  # the foreign key's column, declared for type checkers
    kind = CharField()
    from_status = CharField(default="")
    to_status = CharField(default="")
    message = TextField(default="")
    data = TextField(default="{}")
    operator_login = CharField(default="")
    visible = BooleanField(default=False)
    batch = CharField(null=True, index=True)


class CustomerEvent(BaseModel):
    """Append-only history of a customer account."""

    customer = ForeignKeyField(Customer, backref="events", on_delete="CASCADE")
    customer_id: int  # the foreign key's column, declared for type checkers
    kind = CharField()
    message = TextField(default="")
    data = TextField(default="{}")
    operator_login = CharField(default="")


class Outbox(BaseModel):
    """A message to send, stored in the same transaction as the change it tells of."""

    kind = CharField()
    recipient = CharField(default="")
    language = CharField(default="en")
    payload = TextField(default="{}")
    idempotency_key = CharField(unique=True)
    state = CharField(default="queued", index=True)  # one of MAIL_STATES but held
    order = ForeignKeyField(Order, null=True, backref="mails", on_delete="SET NULL")
    order_id: int | None  # the foreign key's column, declared for type checkers
    customer = ForeignKeyField(Customer, null=True, backref="mails", on_delete="SET NULL")
    customer_id: int | None  # the foreign key's column, declared for type checkers
    batch = CharField(null=True, index=True)
    subject = CharField(default="")
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow, index=True)
    last_error = TextField(default="")
    lease_until = DateTimeField(null=True)
    lease_owner = CharField(default="")
    hold_until = DateTimeField(null=True)
    message_id = CharField(default="")
    sent_at = DateTimeField(null=True)


# "erased": the mail of a customer since erased, its recipient, subject and payload blanked
MAIL_STATES = ("queued", "held", "sending", "sent", "failed", "dead", "cancelled", "erased")


def mail_held(table: Any, now: dt.datetime) -> Expression:
    """A queued mail still inside its undo window: shown as "held", claimed by no worker.
    The one definition of held; `table` is Outbox or an alias of it."""
    return (table.state == "queued") & table.hold_until.is_null(False) & (table.hold_until > now)


def mail_shown_state(table: Any, now: dt.datetime) -> Case:
    """The state an operator sees: "held" for a held mail, else the stored state."""
    return Case(None, [(mail_held(table, now), "held")], table.state)


def shown_state(state: str, hold_until: dt.datetime | None, now: dt.datetime) -> str:
    """mail_shown_state for a row already read."""
    if state == "queued" and hold_until is not None and hold_until > now:
        return "held"
    return state


class WebhookEndpoint(BaseModel):
    """A URL that hears of the events it subscribes to, signed with its own secret (Standard
    Webhooks). While a secret is rotated the old one signs too, until `previous_until`. An
    endpoint is disabled (deliveries kept, none sent) when a delivery spends the retry
    schedule or the endpoint answers 410 Gone (migration 0008)."""

    url = TextField()
    events = TextField(default="")  # comma-separated event types
    description = CharField(default="")
    secret = CharField()
    previous_secret = CharField(default="")
    previous_until = DateTimeField(null=True)
    active = BooleanField(default=True)
    disabled_at = DateTimeField(null=True)
    disabled_reason = TextField(default="")
    created_by = CharField(default="")


class WebhookDelivery(BaseModel):
    """One event for one endpoint, written in the same transaction as the change it tells of,
    its payload as it was then; the state machine is store.webhook_outbox's alone."""

    endpoint = ForeignKeyField(WebhookEndpoint, backref="deliveries", on_delete="CASCADE")
    endpoint_id: int  # the foreign key's column, declared for type checkers
    event = CharField()
    message_id = CharField(unique=True)  # webhook-id: the same on every retry
    payload = TextField(default="{}")  # the event's data, as JSON
    state = CharField(default="queued", index=True)  # one of DELIVERY_STATES
    order = ForeignKeyField(Order, null=True, backref="webhook_deliveries", on_delete="SET NULL")
    order_id: int | None  # the foreign key's column, declared for type checkers
    customer = ForeignKeyField(Customer, null=True, backref="webhook_deliveries",
                               on_delete="SET NULL")
    customer_id: int | None  # the foreign key's column, declared for type checkers
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow, index=True)
    lease_until = DateTimeField(null=True)
    lease_owner = CharField(default="")
    last_status = IntegerField(default=0)  # the HTTP status of the last attempt, 0 for none
    last_error = TextField(default="")
    delivered_at = DateTimeField(null=True)


# delivered: a 2xx answer; failed: the retry schedule spent (or 410 Gone); cancelled: by
# an operator, or its endpoint removed
DELIVERY_STATES = ("queued", "sending", "delivered", "failed", "cancelled")


class Counter(BaseModel):
    """Named sequences (order numbers) advanced inside the writing transaction."""

    name = CharField(unique=True)
    value = IntegerField(default=0)


class Invoice(BaseModel):
    """An invoice or credit note as issued (migration 0006): its number in its series, unique
    and gapless (store.invoices), and `data`, the document frozen as JSON, so it prints the
    same at any time whatever changes on the order or in the config afterwards. Never updated
    or deleted; an order with one can only be a real order, which is never deleted."""

    kind = CharField()  # invoice, credit_note
    series = CharField()  # e.g. FA-2026: the counter row invoice:FA-2026 numbers it
    number = IntegerField()
    code = CharField(unique=True)  # FA-2026-00042
    order = ForeignKeyField(Order, backref="invoices", on_delete="RESTRICT")
    order_id: int  # the foreign key's column, declared for type checkers
    corrects = ForeignKeyField("self", null=True, backref="credit_notes", on_delete="RESTRICT")
    corrects_id: int | None  # the foreign key's column, declared for type checkers
    issued_at = DateTimeField()
    currency = CharField(max_length=3)
    total = IntegerField()
    data = TextField()
    operator_login = CharField(default="")

    class Meta:
        indexes = ((("series", "number"), True), (("order", "kind"), False))


class OrderLabel(BaseModel):
    """The carrier's label PDF of an order (one per order; a new one replaces it), its bytes
    kept in the database with the order (migration 0006)."""

    order = ForeignKeyField(Order, backref="labels", on_delete="CASCADE", unique=True)
    order_id: int  # the foreign key's column, declared for type checkers
    filename = CharField(default="")
    pages = IntegerField(default=1)
    size = IntegerField(default=0)
    data = BlobField()
    operator_login = CharField(default="")


class ApiKey(BaseModel):
    """A key an integration (the storefront, a till) calls the HTTP API with (migration 0007).
    Only the SHA-256 of its secret is kept; `key_id` is the public part that finds the row."""

    name = CharField(unique=True)
    key_id = CharField(unique=True)
    secret_sha256 = CharField()
    scopes = CharField(default="")  # comma-separated, see store.api_keys.SCOPES
    created_by = CharField(default="")
    revoked_at = DateTimeField(null=True)
    revoked_by = CharField(default="")

    class Meta:
        table_name = "api_key"


class IdempotencyRecord(BaseModel):
    """One Idempotency-Key of one API key (migration 0007): the request it was first used
    for (`fingerprint`), who holds it while that request runs (`claim`, `lease_until`), and
    the response to replay once it is done, written in the same transaction as the change."""

    created_at = DateTimeField(default=utcnow, index=True)  # records past web.idempotency_hours go
    api_key = ForeignKeyField(ApiKey, backref="idempotency", on_delete="CASCADE")
    api_key_id: int  # the foreign key's column, declared for type checkers
    key = CharField()
    fingerprint = CharField()
    state = CharField(default="started")  # started, done
    claim = CharField(default="")
    lease_until = DateTimeField(null=True)
    status_code = IntegerField(null=True)
    body = TextField(default="")

    class Meta:
        table_name = "idempotency_record"
        indexes = ((("api_key", "key"), True),)


class Heartbeat(BaseModel):
    """A delivery loop that is running, or ran (migration 0009): one row per worker process,
    its `beat_at` renewed every health.heartbeat_seconds, `stopped_at` set on a clean stop."""

    name = CharField(unique=True)  # the worker's lease owner: host:pid:random
    kind = CharField(default="worker")  # worker (`backroom worker`) or app (the TUI's loop)
    host = CharField(default="")
    pid = IntegerField(default=0)
    started_at = DateTimeField(default=utcnow)
    beat_at = DateTimeField(default=utcnow, index=True)
    stopped_at = DateTimeField(null=True)


class BackupRecord(BaseModel):
    """A backup `backroom backup` made (migration 0009): when, which file, how large. The
    status shows the age of the newest."""

    file = CharField(default="")
    bytes = IntegerField(default=0)
    seconds = FloatField(default=0)
    backend = CharField(default="")  # sqlite or postgresql
    operator_login = CharField(default="")


class OpsAlert(BaseModel):
    """An alert of the shop's health (migration 0009), keyed by what it is about (e.g.
    "mail_stuck"): `raised_at` is set while it lasts, so its mail goes once per episode."""

    key = CharField(unique=True)
    raised_at = DateTimeField(null=True)
    cleared_at = DateTimeField(null=True)
    detail = TextField(default="")


# ----- the newsletter (migration 0011) ---------------------------------------------------------

class Subscriber(BaseModel):
    """An address with its consent record: where it came from (SUBSCRIBER_SOURCES), when, and
    the wording or list it was given for; its state (SUBSCRIBER_STATES) and, once it left
    "subscribed", when and how. A customer's marketing consent is kept in step with the row
    of their address (store.subscribers)."""

    email = CharField(default="")
    email_key = CharField(null=True, unique=True)  # lower(email); NULL once erased
    first_name = CharField(default="")
    last_name = CharField(default="")
    language = CharField(default="en")
    customer = ForeignKeyField(Customer, null=True, backref="subscriptions",
                               on_delete="SET NULL")
    customer_id: int | None  # the foreign key's column, declared for type checkers
    state = CharField(default="subscribed", index=True)
    consent_source = CharField(default="")
    consent_at = DateTimeField(default=utcnow)
    consent_text = TextField(default="")
    confirmed_at = DateTimeField(null=True)  # double opt-in: when the link was followed
    state_at = DateTimeField(null=True)
    state_how = CharField(default="")
    # the campaign whose link unsubscribed them
    state_campaign = IntegerField(null=True, index=True)
    added_by = CharField(default="")
    # the address and name folded (store.subscribers.search_text): what the list's search reads
    search_text = TextField(default="")


SUBSCRIBER_STATES = ("pending", "subscribed", "unsubscribed", "bounced", "complained")
SUBSCRIBER_SOURCES = ("signup form", "checkout", "customer account", "import", "operator")


class Suppression(BaseModel):
    """An address no campaign goes to, whatever its consent: a complaint, a hard bounce, an
    operator's block. One row per address, with the reason and when (created_at)."""

    email_key = CharField(unique=True)
    reason = CharField()
    detail = TextField(default="")
    operator_login = CharField(default="")


class Campaign(BaseModel):
    """A newsletter: subject, sender, body (the built-in template around the operator's
    text, a custom HTML file, or plain text) and audience (a customer filter, or all
    subscribers); its state in CAMPAIGN_STATES. `queued_through` is the last subscriber id
    written as a recipient, so writing the recipients resumes after a crash."""

    name = CharField(unique=True)
    subject = CharField(default="")
    sender_name = CharField(default="")
    sender_email = CharField(default="")
    body_kind = CharField(default="template")  # template, html, text
    body = TextField(default="")
    text_body = TextField(default="")
    audience = CharField(default="")  # "" is every subscriber; else a customer filter
    state = CharField(default="draft", index=True)
    scheduled_at = DateTimeField(null=True)
    started_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)
    queued_through = IntegerField(default=0)
    queued_all = BooleanField(default=False)
    recipients = IntegerField(default=0)
    created_by = CharField(default="")
    updated_by = CharField(default="")
    version = IntegerField(default=1)
    track = BooleanField(default=False)  # opens and clicks recorded (opt-in per campaign)
    paused_reason = CharField(default="")  # why it paused itself ("" when an operator did)
    judged_from = DateTimeField(null=True)  # its rates judged from here (a resume moves it)
    # the subject A/B test: subject_b to half of a sample of ab_sample percent of the
    # audience, the winner (a or b) by ab_metric after ab_wait_minutes, then to the rest
    subject_b = CharField(default="")
    ab_sample = IntegerField(default=0)  # 0: no test
    ab_wait_minutes = IntegerField(default=0)
    ab_metric = CharField(default="")  # clicks, orders
    ab_winner = CharField(default="")
    ab_result = CharField(default="")  # the scores, as said


CAMPAIGN_STATES = ("draft", "scheduled", "sending", "paused", "sent", "cancelled")


class CampaignMail(BaseModel):
    """One recipient of one campaign (unique: never a second mail); its state machine is
    store.campaign_mail's alone."""

    campaign = ForeignKeyField(Campaign, backref="mails", on_delete="CASCADE")
    campaign_id: int  # the foreign key's column, declared for type checkers
    subscriber = ForeignKeyField(Subscriber, null=True, backref="campaign_mails",
                                 on_delete="SET NULL")
    subscriber_id: int | None  # the foreign key's column, declared for type checkers
    state = CharField(default="queued")  # one of CAMPAIGN_MAIL_STATES
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    lease_until = DateTimeField(null=True)
    lease_owner = CharField(default="")
    message_id = CharField(default="")
    sent_at = DateTimeField(null=True)
    last_error = TextField(default="")
    variant = CharField(default="")  # a or b: the subject it got in an A/B test

    class Meta:
        table_name = "campaign_mail"
        indexes = ((("campaign", "subscriber"), True),)


# skipped: no longer subscribed (or suppressed) when claimed; cancelled: the campaign was;
# waiting: outside an A/B test's sample, until its winner is chosen
CAMPAIGN_MAIL_STATES = ("queued", "sending", "sent", "failed", "skipped", "cancelled",
                        "waiting")


class CampaignEvent(BaseModel):
    """An open or a click of a tracked campaign mail (EVENT_KINDS); `machine` when a
    mail-privacy proxy or a link scanner made it (`why` says which rule): such events are
    shown apart and never counted as people."""

    campaign = ForeignKeyField(Campaign, backref="events", on_delete="CASCADE", index=False)
    campaign_id: int  # the foreign key's column, declared for type checkers
    mail = ForeignKeyField(CampaignMail, backref="events", on_delete="CASCADE",
                           column_name="mail_id")
    mail_id: int  # the foreign key's column, declared for type checkers
    kind = CharField()  # open, click
    link = IntegerField(default=-1)  # a click: which link of the body (its index)
    machine = BooleanField(default=False)
    why = CharField(default="")

    class Meta:
        table_name = "campaign_event"
        # a report counts a campaign's events from this index alone (no table reads)
        indexes = ((("campaign", "kind", "machine", "mail", "created_at"), False),)


EVENT_KINDS = ("open", "click")


class Bounce(BaseModel):
    """A bounce or a complaint read from a mailbox (a DSN, RFC 3464; an ARF report, RFC 5965):
    one row per report and address, so reading a mailbox again counts nothing twice; the
    campaign and its mail when the report names them."""

    email_key = CharField()
    kind = CharField()  # hard, soft, complaint
    status = CharField(default="")  # the DSN's Status (5.1.1), or the feedback type
    campaign = IntegerField(null=True, column_name="campaign_id")
    mail = IntegerField(null=True, column_name="mail_id")
    report_key = CharField()  # the report's Message-ID, or a digest of its bytes
    detail = TextField(default="")

    class Meta:
        table_name = "bounce"
        indexes = ((("report_key", "email_key"), True), (("email_key", "created_at"), False),
                   (("campaign", "kind"), False))


BOUNCE_KINDS = ("hard", "soft", "complaint")


class SendRate(BaseModel):
    """The shop-wide token bucket of campaign sending (one row, "campaigns"): every worker
    takes its sends from it in the claim's transaction, so the rate is the same whatever the
    number of workers; `blocked_until` holds all of them back after a 421 or 4.7.x."""

    name = CharField(unique=True)
    tokens = FloatField(default=0)
    refilled_at = DateTimeField(default=utcnow)
    blocked_until = DateTimeField(null=True)
    backoff_seconds = FloatField(default=0)

    class Meta:
        table_name = "send_rate"


ALL_MODELS: list[type[Model]] = [
    Operator, OperatorEvent, CustomerGroup, Customer, Order, OrderSearch, Address, OrderItem,
    Payment, OrderEvent, CustomerEvent, Outbox, Counter, Invoice, OrderLabel, ApiKey,
    IdempotencyRecord, WebhookEndpoint, WebhookDelivery, Heartbeat, BackupRecord, OpsAlert,
    Subscriber, Suppression, Campaign, CampaignMail, SendRate, CampaignEvent, Bounce,
]
