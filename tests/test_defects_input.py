"""Issue 11, the input points: addresses that are not what they seem (5), terminal escapes
(7), who may read the shop (8), refusals that were tracebacks (12), settings checked when the
config loads (13), a database from a newer backroom (14), words with a colon (16), test
orders and the Mail column (21), deactivating operators (22). Real SQLite files and the
PostgreSQL server, aiosmtpd on loopback, the command line through click."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from aiosmtpd.controller import Controller
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailer.worker import deliver_once
from store import config as configmod
from store import customer_queries as cq
from store import customers, operators, orders, payments, queries, status, undo
from store import db as dbmod
from store.codes import parse_code
from store.errors import (
    BackroomError,
    ConfigError,
    DatabaseError,
    PermissionDenied,
    UnknownOperator,
    ValidationError,
)
from store.models import (
    ALL_MODELS,
    Address,
    Customer,
    CustomerGroup,
    Order,
    OrderEvent,
    Outbox,
    db,
)
from store.money import parse_amount, parse_percent
from store.operators import STOREFRONT, Actor
from store.orders import ItemInput
from store.queries import QueueFilter, parse_filter
from store.shop import Shop, open_shop
from store.text import clean, printable
from store.workflow import DEFAULT
from tests.conftest import OWNER, cli_config, make_config
from tests.factories import ADDRESS, place
from tests.mail_server import Recorder, free_port
from tui.cli import main

ESC_TITLE = "Ann\x1b]0;PWNED\x07"
ESC_CLEAR = "X\x1b[2J"


def counts() -> dict[str, int]:
    """Rows per table: "changed nothing" is these staying the same."""
    return {m._meta.table_name: m.select().count() for m in ALL_MODELS}


@pytest.fixture
def run(shop: Shop, admin: Actor, tmp_path: Path, db_url: str) -> Callable[..., Result]:
    """`backroom ARGS` as LOGIN (ada by default) on the test database, with this process as a
    service account, as the shared SSH account is."""
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(cli_config(db_url)), encoding="utf-8")

    def invoke(*args: str, login: str | None = "ada", config: Path | None = None) -> Result:
        result = CliRunner().invoke(main, ["--config", str(config or path), *args],
                                    env={"BACKROOM_OPERATOR": login})
        assert not isinstance(result.exception, AssertionError)
        return result

    return invoke


@pytest.fixture
def as_owner(shop: Shop, admin: Actor, tmp_path: Path, db_url: str) -> Callable[..., Result]:
    """`backroom ARGS` as the owner of this process, with a plain config (no service
    account): who runs a command when no one says otherwise."""
    path = tmp_path / "plain.toml"
    path.write_text(tomli_w.dumps({"database": {"url": db_url}}), encoding="utf-8")

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, ["--config", str(path), *args],
                                  env={"BACKROOM_OPERATOR": None, "USER": OWNER,
                                       "LOGNAME": OWNER})

    return invoke


def one_line_refusal(result: Result, *words: str) -> None:
    """Exit 1 and one line `backroom: ...`, no traceback, naming what was wrong."""
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("backroom: "), result.output
    for word in words:
        assert word in lines[0], lines[0]


# ----- 5: addresses that are not what they seem -------------------------------------------------

HIDING = ["x<attacker@evil.com>y.z", "Ann <ann@example.com>", "ann@example.com, eve@evil.com",
          "ann@example.com\r\nBcc: eve@evil.com", "ctl1\x07x@example.com", '"a b"@example.com',
          "ann@[127.0.0.1]"]


@pytest.mark.parametrize("email", HIDING)
def test_an_address_that_hides_another_is_refused_by_every_service(
        shop: Shop, manager: Actor, email: str) -> None:
    ann = customers.create_customer(shop, manager, email="ann@example.com", first_name="Ann",
                                    last_name="Smith")
    ref = place(shop)
    before = counts()
    attempts: list[Callable[[], object]] = [
        lambda: customers.create_customer(shop, manager, email=email, first_name="X",
                                          last_name="Y"),
        lambda: customers.edit_customer(shop, manager, ann.id, {"email": email}),
        lambda: place(shop, email=email),
        lambda: orders.edit_contact(shop, manager, ref.id, email=email),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError) as err:
            attempt()
        assert err.value.field in ("email", "guest_email")
    assert counts() == before
    assert Customer.get_by_id(ann.id).email == "ann@example.com"
    assert Order.get_by_id(ref.id).customer_email == "ann@example.com"


def test_an_address_beyond_ascii_needs_a_relay_with_smtputf8(shop: Shop, manager: Actor,
                                                             db_url: str) -> None:
    with pytest.raises(ValidationError, match="SMTPUTF8") as err:
        customers.create_customer(shop, manager, email="ŁukaszŻółć@example.com",
                                  first_name="Łukasz", last_name="Żółć")
    assert "smtp.smtputf8" in str(err.value) and err.value.field == "email"
    with pytest.raises(ValidationError, match="SMTPUTF8"):
        place(shop, email="zoé@example.fr")
    # a domain beyond ASCII is stored in its IDNA form, which every relay takes
    ref = customers.create_customer(shop, manager, email="ann@exämple.com", first_name="Ann",
                                    last_name="B")
    assert ref.email == "ann@xn--exmple-cua.com"
    utf8 = open_shop(make_config(db_url, smtp={"smtputf8": True}))
    lukasz = customers.create_customer(utf8, manager, email="ŁukaszŻółć@example.com",
                                       first_name="Łukasz", last_name="Żółć")
    assert Customer.get_by_id(lukasz.id).email == "ŁukaszŻółć@example.com"


def test_shop_email_and_admin_emails_use_the_same_check() -> None:
    for section in ({"email": "x<attacker@evil.com>y.z"},
                    {"admin_emails": ["boss@example.com", "Boss <boss@example.com>"]},
                    {"email": "łukasz@example.com"}):
        with pytest.raises(ConfigError, match=r"^test: shop\.(email|admin_emails) must be"):
            make_config("sqlite:///x.db", shop=section)
    config = make_config("sqlite:///x.db", shop={"email": "shop@exämple.com",
                                                 "admin_emails": ["Boss@Exämple.com"]})
    assert config.get("shop", "email") == "shop@xn--exmple-cua.com"  # as relays take it
    assert config.get("shop", "admin_emails") == ["Boss@xn--exmple-cua.com"]


class Utf8Recorder(Recorder):
    """Records, with each message, whether its MAIL FROM asked for SMTPUTF8."""

    def __init__(self) -> None:
        super().__init__()
        self.smtputf8: list[tuple[list[str], bool]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.smtputf8.append((list(envelope.rcpt_tos), bool(envelope.smtp_utf8)))
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def utf8_relay() -> Iterator[tuple[Controller, Utf8Recorder]]:
    handler = Utf8Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(),
                            server_hostname="mail.test", enable_SMTPUTF8=True)
    controller.start()
    yield controller, handler
    controller.stop()


def test_an_address_beyond_ascii_is_sent_with_smtputf8(
        db_url: str, utf8_relay: tuple[Controller, Utf8Recorder]) -> None:
    controller, handler = utf8_relay
    config = make_config(db_url, smtp={"port": controller.port, "smtputf8": True},
                         mail={"backoff_seconds": 0})
    shop = open_shop(config)
    place(shop, email="ŁukaszŻółć@example.com")
    place(shop, email="bob@example.com")
    deliver_once(config)
    assert {m.state for m in Outbox.select()} == {"sent"}
    sent = dict(((tuple(rcpts), utf8) for rcpts, utf8 in handler.smtputf8))
    assert sent[("ŁukaszŻółć@example.com",)] is True
    assert sent[("bob@example.com",)] is False  # plain addresses go as before
    [message] = [m for m in handler.received if "example.com" in str(m["To"])
                 and "Łukasz" in str(m["To"])]
    assert str(message["To"]) == "ŁukaszŻółć@example.com"


def test_a_relay_without_smtputf8_fails_that_mail_alone(db_url: str) -> None:
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(),
                            enable_SMTPUTF8=False)
    controller.start()
    try:
        config = make_config(db_url, smtp={"port": controller.port, "smtputf8": True},
                             mail={"backoff_seconds": 0})
        shop = open_shop(config)
        place(shop, email="zoé@example.fr")
        place(shop, email="bob@example.com")
        deliver_once(config)
    finally:
        controller.stop()
    zoe = Outbox.get(Outbox.recipient == "zoé@example.fr")
    assert zoe.state == "failed" and "SMTPUTF8" in zoe.last_error
    assert Outbox.select().where(Outbox.state == "sent").count() == Outbox.select().count() - 1


# ----- 7: terminal escape injection ------------------------------------------------------------

def _refusals(shop: Shop, admin: Actor, bad: str) -> dict[str, Callable[[], object]]:
    """Every service that takes text, given `bad` in one field."""
    ann = customers.create_customer(shop, admin, email="ann@example.com", first_name="Ann",
                                    last_name="Smith")
    group = customers.create_group(shop, admin, "Regulars")
    ref = place(shop)
    status.change_status(shop, admin, [ref.id], "paid")
    unpaid = place(shop)
    item = ItemInput("SKU-1", "Mug", 1, 1000)
    return {
        "first_name": lambda: customers.create_customer(
            shop, admin, email="b@example.com", first_name=bad, last_name="B"),
        "last_name": lambda: customers.edit_customer(shop, admin, ann.id, {"last_name": bad}),
        "phone": lambda: customers.edit_customer(shop, admin, ann.id, {"phone": bad}),
        "reason": lambda: customers.suspend(shop, admin, ann.id, bad),
        "city": lambda: customers.set_address(shop, admin, ann.id, "billing",
                                              dict(ADDRESS, city=bad)),
        "subject": lambda: customers.send_one_off(shop, admin, ann.id, bad, "Hello"),
        "name": lambda: customers.create_group(shop, admin, bad),
        "privilege": lambda: customers.edit_group(shop, admin, group, privilege=bad),
        "guest_name": lambda: place(shop, name=bad),
        "sku": lambda: orders.place_order(shop, STOREFRONT, items=[ItemInput(bad, "Mug", 1, 1)],
                                          guest_name="G", guest_email="g@example.com"),
        "item_name": lambda: orders.place_order(
            shop, STOREFRONT, items=[ItemInput("S", bad, 1, 1)], guest_name="G",
            guest_email="g@example.com"),
        "line1": lambda: orders.place_order(
            shop, STOREFRONT, items=[item], guest_name="G", guest_email="g@example.com",
            shipping_address=dict(ADDRESS, line1=bad)),
        "tracking": lambda: orders.set_tracking(shop, admin, ref.id, bad),
        "reference": lambda: orders.set_reference(shop, admin, ref.id, bad),
        "postcode": lambda: orders.edit_address(shop, admin, ref.id, "shipping",
                                                {"postcode": bad}),
        "order_name": lambda: orders.edit_contact(shop, admin, ref.id, name=bad),
        "refund_reason": lambda: payments.refund(shop, admin, ref.id, 100, bad),
        "payment_reference": lambda: payments.record_payment(
            shop, admin, unpaid.id, 100, reference=bad),
        "status_tracking": lambda: status.change_status(shop, admin, [ref.id], "shipped",
                                                        tracking=bad),
        "login": lambda: operators.add(admin, bad, "clerk"),
    }


@pytest.mark.parametrize("bad", [ESC_TITLE, ESC_CLEAR, "tab\there", "line\nbreak",
                                 "csi\x9b2J", "del\x7f"])
def test_control_characters_are_refused_in_every_text_field(shop: Shop, admin: Actor,
                                                            bad: str) -> None:
    attempts = _refusals(shop, admin, bad)
    before = counts()
    for name, attempt in attempts.items():
        with pytest.raises(ValidationError, match="contains") as err:
            attempt()
        assert err.value.field, name
    assert counts() == before


def test_a_pasted_page_is_refused_in_every_text_field_saying_how_long(shop: Shop,
                                                                       admin: Actor) -> None:
    """A 10,000-character name (a paste gone wrong, or a hostile storefront) is refused with
    its length and the field's limit, not stored to be cut by every screen and slip."""
    attempts = _refusals(shop, admin, "Żółć" * 2_500)
    before = counts()
    for name, attempt in attempts.items():
        with pytest.raises(ValidationError, match="10,000 characters long; at most 1,000") \
                as err:
            attempt()
        assert err.value.field, name
    assert counts() == before
    ann = Customer.get(Customer.email == "ann@example.com")
    customers.add_note(shop, admin, ann.id, "ok\n" * 5_000)  # a note may run to pages
    with pytest.raises(ValidationError, match="at most 50,000"):
        customers.add_note(shop, admin, ann.id, "x" * 50_001)


