"""Search that forgives accents and case (issue 12, points 1-2), on SQLite and PostgreSQL:
the examples of the issue through orders, customers, filters and the command line; phone
numbers by their digits; a customer's postcode, city and country searchable and shown."""

from __future__ import annotations

import pytest
import tomli_w
from click.testing import CliRunner

from store import customer_queries as cq
from store import customers, orders, queries
from store.folding import digits, fold, fold_item, fold_query
from store.queries import QueueFilter, parse_filter
from store.workflow import DEFAULT
from tests.conftest import cli_config
from tests.factories import place
from tui.cli import main

NAMES = ["Luís Gonçalves", "Markéta Wichterlová", "Stanisław Łęcki", "Søren Sørensen",
         "Jürgen Köhler", "Anna Straße"]
ASKED = [("luis goncalves", 0), ("LUIS GONÇALVES", 0), ("wichterlova", 1), ("stanislaw", 2),
         ("lecki", 2), ("sorensen", 3), ("soerensen", 3), ("koehler", 4), ("kohler", 4),
         ("KÖHLER", 4), ("juergen", 4), ("strasse", 5), ("STRASSE", 5), ("straße", 5)]


@pytest.mark.parametrize(("text", "folded"), [
    ("Luís Gonçalves", "luis goncalves"), ("Stanisław", "stanislaw"),
    ("Sørensen", "sorensen soerensen"), ("Köhler", "kohler koehler"), ("Straße", "strasse"),
    ("ÆRØ Œuvre Đorđe Þór", "aero oeuvre dorde thor aeroe"), ("plain ASCII", "plain ascii"),
])
def test_fold(text, folded):
    assert fold(text) == folded
    assert fold_query(text) == folded.split(" ")[0] if " " not in text else True


def test_an_items_folded_text_keeps_its_sku_and_name_apart():
    """`product:` compares fold_item's text: the SKU and the name folded, a line break between
    them, which the filter parser makes a space, so no product typed spans the two."""
    assert fold_item("CRM-1", "Crème brûlée") == "crm-1\ncreme brulee"
    assert fold_item("KHL-1", "Köhler") == "khl-1\nkohler koehler"
    assert "\n" not in parse_filter('product:"1\ncreme"', DEFAULT).product


def test_digits():
    assert digits("+49 (0)3923-5555") == "49039235555"
    assert digits("ab-1") == ""


@pytest.fixture
def people(shop, admin):
    """One registered customer (with an address and a phone) and one order for each name."""
    made = []
    for n, name in enumerate(NAMES):
        first, last = name.split(" ")
        cid = customers.create_customer(
            shop, admin, email=f"p{n}@example.com", first_name=first, last_name=last,
            phone="+49 (0)3923-5555" if n == 4 else "",
            address={"first_name": first, "last_name": last, "line1": "1 Main St",
                     "postcode": f"{n}0667", "city": "Köln" if n == 4 else "Lisboa",
                     "country": "DE" if n == 4 else "PT"}).id
        ref = place(shop, customer_id=cid, phone="+49 (0)3923-5555" if n == 4 else "")
        made.append((cid, ref.id))
    return made


def test_orders_and_customers_are_found_without_accents(shop, people):
    for text, who in ASKED:
        cid, oid = people[who]
        assert queries.matching_ids(QueueFilter(text=text)) == [oid], text
        assert queries.queue_page(parse_filter(text, shop.workflow)).rows[0].id == oid, text
        assert [r.id for r in cq.customer_page(shop, cq.parse_customer_filter(text)).rows] == [
            cid], text


def test_phone_by_digits_and_places(shop, people):
    cid, oid = people[4]
    for text in ("39235555", "3923-5555", "+49"):
        assert queries.matching_ids(QueueFilter(text=text)) == [oid], text
        assert [r.id for r in cq.customer_page(shop, cq.parse_customer_filter(text)).rows] == [
            cid], text
    for text in ("koln", "KÖLN", "40667", "köln de"):
        assert [r.id for r in cq.customer_page(shop, cq.parse_customer_filter(text)).rows] == [
            cid], text
    row = cq.customer_page(shop, cq.parse_customer_filter("koln")).rows[0]
    assert (row.postcode, row.city, row.country, row.place) == ("40667", "Köln", "DE",
                                                                 "Köln DE")


def test_short_words_match_the_folded_name(shop, people):
    _, oid = people[2]
    assert oid in queries.matching_ids(QueueFilter(text="st"))  # Stanisław
    assert queries.matching_ids(QueueFilter(text="ł")) == [people[0][1]]  # ł is l: Luís


def test_an_edit_is_folded_too(shop, admin, people):
    _, oid = people[0]
    orders.edit_contact(shop, admin, oid, name="Zoë Ørsted")
    assert queries.matching_ids(QueueFilter(text="zoe orsted")) == [oid]
    assert queries.matching_ids(QueueFilter(text="goncalves")) == []
    orders.set_reference(shop, admin, oid, "Rechnung Größe-7")
    assert queries.matching_ids(QueueFilter(text="grosse-7")) == [oid]
    assert queries.matching_ids(QueueFilter(text="groesse-7")) == [oid]


def test_the_command_line_folds_as_well(shop, people, tmp_path, monkeypatch):
    (tmp_path / "config.toml").write_text(tomli_w.dumps(cli_config(shop.config.database_url)))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BACKROOM_DATABASE_URL", raising=False)
    monkeypatch.delenv("BACKROOM_CONFIG", raising=False)
    runner = CliRunner(env={"BACKROOM_OPERATOR": "ada"})
    out = runner.invoke(main, ["orders", "list", "--search", "koehler", "--format", "csv"])
    assert out.exit_code == 0 and "Jürgen Köhler" in out.output, out.output
    out = runner.invoke(main, ["customers", "list", "wichterlova"])
    assert out.exit_code == 0 and "Wichterlová" in out.output, out.output
    out = runner.invoke(main, ["customers", "list", "koln", "--format", "csv"])
    assert out.exit_code == 0 and "Köln" in out.output and "40667" in out.output, out.output
