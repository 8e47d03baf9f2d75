"""Carriers and tracking numbers (issue 14, points 9 and 11): [carriers.NAME] in config,
numbers recognised with the tracking-numbers package (checked against the valid and invalid
samples its data keeps), the carrier set with the number everywhere, the shipped mail's
tracking link, one number per parcel, and the carrier's CSV imported as one bulk ship."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from mailer import context as ctxmod
from store import carriers, orders, status, tracking_import, undo
from store.config import render_example
from store.errors import ConfigError, ValidationError
from store.models import Order, OrderEvent, Outbox
from tests.conftest import cli_config, make_config
from tests.factories import place
from tui.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / ".venv" / "tracking_number_data" / "couriers"


# ----- recognition, against the data's own samples -------------------------------------------

def _samples() -> list[tuple[str, str, str, bool]]:
    """(courier, product, number, valid) for every sample the data keeps."""
    found = []
    for path in sorted(SAMPLES.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for spec in data["tracking_numbers"]:
            tests = spec.get("test_numbers", {})
            found += [(data["courier_code"], spec["name"], n, True) for n in tests["valid"]]
            found += [(data["courier_code"], spec["name"], n, False) for n in tests["invalid"]]
    return found


def test_recognition_agrees_with_the_datas_own_samples():
    samples = _samples()
    if not samples:
        pytest.skip(f"the tracking_number_data samples are not in {SAMPLES} "
                    "(`make test` fetches them with npm)")
    from tracking_numbers import get_definition

    couriers = {courier for courier, _p, _n, _v in samples}
    assert {"ups", "dhl", "usps", "fedex", "s10"} <= couriers
    for courier, product, number, valid in samples:
        definition = get_definition(product)
        assert definition is not None, product
        own = definition.test(number)
        assert bool(own and own.valid) == valid, (product, number)
        found = carriers.recognise_number(number)
        if valid:
            assert found is not None, (product, number)
            # the first definition that takes it: its own, or another that also does
            # (one SmartPost sample is a valid USPS number too)
            assert found.courier.partition(":")[0] == courier or found.product != product
        else:
            assert found is None or found.product != product, (product, number)


def test_the_carriers_named_in_the_issue_are_recognised():
    known = carriers.DEFAULTS
    ups = carriers.recognise(known, "1Z5R89390357567127")
    assert ups is not None and ups.carrier == "ups"
    dhl = carriers.recognise(known, "3318810025")
    assert dhl is not None and dhl.carrier == "dhl"
    # USPS from its barcode: 420 and the ZIP (and the routing number) are dropped
    usps = carriers.recognise(known, "420 22153 9101026837331000039521")
    assert usps is not None and (usps.carrier, usps.number) == ("usps",
                                                                "9101026837331000039521")
    long_form = carriers.recognise(known, "4201002334249200190132607600833457")
    assert long_form is not None and long_form.number == "9200190132607600833457"
    plain = carriers.recognise(known, "9400 1112 0108 0805 4830 16")
    assert plain is not None and plain.number == "9400111201080805483016"
    # UPU S10: the country picks the carrier (FR: Colissimo), any other the post's default
    france = carriers.recognise(known, "RB123456785FR")
    assert france is not None and (france.carrier, france.courier) == ("colissimo", "s10:FR")
    britain = carriers.recognise(known, "RB123456785GB")
    assert britain is not None and britain.carrier == "post"
    assert carriers.recognise(known, "RB123456786FR") is None  # wrong check digit
    assert carriers.recognise(known, "not a number") is None


def test_decide_the_carrier_of_a_number():
    known = carriers.DEFAULTS
    assert carriers.decide(known, "", "1Z5R89390357567127", None) == ("1Z5R89390357567127",
                                                                     "ups")
    assert carriers.decide(known, "gls", "6A12345678901", None) == ("6A12345678901", "gls")
    assert carriers.decide(known, "", "6A12345678901", None, "dhl") == ("6A12345678901", "dhl")
    assert carriers.decide(known, "gls", "1Z5R89390357567127", "Colissimo")[1] == "colissimo"
    with pytest.raises(ValidationError, match="unknown carrier 'Van of Bob'"):
        carriers.decide(known, "", "X1", "Van of Bob")


# ----- config --------------------------------------------------------------------------------

def test_carriers_in_config_add_or_replace_and_are_checked(db_url):
    from store.config import from_mapping

    raw = {"carriers": {"dpd": {"label": "DPD", "tracking_url":
                                "https://tracking.dpd.de/status/en_US/parcel/{tracking}"},
                        "ups": {"label": "UPS Ground", "tracking_url": "", "recognises": []}},
           "shipping": {"default_carrier": "dpd"}}
    config = from_mapping(raw, "shop.toml", environ={})
    assert config.carriers["dpd"].link("0123 45") == (
        "https://tracking.dpd.de/status/en_US/parcel/0123%2045")
    assert config.carriers["ups"].link("1Z") == ""  # no public page: no link
    assert carriers.recognise(config.carriers, "1Z5R89390357567127").carrier == ""  # type: ignore[union-attr]
    assert "colissimo" in config.carriers  # the defaults stay
    bad = [
        ({"dpd": {"tracking_url": "http://x.example/{tracking}"}}, "https:// address"),
        ({"dpd": {"tracking_url": "https://x.example/track"}}, "holding {tracking} once"),
        ({"dpd": {"tracking_url": "https://x.example/{tracking}/{other}"}}, "no other braces"),
        ({"dpd": {"label": ""}}, "label must not be empty"),
        ({"dpd": {"colour": "red"}}, "unknown key 'colour'"),
        ({"DPD!": {"label": "x"}}, "lowercase letters"),
        ({"dpd": {"recognises": ["royalmail"]}}, "not a courier"),
        ({"dpd": "DPD"}, "must be a table"),
    ]
    for table, message in bad:
        with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("}", r"\}")):
            from_mapping({"carriers": table}, "shop.toml", environ={})
    with pytest.raises(ConfigError, match=r"shipping\.default_carrier 'dpd' is no carrier"):
        from_mapping({"shipping": {"default_carrier": "dpd"}}, "shop.toml", environ={})
    assert "[carriers.dpd]" in render_example()
    assert (ROOT / "config.example.toml").read_text(encoding="utf-8") == render_example()


# ----- the carrier set with the number, the link in the mail ---------------------------------

def test_the_carrier_goes_with_the_number_and_the_mail_links_it(shop, clerk, db_url):
    a, b, c = place(shop), place(shop), place(shop)
    status.change_status(shop, clerk, [a.id, b.id, c.id], "paid")
    orders.set_tracking(shop, clerk, a.id, "1Z5R89390357567127")
    assert Order.get_by_id(a.id).carrier == "ups"
    with pytest.raises(ValidationError, match="unknown carrier"):
        orders.set_tracking(shop, clerk, a.id, "X", "Van of Bob")
    config = make_config(db_url, carriers={"dpd": {
        "label": "DPD", "tracking_url": "https://tracking.dpd.de/parcel/{tracking}"}},
        shipping={"default_carrier": "dpd"})
    from store.shop import open_shop

    dpd_shop = open_shop(config)
    change = status.change_status(dpd_shop, clerk, [b.id], "shipped", tracking="0998 1234")
    order = Order.get_by_id(b.id)
    assert (order.tracking_number, order.carrier) == ("0998 1234", "dpd")
    mail = Outbox.get(Outbox.batch == change.batch)
    context = ctxmod.load(mail.kind, mail.recipient, mail.payload, mail.order_id, None,
                          config, shop.workflow)
    assert context["carrier"] == "DPD"
    assert context["tracking_url"] == "https://tracking.dpd.de/parcel/0998%201234"
    assert context["order"]["tracking_url"] == context["tracking_url"]
    status.change_status(shop, clerk, [c.id], "shipped", tracking="3318810025",
                         carrier="Colissimo")  # named: it wins over the number
    assert Order.get_by_id(c.id).carrier == "colissimo"


def test_one_number_for_many_orders_only_when_asked(shop, clerk):
    refs = [place(shop) for _ in range(3)]
    ids = [r.id for r in refs]
    status.change_status(shop, clerk, ids, "paid")
    with pytest.raises(ValidationError, match="one tracking number for 3 orders") as refused:
        status.change_status(shop, clerk, ids, "shipped", tracking="PARCEL-1")
    assert refused.value.field == "tracking"
    assert {Order.get_by_id(i).status for i in ids} == {"paid"}
    change = status.change_status(shop, clerk, ids, "shipped", tracking="PARCEL-1",
                                  shared_tracking=True, dry_run=True)
    assert "the same tracking number PARCEL-1 for 3 orders" in " ".join(
        change.describe(shop.workflow).moves)
    # each its own: a number given twice, or already on another order, is refused
    orders.set_tracking(shop, clerk, refs[2].id, "TAKEN-1")
    each = status.change_status(shop, clerk, ids, "shipped", tracking_each={
        ids[0]: ("SAME-1", None), ids[1]: ("SAME-1", None)})
    assert [r.reason for r in each.refused] == [
        f"tracking number SAME-1 is also given to {refs[1].code}",
        f"tracking number SAME-1 is also given to {refs[0].code}"]
    assert {Order.get_by_id(i).status for i in ids} == {"paid", "shipped"}  # the third: its own
    other = place(shop)
    status.change_status(shop, clerk, [other.id], "paid")
    taken = status.change_status(shop, clerk, [other.id], "shipped",
                                 tracking_each={other.id: ("TAKEN-1", None)})
    assert taken.refused[0].reason == f"tracking number TAKEN-1 is also given to {refs[2].code}"


# ----- the carrier's file ---------------------------------------------------------------------

CSV = """Order;Reference;Tracking number;Carrier
{a};;1Z5R89390357567127;
;PO-77;0998 1234;GLS
BR-999999;;X-1;
{c};;X-2;Van of Bob
{d};;;
{e};;X-5;dhl
"""


@pytest.fixture
def run(shop, admin, tmp_path, db_url):
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(cli_config(db_url)), encoding="utf-8")

    def invoke(*args: str, ok: bool = True):
        result = CliRunner().invoke(main, ["--config", str(path), *args],
                                    env={"BACKROOM_OPERATOR": "ada"}, catch_exceptions=False)
        assert (result.exit_code == 0) is ok, result.output
        return result

    return invoke


def test_import_tracking_ships_each_order_with_its_own_number(shop, admin, run, tmp_path):
    a, b, c, d, e = (place(shop) for _ in range(5))
    status.change_status(shop, admin, [a.id, b.id, c.id, d.id], "paid")
    orders.set_reference(shop, admin, b.id, "po-77")
    file = tmp_path / "carrier.csv"
    file.write_text(CSV.format(a=a.code, c=c.code, d=d.code, e=e.code), encoding="utf-8-sig")
    preview = run("orders", "import-tracking", str(file), "--dry-run", ok=False).output
    assert "columns: Order, Reference, Tracking number, Carrier" in preview
    assert "line 4: skipped: no such order: BR-999999" in preview
    assert "line 5: skipped: unknown carrier 'Van of Bob'" in preview
    assert "line 6: skipped: no tracking number" in preview
    assert f"{e.code}: refused: Awaiting payment cannot move to Shipped" in preview
    assert "2 × Paid / processing → Shipped" in preview and "nothing changed" in preview
    assert Order.get_by_id(a.id).status == "paid"
    out = run("orders", "import-tracking", str(file), ok=False).output
    assert "2 changed to Shipped, 1 refused" in out
    found = {o.id: (o.status, o.tracking_number, o.carrier) for o in Order.select()}
    assert found[a.id] == ("shipped", "1Z5R89390357567127", "ups")
    assert found[b.id] == ("shipped", "0998 1234", "gls")
    assert found[c.id][0] == found[d.id][0] == "paid"
    batch = OrderEvent.get(OrderEvent.order == a.id, OrderEvent.to_status == "shipped").batch
    assert OrderEvent.get(OrderEvent.order == b.id, OrderEvent.to_status == "shipped").batch == (
        batch)  # one bulk change
    undo.undo(shop, admin, batch)
    assert {Order.get_by_id(i).tracking_number for i in (a.id, b.id)} == {""}


def test_import_reads_commas_tabs_and_refuses_a_file_without_columns(shop, admin):
    a, b = place(shop), place(shop)
    comma = tracking_import.parse(
        shop, f"code,tracking\n{a.code},T-1\n{a.code},T-2\n{b.code},T-3\n")
    assert [(x.line, x.problem.split(":")[0]) for x in comma.problems] == [
        (2, f"{a.code} is on lines 2, 3"), (3, f"{a.code} is on lines 2, 3")]
    assert [x.code for x in comma.usable] == [b.code]
    tabbed = tracking_import.parse(shop, f"Order number\tAWB\n{b.code.lower()}\tT-9\n")
    assert [(x.order_id, x.tracking) for x in tabbed.usable] == [(b.id, "T-9")]
    with pytest.raises(ValidationError, match="needs a header line"):
        tracking_import.parse(shop, "name,number\nAnn,1\n")