def test_multi_line_fields_keep_their_line_breaks_and_nothing_else(shop: Shop,
                                                                   admin: Actor) -> None:
    ann = customers.create_customer(shop, admin, email="ann@example.com", first_name="Ann",
                                    last_name="Smith")
    ref = place(shop, customer_note="ring twice\r\nthen wait")
    assert Order.get_by_id(ref.id).customer_note == "ring twice\nthen wait"
    orders.add_note(shop, admin, ref.id, "called\nno answer")
    customers.add_note(shop, admin, ann.id, "VIP\nprefers mail")
    customers.send_one_off(shop, admin, ann.id, "Hello", "Dear Ann,\nthanks")
    status.change_status(shop, admin, [ref.id], "paid", note="paid by phone\nref 12")
    assert OrderEvent.get(OrderEvent.kind == "note").message == "called\nno answer"
    for multi in (lambda: orders.add_note(shop, admin, ref.id, f"x{ESC_CLEAR}"),
                  lambda: customers.add_note(shop, admin, ann.id, ESC_TITLE),
                  lambda: customers.send_one_off(shop, admin, ann.id, "Hi", ESC_CLEAR),
                  lambda: status.change_status(shop, admin, [ref.id], "shipped",
                                               tracking="T1", note=ESC_TITLE)):
        with pytest.raises(ValidationError, match="contains"):
            multi()


