"""The branded, responsive HTML layout (issue 16): every template in every language rendered
with hostile names and parsed with html5lib; CSS inlined; the one action as a button; the
mail valid under email.policy.strict; `backroom mail preview`; HTML faults in `mail check`."""

from __future__ import annotations

import copy
import email
import email.policy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import html5lib
import pytest
import tomli_w
from click.testing import CliRunner

from mailer import context as ctxmod
from mailer.check import check_templates, text_problems
from mailer.delivery import build_mime
from mailer.render import EVENTS, LANGUAGES, SHIPPED_DIR, Rendered, Renderer, RenderError
from mailer.worker import deliver_once
from store import config as configmod
from store import status
from store.carriers import DEFAULTS
from store.operators import Actor
from store.shop import Shop
from store.workflow import DEFAULT
from tests.conftest import cli_config, make_config
from tests.factories import place
from tests.mail_server import Server, parts, wait_for
from tui.cli import main

BRAND = {"name": "Chez Ann", "email": "hello@chez-ann.example",
         "accent_colour": "#0b6bcb", "logo_url": "https://cdn.chez-ann.example/logo.png",
         "footer_line": "Chez Ann SARL, 1 Rue de la Paix, 75002 Paris",
         "social_links": ["https://www.instagram.com/chezann"],
         "payment_url": "https://chez-ann.example/pay/{code}"}
HOSTILE = ["Ann [/] Smith", "<script>alert(1)</script>", "Łukasz Żółć", "Γιώργος",
           "Ann \"Nan\" O'Brien", "Ann " + "x" * 5000]
BUTTONS = {"shipped": "tracking_url", "order_placed": "payment_link",
           "awaiting_verification": "payment_link", "account_confirm": "link",
           "newsletter_confirm": "link"}
ABSOLUTE = ("https://", "mailto:")


def brand_config(**shop: Any) -> configmod.Config:
    return make_config("sqlite:///unused.db", shop={**BRAND, **shop})


def hostile_sample(event: str, name: str, config: configmod.Config) -> dict[str, Any]:
    """The sample context with `name` everywhere a customer's words reach a mail."""
    context = copy.deepcopy(ctxmod.sample(event, config, DEFAULT))
    context["customer_name"] = context["name"] = name
    context["order"]["customer_name"] = context["customer"]["name"] = name
    context["order"]["items"][0]["name"] = name
    context["order"]["shipping_address"]["lines"] = [name, "1 Rue de la Paix", "75002 Paris"]
    if event in ("customer_note", "cancelled"):
        context["note"] = f"Hello {name}\nSecond line"
    if event == "one_off":
        context["subject"], context["body"] = f"For {name}", f"Dear {name},\nA word."
    return context


def parse(html: str) -> Any:
    """The document, parsed by html5lib's strict parser: any HTML5 parse error raises."""
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(html)


