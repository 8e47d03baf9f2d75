"""Subscribers and consent, on SQLite and PostgreSQL: the ways in (operator, signup form with
and without double opt-in, checkout, customer account, import) and out, a customer's consent
kept in step both ways, the suppression list, the CLI's refusals, and the storefront API."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import tomli_w
from click.testing import CliRunner

from store import customers, models, subscriber_import, subscriber_queries, subscribers
from store import db as dbmod
from store.errors import PermissionDenied, Refused, ValidationError
from store.models import Customer, CustomerEvent, Outbox, Subscriber, Suppression
from tests.conftest import cli_config, make_config
from tests.factories import place
from tests.web_support import bearer, make_key, order
from tui.cli import main
from web.app import create_app

SECRET = "test-secret-0123456789abcdef"
WORDS = "Yes, send me the monthly newsletter"


def sub(email: str) -> Subscriber:
    return Subscriber.get(Subscriber.email_key == email.lower())


def test_an_operator_adds_and_unsubscribes_and_the_customer_follows(shop, manager, clerk):
    ref = customers.create_customer(shop, manager, email="ann@example.com", first_name="Ann",
                                    last_name="Smith")
    assert not Subscriber.select().exists()  # no consent, no subscriber
    added = subscribers.subscribe(shop, manager, email="Ann@Example.com", source="operator",
                                  wording=WORDS)
    row = sub("ann@example.com")
    assert (added.state, row.consent_source, row.consent_text, row.customer_id) == (
        "subscribed", "operator", WORDS, ref.id)
    customer = Customer.get_by_id(ref.id)
    assert customer.marketing_consent and customer.version == 2  # kept in step, at once
    again = subscribers.subscribe(shop, manager, email="ann@example.com", source="operator",
                                  wording=WORDS)
    assert not again.changed
    with pytest.raises(PermissionDenied):
        subscribers.unsubscribe(shop, clerk, "ann@example.com")
    subscribers.unsubscribe(shop, manager, "ann@example.com", "asked by phone")
    row = sub("ann@example.com")
    assert (row.state, row.state_how) == ("unsubscribed", "asked by phone")
    assert row.state_at is not None
    assert not Customer.get_by_id(ref.id).marketing_consent
    assert CustomerEvent.select().where(CustomerEvent.kind == "newsletter").count() == 2


def test_consent_needs_its_wording_and_a_suppressed_address_is_refused(shop, manager):
    with pytest.raises(ValidationError, match="what the person agreed to"):
        subscribers.subscribe(shop, manager, email="a@example.com", source="operator",
                              wording=" ")
    subscribers.suppress(shop, manager, "b@example.com", "complaint", "ARF report")
    with pytest.raises(Refused, match="suppression list"):
        subscribers.subscribe(shop, manager, email="B@example.com", source="operator",
                              wording=WORDS)
    assert not Subscriber.select().exists()


def test_a_customers_consent_makes_and_ends_a_subscriber(shop, manager, admin):
    ref = customers.create_customer(shop, manager, email="cy@example.com", first_name="Cy",
                                    last_name="Li", marketing_consent=True)
    row = sub("cy@example.com")
    assert (row.state, row.consent_source, row.customer_id) == (
        "subscribed", "customer account", ref.id)
    customers.edit_customer(shop, manager, ref.id, {"marketing_consent": False})
    assert sub("cy@example.com").state == "unsubscribed"  # opted out: at once
    customers.edit_customer(shop, manager, ref.id, {"marketing_consent": True})
    assert sub("cy@example.com").state == "subscribed"  # a new, later consent
    customers.delete_customer(shop, admin, ref.id, "cy@example.com")
    assert not Subscriber.select().exists()  # erased with the customer



def history(customer_id: int) -> list[str]:
    return [e.message for e in CustomerEvent.select().where(
        CustomerEvent.customer == customer_id, CustomerEvent.kind == "newsletter")
        .order_by(CustomerEvent.id)]


def test_a_customers_new_name_and_address_carry_their_subscription(shop, manager, clerk):
    """An operator renames a customer who subscribed: the subscriber's name and search text
    follow in the edit's transaction (a refused edit changes neither); a new email takes the
    subscription along, its consent record and state, as the same row."""
    ref = customers.create_customer(shop, manager, email="jan@example.cz", first_name="Jan",
                                    last_name="Novák", marketing_consent=True)
    before = sub("jan@example.cz")
    customers.create_customer(shop, manager, email="taken@example.cz", first_name="T",
                              last_name="Aken")
    with pytest.raises(Refused):  # one transaction: the name does not go without the email
        customers.edit_customer(shop, manager, ref.id, {"last_name": "Dvořák",
                                                        "email": "taken@example.cz"})
    assert (sub("jan@example.cz").last_name, found(clerk, "dvorak")) == ("Novák", [])
    customers.edit_customer(shop, manager, ref.id, {"first_name": "Jiří",
                                                    "last_name": "Dvořák"})
    row = sub("jan@example.cz")
    assert (row.first_name, row.last_name) == ("Jiří", "Dvořák")
    assert found(clerk, "jiri dvorak") == ["jan@example.cz"] and found(clerk, "novak") == []

    customers.edit_customer(shop, manager, ref.id, {"email": "Jiri@Example.cz"})
    moved = sub("jiri@example.cz")
    assert Subscriber.select().count() == 1 and moved.id == before.id
    assert (moved.email, moved.state, moved.customer_id, moved.consent_source,
            moved.consent_at) == ("Jiri@example.cz", "subscribed", ref.id,
                                  "customer account", before.consent_at)
    assert found(clerk, "jiri@example") == ["Jiri@example.cz"] and found(clerk, "jan@") == []
    assert history(ref.id) == ["the newsletter subscription (subscribed) follows to "
                               "Jiri@example.cz"]
    customers.edit_customer(shop, manager, ref.id, {"marketing_consent": False})
    customers.edit_customer(shop, manager, ref.id, {"email": "jiri@example.com"})
    assert sub("jiri@example.com").state == "unsubscribed"  # the opt-out follows too


def test_a_subscription_stays_where_it_cannot_follow(shop, manager, clerk):
    """The new address has a subscriber of its own, or is suppressed, or the old row is about
    its mailbox (bounced): the old row stays with its address, no longer the customer's; the
    customer's consent governs the new address."""
    ann = customers.create_customer(shop, manager, email="ann@example.com", first_name="Ann",
                                    last_name="Lee", marketing_consent=True)
    subscribers.subscribe(shop, manager, email="ann.lee@example.org", source="signup form",
                          wording=WORDS, first_name="A", last_name="L")
    customers.edit_customer(shop, manager, ann.id, {"email": "ann.lee@example.org"})
    old, new = sub("ann@example.com"), sub("ann.lee@example.org")
    assert (old.state, old.customer_id) == ("subscribed", None)
    assert (new.state, new.customer_id, new.first_name) == ("subscribed", ann.id, "Ann")
    assert "has a subscriber of its own" in history(ann.id)[-1]

    bo = customers.create_customer(shop, manager, email="bo@example.com", first_name="Bo",
                                   last_name="Ek", marketing_consent=True)
    subscribers.suppress(shop, manager, "bo.ek@example.com", "complaint", "ARF")
    customers.edit_customer(shop, manager, bo.id, {"email": "bo.ek@example.com"})
    assert (sub("bo@example.com").state, sub("bo@example.com").customer_id) == (
        "subscribed", None)
    assert Subscriber.get_or_none(Subscriber.email_key == "bo.ek@example.com") is None

    cy = customers.create_customer(shop, manager, email="cy@example.com", first_name="Cy",
                                   last_name="Li", marketing_consent=True)
    subscribers.suppress(shop, manager, "cy@example.com", "hard bounce", "550 5.1.1")
    assert not Customer.get_by_id(cy.id).marketing_consent  # bounced: unticked
    customers.edit_customer(shop, manager, cy.id, {"email": "cy.li@example.com"})
    assert (sub("cy@example.com").state, sub("cy@example.com").customer_id) == (
        "bounced", None)
    assert Subscriber.get_or_none(Subscriber.email_key == "cy.li@example.com") is None
    customers.edit_customer(shop, manager, cy.id, {"marketing_consent": True})
    assert sub("cy.li@example.com").state == "subscribed"  # a new consent, the new address