def test_clean_and_printable() -> None:
    assert clean("  Ann  ", "first_name") == "Ann"
    with pytest.raises(ValidationError, match=r"first name contains an escape") as err:
        clean(ESC_TITLE, "first_name")
    assert err.value.field == "first_name"
    assert printable(ESC_TITLE) == "Ann\\x1b]0;PWNED\\x07"
    assert printable("a\nb") == "a\\x0ab" and printable("a\nb", multiline=True) == "a\nb"
    assert printable("csi\x9b2J") == "csi\\x9b2J" and printable("Zoë Øster") == "Zoë Øster"
    assert printable(None) == "" and printable(12) == "12"


def test_the_command_line_never_prints_raw_escapes(shop: Shop, admin: Actor,
                                                   as_owner: Callable[..., Result]) -> None:
    """Rows written before the check (or by another program) still hold escapes: list, show,
    CSV and JSON show them as visible escapes."""
    operators.ensure_admin(OWNER)
    run = as_owner
    ann = customers.create_customer(shop, admin, email="ann@example.com", first_name="Ann",
                                    last_name="Smith")
    ref = place(shop, customer_id=ann.id)
    Customer.update(first_name=ESC_TITLE, last_name=ESC_CLEAR).where(
        Customer.id == ann.id).execute()
    Order.update(customer_name=f"{ESC_TITLE} {ESC_CLEAR}", internal_reference="r\x9b2J").where(
        Order.id == ref.id).execute()
    Address.update(city=ESC_CLEAR).where(Address.order == ref.id).execute()
    OrderEvent.update(message=ESC_TITLE).where(OrderEvent.order == ref.id).execute()
    outputs = [run("customers", "show", str(ann.id)), run("customers", "list"),
               run("customers", "list", "--format", "csv"),
               run("customers", "show", str(ann.id), "--format", "json"),
               run("orders", "show", ref.code), run("orders", "list"),
               run("orders", "list", "--format", "csv"),
               run("orders", "list", "--format", "json"),
               run("orders", "show", ref.code, "--format", "json")]
    for result in outputs:
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output and "\x07" not in result.output
        assert "\x9b" not in result.output
    assert "Ann\\x1b]0;PWNED\\x07" in outputs[0].output
    assert json.loads(outputs[3].output)["first_name"] == ESC_TITLE  # JSON keeps the data