def buttons(document: Any) -> list[str]:
    return [a.get("href") for a in document.iter("a") if "button" in a.get("class", "")]


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@pytest.mark.parametrize("name", HOSTILE, ids=["brackets", "script", "polish", "greek",
                                               "quotes", "5kB"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_holds_with_hostile_names(renderer: Renderer, language: str,
                                                 name: str) -> None:
    config = brand_config()
    for event in EVENTS:
        context = hostile_sample(event, name, config)
        mail = renderer.render(event, language, context)
        document = parse(mail.html)
        assert document.get("lang") == language
        assert document.find(".//style") is None and "<style" not in mail.html
        assert document.find(".//script") is None  # the name was escaped, not run
        text = "".join(document.find("body").itertext())
        if event not in ("merchant_account_deleted", "merchant_webhook_disabled",
                         "merchant_mail_stuck"):  # no customer
            assert name in text or name in mail.subject, event
        for element in document.iter():
            for attribute in ("href", "src"):
                if element.get(attribute) is not None:
                    assert element.get(attribute).startswith(ABSOLUTE), (event, element.tag)
            if element.tag == "img":
                assert element.get("alt"), event
        for element in document.find("body").iter():
            if element.tag in ("div", "p", "a", "td", "h2", "table"):
                assert element.get("style"), (event, element.tag)  # the CSS is inlined
        want = context[BUTTONS[event]] if event in BUTTONS else None
        assert buttons(document) == ([want] if want else []), event
        assert text_problems(mail.text, event, ["BR-100042", "6A123"]) == [], event
        if want:
            assert want in mail.text.split("\n"), event  # the link alone on its line


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_button_only_when_its_link_exists(renderer: Renderer, language: str) -> None:
    config = brand_config(payment_url="")
    placed = ctxmod.sample("order_placed", config, DEFAULT)
    assert placed["payment_link"] == ""
    mail = renderer.render("order_placed", language, placed)
    assert buttons(parse(mail.html)) == [] and "/pay/" not in mail.text
    paid = ctxmod.sample("order_placed", brand_config(), DEFAULT)
    paid["order"] = dict(paid["order"], may_pay=False)
    paid["payment_link"] = ctxmod.payment_link(brand_config(), paid["order"])
    assert paid["payment_link"] == ""  # nothing left to pay: no pay button
    assert buttons(parse(renderer.render("order_placed", language, paid).html)) == []
    shipped = ctxmod.sample("shipped", config, DEFAULT)
    shipped["carrier"], shipped["tracking_url"] = "Van of Bob", ""
    mail = renderer.render("shipped", language, shipped)
    assert buttons(parse(mail.html)) == [] and "6A123" in mail.text


def test_the_layout_takes_the_brand(renderer: Renderer) -> None:
    mail = renderer.render("shipped", "en", ctxmod.sample("shipped", brand_config(), DEFAULT))
    document = parse(mail.html)
    logo = document.find(".//img")
    assert logo.get("src") == BRAND["logo_url"] and logo.get("alt") == "Chez Ann"
    assert "max-width: 200px" in logo.get("style")
    button = next(a for a in document.iter("a") if a.get("class") == "button")
    assert "background-color: #0b6bcb" in button.get("style")
    assert "color: #ffffff" in button.get("style")
    footer = "".join(document.find("body").itertext())
    assert BRAND["footer_line"] in footer and "Instagram" in footer
    assert 'href="https://www.instagram.com/chezann"' in mail.html
    assert 'name="viewport"' in mail.html and 'name="color-scheme"' in mail.html
    assert "max-width: 600px" in mail.html  # one column, fluid below 600 px
    plain = renderer.render("shipped", "en", ctxmod.sample(
        "shipped", make_config("sqlite:///unused.db"), DEFAULT))
    assert parse(plain.html).find(".//img") is None  # no logo: the shop's name instead
    assert f"background-color: {configmod.ACCENT_DEFAULT}" in plain.html


def test_french_typography_in_both_parts(renderer: Renderer) -> None:
    mail = renderer.render("shipped", "fr", ctxmod.sample("shipped", brand_config(), DEFAULT))
    assert "Bonne nouvelle\xa0: la commande" in mail.text
    assert "Bonne nouvelle\xa0: la commande" in mail.html
    assert "Numéro de suivi\xa0: 6A123" in mail.text
    assert "44,88\xa0€" in mail.text  # money by Babel
    assert "5 novembre 2026" in mail.html


def test_css_is_inlined_once_per_template_load(tmp_path: Path) -> None:
    """The layout's <style> lands in the tags of every HTML file of its language; a style
    the author wrote still wins; a tag opened inside {% if %} stays where it was written."""
    root = tmp_path / "templates" / "en"
    root.mkdir(parents=True)
    (root / "_layout.html").write_text(
        '<!doctype html>\n<html lang="{{ language }}"><head><title>t</title>\n<style>\n'
        "p { color: #111111; margin: 0; }\n"
        ".button { background-color: {{ shop.accent_colour }}; }\n"
        "</style></head><body>{% block content %}{% endblock %}</body></html>\n",
        encoding="utf-8")
    (root / "completed.html").write_text(
        '{% extends "en/_layout.html" %}{% block content %}\n'
        '<p style="color: #222222">A</p>{% if code %}<p class="x">{% else %}<p>{% endif %}B</p>\n'
        '<a class="button" href="https://x.example/{{ code }}">Go</a>\n{% endblock %}\n',
        encoding="utf-8")
    config = brand_config(accent_colour="#123456")
    mail = Renderer(root.parent).render("completed", "en",
                                        ctxmod.sample("completed", config, DEFAULT))
    assert "<style" not in mail.html
    assert '<p style="color: #111111;margin: 0;color: #222222">A</p>' in mail.html
    assert '<p style="color: #111111;margin: 0" class="x">B</p>' in mail.html
    assert 'style="background-color: #123456"' in mail.html
    parse(mail.html)


@pytest.mark.parametrize("event", EVENTS)
def test_mails_are_valid_under_the_strict_email_policy(renderer: Renderer, event: str) -> None:
    for language in LANGUAGES:
        name = "Ann \"Nan\" <script> Łukasz Γιώργος"
        mail: Rendered = renderer.render(event, language,
                                         hostile_sample(event, name, brand_config()))
        data = build_mime(sender="Chez Ann <hello@chez-ann.example>",
                          recipient="ann@example.com", subject=mail.subject,
                          message_id="<1.2@chez-ann.example>", language=language,
                          tag=f"{event} 1", text=mail.text, html=mail.html)
        message = email.message_from_bytes(data, policy=email.policy.strict)
        assert not message.defects
        assert message["Subject"] == mail.subject
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert text == mail.text and html == mail.html


@pytest.fixture
def smtp() -> Iterator[Server]:
    server = Server().start()
    yield server
    server.stop()


def test_a_shipped_mail_arrives_with_its_button(shop: Shop, admin: Actor, smtp: Server,
                                                db_url: str) -> None:
    config = make_config(db_url, smtp={"port": smtp.port}, shop=BRAND,
                         mail={"backoff_seconds": 0})
    ref = place(shop, name="<b>Ann</b> [/] Smith", payment_method="wire")
    deliver_once(config)  # rendered when sent: while the order may still be paid
    status.change_status(shop, admin, [ref.id], "paid", hold_mail=False)
    status.change_status(shop, admin, [ref.id], "shipped", hold_mail=False,
                         tracking="6A 123", carrier="Colissimo")
    deliver_once(config)
    kinds = {str(m["X-Backroom-Mail"]).split()[0]: m for m in smtp.received}
    shipped = parts(kinds["shipped"])
    link = DEFAULTS["colissimo"].link("6A 123")
    assert link == "https://www.laposte.fr/outils/suivre-vos-envois?code=6A%20123"
    assert buttons(parse(shipped["text/html"])) == [link]
    assert link in shipped["text/plain"].split("\n")
    assert "/pay/" not in shipped["text/plain"]  # paid: no pay button any more
    assert "&lt;b&gt;Ann&lt;/b&gt; [/] Smith" in shipped["text/html"]
    placed = parts(kinds["order_placed"])
    pay = f"https://chez-ann.example/pay/{ref.code}"
    assert buttons(parse(placed["text/html"])) == [pay] and pay in placed["text/plain"]


def test_mail_check_reports_html_faults(tmp_path: Path) -> None:
    root = tmp_path / "templates"
    (root / "en").mkdir(parents=True)
    (root / "en" / "completed.html").write_text(
        '{% extends "en/_layout.html" %}{% block content %}<div><p><b><i>x</b></i>'
        '<a href="/account">account</a><img src="https://x.example/a.png">{% endblock %}\n',
        encoding="utf-8")
    config = make_config(f"sqlite:///{tmp_path / 's.db'}", mail={"templates_dir": str(root)})
    problems, rendered = check_templates(config)
    text = "\n".join(problems)
    assert rendered == len(EVENTS) * 2
    assert "en/completed.html: rendered line" in text and "adoption agency" in text
    assert "Missing end tag (div)" in text
    assert '<a href="/account"> is not an absolute link (https://, http:// or mailto:)' in text
    assert text.count('<a href="/account">') == 1  # once, not once per brand variant
    assert '<img src="https://x.example/a.png"> has no alt' in text
    assert all(p.startswith("en/completed.html") for p in problems), text


def test_mail_check_takes_every_storefront_address_the_config_takes(tmp_path: Path) -> None:
    """shop.storefront_url may be http:// (the config says so): an absolute link, which
    `mail check` takes, rather than 56 faults for a setting the config accepted. A link the
    layout writes twice (the header and the foot) is one fault, not two."""
    config = make_config(f"sqlite:///{tmp_path / 's.db'}",
                         shop={"storefront_url": "http://shop.example.com"})
    assert check_templates(config)[0] == []
    root = tmp_path / "templates"
    (root / "en").mkdir(parents=True)
    shipped = (SHIPPED_DIR / "en" / "_layout.html").read_text(encoding="utf-8")
    assert shipped.count('href="{{ shop.storefront_url }}"') == 2
    (root / "en" / "_layout.html").write_text(
        shipped.replace('href="{{ shop.storefront_url }}"', 'href="shop/"'), encoding="utf-8")
    config = make_config(f"sqlite:///{tmp_path / 's.db'}", mail={"templates_dir": str(root)})
    problems = check_templates(config)[0]
    fault = 'en/shipped.html: <a href="shop/"> is not an absolute link'
    assert [p for p in problems if p.startswith(fault)] == [
        fault + " (https://, http:// or mailto:)"]


def test_mail_preview_writes_what_the_customer_would_get(shop: Shop, admin: Actor,
                                                         tmp_path: Path, db_url: str,
                                                         monkeypatch) -> None:  # type: ignore[no-untyped-def]
    config_file = tmp_path / "config.toml"
    config_file.write_text(tomli_w.dumps(cli_config(
        db_url, shop={"payment_url": "https://shop.example.com/pay/{code}"})), encoding="utf-8")
    runner = CliRunner()
    args = ["--config", str(config_file), "mail", "preview"]
    out = tmp_path / "sample.html"
    result = runner.invoke(main, [*args, "shipped", "--lang", "fr", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Subject: Votre commande BR-100042 est expédiée\n")
    document = parse(out.read_text(encoding="utf-8"))
    assert document.get("lang") == "fr" and buttons(document)

    ref = place(shop, name="Zoé Martin", payment_method="wire")
    out = tmp_path / "order.html"
    monkeypatch.setenv("BACKROOM_OPERATOR", "nobody")
    result = runner.invoke(main, [*args, "order_placed", "--order", ref.code, "--out", str(out)])
    assert result.exit_code == 1 and "not an operator" in result.output  # a customer's data
    assert not out.exists()
    monkeypatch.setenv("BACKROOM_OPERATOR", "ada")
    result = runner.invoke(main, [*args, "order_placed", "--order", ref.code, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Hello Zoé Martin," in result.output and ref.code in result.output
    assert buttons(parse(out.read_text(encoding="utf-8"))) == [
        f"https://shop.example.com/pay/{ref.code}"]

    result = runner.invoke(main, [*args, "shipped", "--order", "BR-999999", "--out", str(out)])
    assert result.exit_code == 1 and "no such order" in result.output
    result = runner.invoke(main, [*args, "nope", "--out", str(out)])
    assert result.exit_code == 1 and "no mail event 'nope'" in result.output


def test_an_edited_layout_reaches_the_templates_that_inlined_it(tmp_path: Path) -> None:
    """Inlining happens at load: a running renderer recompiles when the layout changes."""
    root = tmp_path / "templates"
    (root / "en").mkdir(parents=True)
    layout = root / "en" / "_layout.html"
    layout.write_text('<!doctype html>\n<html lang="en"><head><title>t</title><style>\n'
                      "p { color: #111111; }\n</style></head>\n"
                      "<body>{% block content %}{% endblock %}</body></html>\n",
                      encoding="utf-8")
    renderer = Renderer(root)
    context = ctxmod.sample("completed", brand_config(), DEFAULT)
    assert 'style="color: #111111"' in renderer.render("completed", "en", context).html
    layout.write_text(layout.read_text(encoding="utf-8").replace("#111111", "#222222"),
                      encoding="utf-8")
    wait_for(lambda: 'style="color: #222222"' in
             renderer.render("completed", "en", context).html, what="the edited layout")
    layout.write_text(layout.read_text(encoding="utf-8").replace(
        "p { color: #222222; }", "{% if code %}p { color: red; }{% endif %}"), encoding="utf-8")
    with pytest.raises(RenderError, match=r"en/_layout.html:2: .*no \{% %\} tags"):
        wait_for(lambda: not renderer.render("completed", "en", context), what="the error")