def test_checkout_opt_in_subscribes_in_the_orders_transaction(shop, admin):
    place(shop, email="guest@example.com", name="Gus Guest",
          newsletter_opt_in="Send me news and offers")
    row = sub("guest@example.com")
    assert (row.state, row.consent_source, row.first_name, row.last_name) == (
        "subscribed", "checkout", "Gus", "Guest")
    place(shop, email="quiet@example.com")
    assert Subscriber.select().count() == 1  # no box ticked, no subscriber


def test_double_opt_in_waits_for_the_signed_link(db_url, shop, admin):
    doi = make_config(db_url, newsletter={"double_opt_in": True, "secret": SECRET,
                                          "public_url": "https://news.example.com"})
    shop = dataclasses.replace(shop, config=doi)
    place(shop, email="dee@example.com", newsletter_opt_in="News, please")
    assert sub("dee@example.com").state == "pending"
    [mail] = Outbox.select().where(Outbox.kind == "newsletter_confirm")
    link = json.loads(mail.payload)["link"]
    assert link.startswith("https://news.example.com/s/") and "dee" not in link
    token = link.rsplit("/", 1)[1]
    with pytest.raises(Exception, match="not valid"):
        subscribers.confirm(shop, admin, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    assert subscribers.confirm(shop, admin, token).state == "subscribed"
    assert sub("dee@example.com").confirmed_at is not None


def test_import_refuses_rows_without_consent_and_lists_them(shop, manager, tmp_path):
    customers.create_customer(shop, manager, email="known@example.com", first_name="Kay",
                              last_name="Known")
    subscribers.subscribe(shop, manager, email="left@example.com", source="operator",
                          wording=WORDS)
    subscribers.unsubscribe(shop, manager, "left@example.com")
    subscribers.suppress(shop, manager, "spam@example.com", "complaint")
    path = tmp_path / "list.csv"
    path.write_text(
        "Email,First name,Last name,Consent,Consent date\n"
        "new@example.com,Nina,New,yes,2024-05-01 10:00\n"
        "known@example.com,Kay,Known,yes,\n"
        "nope@example.com,No,Body,no,\n"
        "blank@example.com,,,,\n"
        "not-an-address,X,Y,yes,\n"
        "left@example.com,Left,Gone,yes,\n"
        "spam@example.com,S,P,yes,\n"
        "NEW@example.com,Nina,Again,yes,\n", encoding="utf-8")
    dry = subscriber_import.import_subscribers(shop, manager, path, WORDS, dry_run=True)
    assert dry.added == 2 and Subscriber.select().count() == 1
    report = subscriber_import.import_subscribers(shop, manager, path, WORDS)
    assert (report.added, report.already, report.refused) == (2, 1, 5)
    reasons = {r.line: r.reason for r in report.refusals}
    assert set(reasons) == {4, 5, 6, 8, 9}
    assert reasons[4] == "no consent" and "twice in the file" in reasons[9]
    assert "suppressed" in reasons[8]
    multi = tmp_path / "multi.csv"  # a quoted name over two lines: the lines after it
    multi.write_text(  # were named one too low (found by a tester)
        'Email,First name,Last name,Consent\n"a@example.com","Ann\nMarie",A,yes\n'
        "b@example.com,B,B,no\n", encoding="utf-8")
    refusals = subscriber_import.import_subscribers(shop, manager, multi, WORDS,
                                                    dry_run=True).refusals
    assert [(r.line, r.email) for r in refusals] == [(2, "a@example.com"),
                                                     (4, "b@example.com")]
    assert sub("left@example.com").state == "unsubscribed"  # an import never brings back
    assert str(sub("new@example.com").consent_at).startswith("2024-05-01 10:00")
    known = Customer.get(Customer.email_key == "known@example.com")
    assert known.marketing_consent and sub("known@example.com").customer_id == known.id
    again = subscriber_import.import_subscribers(shop, manager, path, WORDS)
    assert again.added == 0 and again.already == 3


def test_a_large_import_is_reached_whole_by_the_campaign_after_it(db_url, manager, tmp_path):
    """A bulk import refreshes the table's statistics on PostgreSQL (store.db.
    after_bulk_write: its planner read every subscriber for each batch of the campaign that
    followed); the campaign right after it reaches every imported address once."""
    from store import campaign_mail, campaigns
    from store.models import CampaignMail
    from store.shop import open_shop

    shop = open_shop(make_config(db_url, newsletter={"secret": "s" * 32}))
    path = tmp_path / "big.csv"
    rows = "".join(f"reader{i}@example.com,Ann,N{i},yes,\n" for i in range(1_500))
    path.write_text("Email,First name,Last name,Consent,Consent date\n" + rows,
                    encoding="utf-8")
    assert subscriber_import.import_subscribers(shop, manager, path, WORDS).added == 1_500
    campaigns.create_campaign(shop, manager, name="After", subject="S", body="Hi")
    assert campaigns.start(shop, manager, "After") == 1_500
    assert campaign_mail.pending(CampaignMail.get().campaign_id) == 1_500


def test_import_without_a_consent_column_is_refused_whole(shop, manager, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("Email,First name\nann@example.com,Ann\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="no consent column"):
        subscriber_import.import_subscribers(shop, manager, path, WORDS)
    assert not Subscriber.select().exists()


# ----- the command line ----------------------------------------------------------------------

@pytest.fixture
def run(shop, admin, manager, clerk, tmp_path, db_url):
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(cli_config(db_url)), encoding="utf-8")

    def invoke(*args: str, login: str = "mo", ok: bool = True):
        result = CliRunner().invoke(main, ["--config", str(path), *args],
                                    env={"BACKROOM_OPERATOR": login}, catch_exceptions=False)
        assert (result.exit_code == 0) is ok, result.output
        return result

    return invoke


def test_the_subscribers_commands(run, tmp_path):
    out = run("newsletter", "subscribers", "add", "ann@example.com", "--wording", WORDS).output
    assert out.strip() == "ann@example.com: subscribed"
    path = tmp_path / "list.csv"
    path.write_text("email,consent\nbob@example.com,yes\ncat@example.com,no\n")
    out = run("newsletter", "subscribers", "import", str(path), "--wording", WORDS).output
    assert "line 3: cat@example.com: no consent" in out and "1 added" in out
    listed = json.loads(run("newsletter", "subscribers", "list", "--format", "json",
                            login="cleo").output)
    assert [r["email"] for r in listed] == ["bob@example.com", "ann@example.com"]
    refused = run("newsletter", "subscribers", "unsubscribe", "ann@example.com", login="cleo",
                  ok=False)
    assert refused.output.strip().startswith("backroom: cleo is a clerk: only a manager")
    assert "unsubscribed" in run("newsletter", "subscribers", "unsubscribe",
                                 "ann@example.com").output
    bad = run("newsletter", "subscribers", "import", str(path), ok=False)
    assert "--wording" in bad.output and len(bad.output.strip().splitlines()) == 1


def found(actor: Any, text: str) -> list[str]:
    return [r.email for r in subscriber_queries.subscriber_page(actor, text).rows]


def test_search_forgives_accents_and_case_whatever_way_in(shop, manager, clerk, admin,
                                                          tmp_path):
    """Every way in fills the folded search text: an operator, the signup form, an import,
    a customer's consent (set-based), a re-subscription with a new name; erased, gone."""
    subscribers.subscribe(shop, manager, email="marketa@example.com", source="operator",
                          wording=WORDS, first_name="Markéta", last_name="Wichterlová")
    subscribers.subscribe(shop, manager, email="ZOE@Example.com", source="signup form",
                          wording=WORDS, first_name="Zoë", last_name="Ærø")
    path = tmp_path / "list.csv"
    path.write_text("email,consent,first name,last name\n"
                    "soren@example.dk,yes,Søren,Sørensen\nlukasz@example.pl,yes,Łukasz,Żółć\n",
                    encoding="utf-8")
    subscriber_import.import_subscribers(shop, manager, path, WORDS)
    ref = customers.create_customer(shop, manager, email="koehler@example.de",
                                    first_name="Jürgen", last_name="Köhler",
                                    marketing_consent=True)
    assert sub("koehler@example.de").customer_id == ref.id
    assert found(clerk, "wichterlova") == ["marketa@example.com"]
    assert found(clerk, "MARKETA wichterLOVÁ") == ["marketa@example.com"]
    assert found(clerk, "sorensen") == found(clerk, "soerensen") == ["soren@example.dk"]
    assert found(clerk, "lukasz zolc") == ["lukasz@example.pl"]
    assert found(clerk, "kohler") == found(clerk, "koehler") == ["koehler@example.de"]
    assert found(clerk, "jurgen") == ["koehler@example.de"]
    assert found(clerk, "zoe aero") == ["ZOE@example.com"]
    assert found(clerk, "example.pl") == ["lukasz@example.pl"]
    assert found(clerk, "nobody") == []
    # left and back with a new name: the new name is found, the old one not
    subscribers.unsubscribe(shop, manager, "marketa@example.com")
    subscribers.subscribe(shop, manager, email="marketa@example.com", source="operator",
                          wording=WORDS, last_name="Nováková")
    assert found(clerk, "novakova") == ["marketa@example.com"] and found(clerk, "wichterlova") == []
    customers.delete_customer(shop, admin, ref.id, "koehler@example.de")  # erased: not found
    assert found(clerk, "kohler") == []


def test_the_migration_fills_the_search_text_of_existing_subscribers(shop, manager, clerk):
    subscribers.subscribe(shop, manager, email="marketa@example.com", source="operator",
                          wording=WORDS, first_name="Markéta", last_name="Wichterlová")
    database = models.db.obj
    dbmod.runner(database).down(target="0014_subscriber_search")
    dbmod.runner(database).up()
    assert sub("marketa@example.com").search_text == "marketa@example.com marketa wichterlova"
    assert found(clerk, "wichterlova") == ["marketa@example.com"]


def test_the_cli_search_forgives_accents(run):
    run("newsletter", "subscribers", "add", "soren@example.dk", "--wording", WORDS,
        "--first-name", "Søren", "--last-name", "Sørensen")
    run("newsletter", "subscribers", "add", "ann@example.com", "--wording", WORDS)
    listed = json.loads(run("newsletter", "subscribers", "list", "SORENSEN", "--format", "json",
                            login="cleo").output)
    assert [r["email"] for r in listed] == ["soren@example.dk"]


# ----- the storefront API --------------------------------------------------------------------

@pytest.fixture
def client_for(db_url: str, shop, admin) -> Callable[..., httpx.AsyncClient]:
    def make(**sections: dict[str, Any]) -> httpx.AsyncClient:
        app = create_app(make_config(db_url, **sections))
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://shop.test")
    return make


@pytest.fixture
async def doi_client(client_for) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(newsletter={"double_opt_in": True, "secret": SECRET}) as opened:
        yield opened


async def test_signup_form_with_double_opt_in_and_idempotency(doi_client, admin):
    key = make_key(admin, "form", "subscribers:write")
    body = {"email": "eve@example.com", "first_name": "Eve", "consent": True,
            "consent_text": WORDS}
    first = await doi_client.post("/v1/subscribers", json=body,
                                  headers=bearer(key, **{"Idempotency-Key": "k1"}))
    assert first.status_code == 201 and first.json()["state"] == "pending", first.text
    replay = await doi_client.post("/v1/subscribers", json=body,
                                   headers=bearer(key, **{"Idempotency-Key": "k1"}))
    assert replay.content == first.content and replay.headers["idempotent-replayed"] == "true"
    again = await doi_client.post("/v1/subscribers", json=body, headers=bearer(key))
    assert again.status_code == 200 and again.json()["state"] == "pending"
    [mail] = Outbox.select().where(Outbox.kind == "newsletter_confirm")  # once a day at most
    token = json.loads(mail.payload)["link"].rsplit("/s/", 1)[1]
    page = await doi_client.get(f"/s/{token}")
    assert page.status_code == 200 and "<form method=\"post\">" in page.text
    assert sub("eve@example.com").state == "pending"  # a GET (a link scanner) changes nothing
    done = await doi_client.post(f"/s/{token}")
    assert done.status_code == 200 and sub("eve@example.com").state == "subscribed"
    assert "set-cookie" not in done.headers


async def test_signup_without_consent_is_refused_and_changes_nothing(doi_client, admin):
    key = make_key(admin, "form", "subscribers:write")
    for body in ({"email": "x@example.com", "consent": False, "consent_text": WORDS},
                 {"email": "x@example.com", "consent_text": WORDS},
                 {"email": "x@example.com", "consent": True, "consent_text": ""}):
        response = await doi_client.post("/v1/subscribers", json=body, headers=bearer(key))
        assert response.status_code == 422, response.text
    no_scope = make_key(admin, "shop", "orders:write")
    response = await doi_client.post("/v1/subscribers", headers=bearer(no_scope), json={
        "email": "x@example.com", "consent": True, "consent_text": WORDS})
    assert response.status_code == 403
    assert not Subscriber.select().exists()


async def test_an_api_order_with_the_box_ticked_subscribes(client_for, admin):
    key = make_key(admin, "front", "orders:write")
    async with client_for() as client:
        response = await client.post("/v1/orders", headers=bearer(key), json=order(
            newsletter_opt_in="Tick to get our news"))
        assert response.status_code == 201, response.text
    row = sub("ann@example.com")
    assert (row.consent_source, row.consent_text) == ("checkout", "Tick to get our news")


def test_suppression_is_kept_after_erasure(shop, manager, admin):
    ref = customers.create_customer(shop, manager, email="zed@example.com", first_name="Zed",
                                    last_name="Z", marketing_consent=True)
    subscribers.suppress(shop, manager, "zed@example.com", "hard bounce")
    customers.delete_customer(shop, admin, ref.id, "zed@example.com")
    assert Suppression.get().email_key == "zed@example.com"
    assert not Subscriber.select().exists()