# ----- 8: who may read the shop ----------------------------------------------------------------

COMMANDS_THAT_READ = (["orders", "list", "--format", "csv"], ["orders", "show", "{code}"],
                     ["outbox", "list"], ["customers", "list"], ["groups", "list"],
                     ["worker", "--once"], ["operator", "list"])


def test_a_login_that_is_not_an_operator_reads_nothing(shop: Shop, admin: Actor,
                                                       as_owner: Callable[..., Result]) -> None:
    """The owner of this process is not an operator of this shop (ada is)."""
    code = place(shop, email="ann@example.com").code
    for args in COMMANDS_THAT_READ:
        result = as_owner(*[a.format(code=code) for a in args])
        one_line_refusal(result, f"{OWNER} is not an operator of this shop")
    one_line_refusal(as_owner("migrate"), f"{OWNER} is not an admin",
                     "only an admin may run `backroom migrate`")
    assert Outbox.select().where(Outbox.state == "sent").count() == 0  # the worker sent none


def test_an_unknown_operator_named_by_a_service_account_reads_nothing(
        shop: Shop, admin: Actor, run: Callable[..., Result]) -> None:
    code = place(shop, email="ann@example.com").code
    for args in COMMANDS_THAT_READ:
        one_line_refusal(run(*[a.format(code=code) for a in args], login="unknown"),
                         "unknown is not an operator of this shop")
    one_line_refusal(run("migrate", login="unknown"), "only an admin may run `backroom migrate`")
    assert run("orders", "list", login="ada").exit_code == 0


def test_a_shop_opened_for_a_login_resolves_it_at_once(config: configmod.Config,
                                                       shop: Shop, admin: Actor) -> None:
    assert open_shop(config, "ada").operator == admin
    with pytest.raises(UnknownOperator, match="stranger is not an operator"):
        open_shop(config, "stranger")
    with pytest.raises(UnknownOperator):
        open_shop(config).require_operator()


def test_backroom_operator_is_taken_only_from_a_service_account(
        shop: Shop, admin: Actor, run: Callable[..., Result], tmp_path: Path,
        db_url: str) -> None:
    plain = tmp_path / "plain.toml"
    plain.write_text(tomli_w.dumps({"database": {"url": db_url}}))
    result = run("orders", "list", login="ada", config=plain)
    one_line_refusal(result, "$BACKROOM_OPERATOR=ada is set", f"runs as {OWNER}",
                     "operators.service_accounts")
    # without it, the operator is the owner of the process, whatever $USER says
    result = CliRunner().invoke(main, ["--config", str(plain), "orders", "list"],
                                env={"BACKROOM_OPERATOR": None, "USER": "ada", "LOGNAME": "ada"})
    one_line_refusal(result, f"{OWNER} is not an operator")


def test_the_worker_runs_as_a_service_account(shop: Shop, admin: Actor,
                                              run: Callable[..., Result], tmp_path: Path,
                                              db_url: str) -> None:
    port = free_port()
    worker = tmp_path / "worker.toml"
    worker.write_text(tomli_w.dumps(cli_config(db_url, smtp={"port": port})))
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        place(shop)
        result = run("worker", "--once", login=None, config=worker)
    finally:
        controller.stop()
    assert result.exit_code == 0, result.output
    assert "sent" in result.output and handler.received


# ----- 12: refusals that were tracebacks -------------------------------------------------------

NINES = "9" * 5000


@pytest.mark.parametrize(("args", "words"), [
    (["orders", "list", "--search", "placed:9999-12-31"], ["'placed:9999-12-31'", "earlier"]),
    (["orders", "list", "--search", "customer:²"], ["'customer:²'", "customer's number"]),
    (["orders", "list", "--search", "customer:" + "1" * 23], ["customer's number"]),
    (["orders", "show", "BR-1000000000000000000007"], ["longer than any order code"]),
    (["groups", "add", "g", "--discount", "inf"], ["'inf' is not a percentage"]),
    (["groups", "add", "g", "--discount", "nan"], ["'nan' is not a percentage"]),
    (["groups", "add", "g", "--discount", "1e309"], ["'1e309' is not a percentage"]),
    (["orders", "refund", "{code}", NINES, "--reason", "x"], ["too large an amount"]),
    (["customers", "export", "{customer}", "--out", "/proc/nonexistent"],
     ["cannot write the export to /proc/nonexistent"]),
    (["customers", "show", "²"], ["no customer"]),
    (["customers", "show", "1" * 30], ["no customer with id"]),
])
def test_a_mistake_is_one_line_and_changes_nothing(shop: Shop, admin: Actor,
                                                   as_owner: Callable[..., Result],
                                                   args: list[str], words: list[str]) -> None:
    operators.ensure_admin(OWNER)
    ref = place(shop)
    status.change_status(shop, admin, [ref.id], "paid")
    ann = customers.create_customer(shop, admin, email="ann@example.com", first_name="Ann",
                                    last_name="S")
    before = counts()
    filled = [a.format(code=ref.code, customer=ann.id) if "{" in a else a for a in args]
    one_line_refusal(as_owner(*filled), *words)
    assert counts() == before


@pytest.mark.parametrize("url", ["postgresql://postgres@127.0.0.1:99999/test",
                                 "postgresql://[::1/x", "postgresql://u:secret@[::1/x"])
def test_a_database_url_that_cannot_be_read_is_one_line(url: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["--database", url, "orders", "list"],
                                env={"BACKROOM_OPERATOR": None, "BACKROOM_CONFIG": None})
    one_line_refusal(result, "not a database URL we can read")
    assert "secret" not in result.output


@pytest.mark.parametrize(("text", "words"), [
    (b'[shop]\nname = "\xff\xfe"\n', ["not UTF-8 text"]),
    (b"[workflow.statuses.a]\ninitial = true\nrequires = 5\n",
     ["workflow.statuses.a.requires must be a list"]),
])
def test_a_broken_config_file_is_one_line(text: bytes, words: list[str], tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(text)
    result = CliRunner().invoke(main, ["--config", str(path), "orders", "list"],
                                env={"BACKROOM_OPERATOR": None})
    one_line_refusal(result, str(path), *words)


def _read_only(path: Path) -> Callable[[], None]:
    """Make a file read-only even for root (immutable), or skip; returns the undo."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        path.parent.chmod(0o555)
        return lambda: (path.parent.chmod(0o755), path.chmod(0o644))
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot make a file read-only for root here: {made.stderr!r}")
    return lambda: subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_write_to_a_read_only_database_file_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    url = f"sqlite:///{folder / 'shop.db'}"
    shop = open_shop(make_config(url))
    operators.ensure_admin(OWNER)
    place(shop)
    dbmod.close()  # the last connection checkpoints the WAL into the file
    undo_read_only = _read_only(folder / "shop.db")
    try:
        result = CliRunner().invoke(main, ["--database", url, "groups", "add", "g"],
                                    env={"BACKROOM_OPERATOR": None})
    finally:
        dbmod.close()
        undo_read_only()
    one_line_refusal(result, "read-only")
    open_shop(make_config(url))
    assert CustomerGroup.select().count() == 0 and Order.select().count() == 1
    dbmod.close()


def test_a_full_disk_during_a_bulk_change_is_a_refusal_and_changes_nothing(
        sqlite_url: str) -> None:
    shop = open_shop(make_config(sqlite_url))
    try:
        admin = operators.ensure_admin("ada")
        ids = [place(shop, total_items=2).id for _ in range(300)]
        before = counts()
        (pages,) = db.execute_sql("PRAGMA page_count").fetchone()
        db.execute_sql(f"PRAGMA max_page_count = {pages}")  # SQLITE_FULL at the next page
        with pytest.raises(DatabaseError, match="disk holding the database is full") as err:
            status.change_status(shop, admin, ids, "paid")
        assert "\n" not in str(err.value)
        db.execute_sql("PRAGMA max_page_count = 1073741823")
        assert counts() == before
        assert {o.status for o in Order.select()} == {"awaiting_payment"}
    finally:
        dbmod.close()


def test_a_read_only_postgresql_session_is_a_refusal(shop: Shop, admin: Actor,
                                                     db_url: str) -> None:
    if dbmod.is_sqlite():
        db.execute_sql("PRAGMA query_only = 1")
    else:
        db.execute_sql("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    try:
        with pytest.raises(DatabaseError, match="read-only"):
            customers.create_group(shop, admin, "Regulars")
    finally:
        if dbmod.is_sqlite():
            db.execute_sql("PRAGMA query_only = 0")
        else:
            db.execute_sql("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")
    assert CustomerGroup.select().count() == 0


def test_driver_errors_that_say_the_database_cannot_work_become_store_errors(
        tmp_path: Path) -> None:
    """store.db.store_error, which the store's databases and the command line's last resort
    use: a driver error of the database's state is a refusal, a mistake in SQL stays a bug."""
    import sqlite3

    from store.db import store_error

    raw = sqlite3.connect(tmp_path / "raw.db")
    raw.execute("CREATE TABLE t (x)")
    raw.execute("PRAGMA query_only = 1")
    with pytest.raises(sqlite3.OperationalError) as read_only:
        raw.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError) as no_table:
        raw.execute("SELECT * FROM nothing")
    raw.close()
    error = store_error(read_only.value)
    assert isinstance(error, DatabaseError) and "read-only" in str(error)
    assert store_error(no_table.value) is None
    assert isinstance(store_error(OverflowError("Python int too large")), ValidationError)
    assert store_error(ValueError("a bug")) is None


_printable = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
_tokens = st.lists(
    st.one_of(_printable,
              st.builds(lambda k, v: f"{k}:{v}",
                        st.sampled_from(["status", "placed", "sku", "product", "pay",
                                         "customer", "archived", "test", "sort", "group",
                                         "segment", "seg", "http", "x"]),
                        st.one_of(_printable, st.from_regex(r"[<>=.\d-]{0,25}", fullmatch=True),
                                  st.sampled_from(["9999-12-31", "0001-01-01", "²", "1" * 23,
                                                   ">=9999-12", "today..9999-12-31"])))),
    max_size=5).map(" ".join)


@pytest.fixture
def sqlite_shop(sqlite_url: str) -> Iterator[Shop]:
    """A small real SQLite shop: real and test orders, a customer, a group."""
    shop = open_shop(make_config(sqlite_url))
    admin = operators.ensure_admin("ada")
    customers.create_group(shop, admin, "Big spenders")
    ann = customers.create_customer(shop, admin, email="ann@example.com", first_name="Ann",
                                    last_name="Smith")
    for i in range(6):
        place(shop, is_test=i == 5, **({"customer_id": ann.id} if i % 2 else {}))
    yield shop
    dbmod.close()


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=st.one_of(_printable, _tokens))
def test_parsers_give_a_result_or_a_store_error(sqlite_shop: Shop, text: str) -> None:
    """Whatever is typed: a result or a store error, never anything else; and a parsed order
    filter can be run on a real shop."""
    try:
        f = parse_filter(text, DEFAULT)
    except BackroomError:
        pass
    else:
        try:
            queries.queue_page(f, limit=5)
            queries.status_counts(f)
        except BackroomError:
            pass
    for parse in (cq.parse_customer_filter, lambda t: parse_amount(t, "EUR"),
                  lambda t: parse_amount(t, "JPY"), lambda t: parse_code(t, "BR"),
                  parse_percent, cq.resolve_customer):
        try:
            parse(text)
        except BackroomError:
            pass


def test_huge_numbers_are_refused_by_the_parsers() -> None:
    with pytest.raises(ValidationError, match="too large"):
        parse_amount(NINES, "EUR")
    with pytest.raises(ValidationError, match="too large"):
        parse_amount("92233720368547758.08", "EUR")
    assert parse_amount("92233720368547758.07", "EUR") == 2**63 - 1
    with pytest.raises(ValidationError, match="longer than any order code"):
        parse_code("BR-1000000000000000000007", "BR")
    assert parse_percent("7.5") == 750 and parse_percent("100 %") == 10000
    for bad in ("inf", "nan", "1e309", "-5", "100.01", "7.555"):
        with pytest.raises(ValidationError):
            parse_percent(bad)


# ----- 13: settings checked when the config loads ----------------------------------------------

WORKFLOW = {"statuses": {"new": {"initial": True, "next": ["done"], "hotkey": "n"},
                         "done": {"final": True, "hotkey": "d"}}}


def _workflow(**status: Any) -> dict[str, Any]:
    table = json.loads(json.dumps(WORKFLOW))
    table["statuses"]["new"].update(status)
    return {"workflow": table}


@pytest.mark.parametrize(("raw", "words"), [
    (_workflow(colour="not a colour"), ["workflow.statuses.new.colour must be a colour"]),
    (_workflow(initial="false"), ["workflow.statuses.new.initial must be true or false"]),
    (_workflow(hotkey="ab"), ["workflow.statuses.new.hotkey must be one character"]),
    (_workflow(requires=5), ["workflow.statuses.new.requires must be a list"]),
    (_workflow(label=7), ["workflow.statuses.new.label must be a string"]),
    (_workflow(final="yes"), ["workflow.statuses.new.final must be true or false"]),
    ({"workflow": {"statuses": {"on-hold": {"initial": True}}}}, ["status key is letters"]),
    ({"shop": {"order_prefix": "B-R"}}, ["shop.order_prefix must be up to 8 letters"]),
    ({"shop": {"order_prefix": "BR1"}}, ["shop.order_prefix"]),
    ({"ui": {"page_size": 0}}, ["ui.page_size must be a number from 1 to 5000"]),
    ({"ui": {"page_size": -10}}, ["ui.page_size must be a number from 1 to 5000"]),
    ({"ui": {"page_size": 2**63 - 1}}, ["ui.page_size must be a number from 1 to 5000"]),
    ({"smtp": {"port": 99999}}, ["smtp.port must be a number from 1 to 65535"]),
    ({"mail": {"poll_seconds": float("nan")}}, ["mail.poll_seconds must be a number"]),
    ({"mail": {"poll_seconds": float("inf")}}, ["mail.poll_seconds must be a number"]),
    ({"shop": {"currency": "EURO"}}, ["shop.currency must be an ISO 4217 currency code"]),
    ({"shop": {"language": "de"}}, ["shop.language must be en or fr"]),
    ({"shop": {"storefront_url": "shop.example.com"}}, ["shop.storefront_url must be an http"]),
    ({"shop": {"name": "My\x1b]0;x\x07Shop"}}, ["shop.name must be text without control"]),
    ({"operators": {"service_accounts": ["back room"]}},
     ["operators.service_accounts must be a list of account names"]),
    ({"database": {"url": "mysql://x"}}, ["database.url must be empty, sqlite:///"]),
])
def test_every_setting_is_checked_when_the_config_loads(tmp_path: Path, raw: dict[str, Any],
                                                        words: list[str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        workflow_of(configmod.load(str(path), environ={}))
    assert str(err.value).startswith(f"{path}: ")
    for word in words:
        assert word in str(err.value)


def workflow_of(config: configmod.Config) -> object:
    """The workflow is checked when a shop opens (store.workflow.from_config)."""
    from store.workflow import from_config

    return from_config(config.workflow, config.source)


def test_a_correct_workflow_and_settings_still_load(tmp_path: Path) -> None:
    raw = {**_workflow(colour="#ff8800", label="New", hotkey="n", mail="", requires=[]),
           "shop": {"order_prefix": "SHOP", "admin_emails": ["boss@example.com"]},
           "ui": {"page_size": 5000}, "mail": {"poll_seconds": 1}}
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    config = configmod.load(str(path), environ={})
    workflow = workflow_of(config)
    assert config.get("ui", "page_size") == 5000 and workflow is not None


# ----- 14: a database from a newer backroom ----------------------------------------------------

def test_a_database_from_a_newer_backroom_is_refused(own_db_url: str, tmp_path: Path) -> None:
    open_shop(make_config(own_db_url))
    operators.ensure_admin("ada")
    db.execute_sql("INSERT INTO schema_migration (name, applied) VALUES "
                   "('0099_future_things', CURRENT_TIMESTAMP)")
    dbmod.close()
    with pytest.raises(DatabaseError, match="0099_future_things") as err:
        open_shop(make_config(own_db_url))
    assert "upgrade backroom" in str(err.value)
    dbmod.close()
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(cli_config(own_db_url)))
    for args in (["migrate"], ["orders", "list"]):
        result = CliRunner().invoke(main, ["--config", str(path), *args],
                                    env={"BACKROOM_OPERATOR": "ada"})
        dbmod.close()
        one_line_refusal(result, "0099_future_things", "upgrade backroom")


# ----- 16: a word with a colon is text ---------------------------------------------------------

def test_a_word_with_a_colon_that_names_no_filter_is_searched_as_text(shop: Shop,
                                                                      admin: Actor) -> None:
    link = place(shop)
    late = place(shop)
    orders.set_reference(shop, admin, link.id, "see http://x.example/42")
    orders.set_reference(shop, admin, late.id, "call at 10:30")
    f = parse_filter("http://x.example/42", DEFAULT)
    assert f.text == "http://x.example/42"
    assert [r.id for r in queries.queue_page(f).rows] == [link.id]
    assert [r.id for r in queries.queue_page(parse_filter("10:30", DEFAULT)).rows] == [late.id]
    assert parse_filter("status:paid note:x", DEFAULT).text == "note:x"
    assert cq.parse_customer_filter("mailto:ann status:active").text == "mailto:ann"


# ----- 21: test orders, and the Mail column ----------------------------------------------------

def test_test_only_no_and_both(shop: Shop) -> None:
    real = place(shop)
    trial = place(shop, is_test=True)

    def found(text: str) -> set[int]:
        return set(queries.matching_ids(parse_filter(text, DEFAULT)))

    assert found("test:only") == found("test:yes") == {trial.id}
    assert found("test:no") == {real.id}
    assert found("") == found("test:all") == {real.id, trial.id}
    assert queries.status_counts(parse_filter("test:only", DEFAULT))["_all"] == 1
    with pytest.raises(ValidationError, match="test:only, test:no or test:all"):
        parse_filter("test:maybe", DEFAULT)


def test_the_mail_column_shows_the_mail_that_went_not_a_withdrawn_one(shop: Shop,
                                                                      admin: Actor) -> None:
    ref = place(shop)
    change = status.change_status(shop, admin, [ref.id], "paid")
    assert queries.queue_page(QueueFilter()).rows[0].mail_state == "held"
    undo.undo(shop, admin, change.batch)
    assert Outbox.select().where(Outbox.state == "cancelled").count() == 1
    assert queries.queue_page(QueueFilter()).rows[0].mail_state == "queued"  # the confirmation
    Outbox.update(state="sent").where(Outbox.kind == "order_placed").execute()
    assert queries.queue_page(QueueFilter()).rows[0].mail_state == "sent"


# ----- 22: deactivating operators --------------------------------------------------------------

def test_operator_add_says_an_admin(as_owner: Callable[..., Result]) -> None:
    operators.ensure_admin(OWNER)
    assert as_owner("operator", "add", "bob", "--role", "admin").output.strip() == (
        "bob is now an admin")
    assert as_owner("operator", "set-role", "bob", "clerk").output.strip() == (
        "bob is now a clerk")


def test_a_deactivated_operator_is_refused_everywhere_and_history_keeps_it(
        config: configmod.Config, shop: Shop, admin: Actor, clerk: Actor) -> None:
    operators.deactivate(admin, "cleo")
    with pytest.raises(UnknownOperator, match="cleo is deactivated"):
        shop.actor("cleo")
    with pytest.raises(UnknownOperator, match="operator reactivate cleo"):
        open_shop(config, "cleo")
    with pytest.raises(ValidationError, match="already deactivated"):
        operators.deactivate(admin, "cleo")
    with pytest.raises(ValidationError, match="last admin"):
        operators.deactivate(admin, "ada")
    with pytest.raises(UnknownOperator, match="operator cleo was deactivated"):
        operators.deactivate(clerk, "ada")  # the actor taken before: its row counts
    assert ("cleo", "cleo", "clerk", False) in operators.list_operators()
    operators.reactivate(admin, "cleo")
    assert shop.actor("cleo").role == "clerk"
    with pytest.raises(PermissionDenied):
        operators.deactivate(clerk, "ada")
    operators.set_role(admin, "cleo", "manager")
    history = [(e.login, e.kind, e.old_role, e.new_role, e.operator_login)
               for e in operators.operator_history("cleo")]
    assert history == [("cleo", "added", "", "clerk", "ada"),
                       ("cleo", "deactivated", "clerk", "clerk", "ada"),
                       ("cleo", "reactivated", "clerk", "clerk", "ada"),
                       ("cleo", "role", "clerk", "manager", "ada")]


def test_operator_deactivate_and_reactivate_commands(run: Callable[..., Result],
                                                     clerk: Actor) -> None:
    assert run("operator", "deactivate", "cleo").output.strip() == "cleo is deactivated"
    one_line_refusal(run("orders", "list", login="cleo"), "cleo is deactivated")
    one_line_refusal(run("operator", "deactivate", "ada"), "last admin")
    assert run("operator", "reactivate", "cleo").output.strip() == (
        "cleo is active again, a clerk")
    assert run("orders", "list", login="cleo").exit_code == 0
    kinds = [line.split()[3] for line in run("operator", "history", "cleo").output.splitlines()]
    assert kinds == ["added", "deactivated", "reactivated"]


def test_half_a_utf16_pair_is_refused_as_text(shop: Shop, admin: Actor) -> None:
    """JSON can carry "\\ud800"; no database or terminal can store it: refused by name."""
    with pytest.raises(ValidationError, match="UTF-16") as refused:
        customers.create_customer(shop, admin, email="a@example.com", first_name="A\ud800",
                                  last_name="")
    assert refused.value.field == "first_name"


def test_a_direction_override_is_refused_and_shown_escaped(shop) -> None:  # type: ignore[no-untyped-def]
    """U+202E in a name would show the rest of a line backwards (a price in a mail, a row on
    a screen); Arabic and Hebrew names need no such character and are kept as typed."""
    from store.errors import ValidationError
    from store.text import printable
    from tests.factories import place

    with pytest.raises(ValidationError, match="direction control U\\+202E"):
        place(shop, name="Ali \u202e00.001 €")
    assert place(shop, name="محمد الأحمد").code
    assert printable("Ali \u202eX") == "Ali \\u202eX"
