"""Templates: the sandbox, the caps, overrides from config, and `backroom mail check`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mailer import context as ctxmod
from mailer.check import check_templates
from mailer.render import EVENTS, Renderer, RenderError, money
from store import config as configmod
from store.workflow import DEFAULT
from tests.conftest import make_config
from tests.mail_server import wait_for
from tui.cli import main


@pytest.fixture
def plain_config(tmp_path: Path) -> configmod.Config:
    return make_config(f"sqlite:///{tmp_path / 'shop.db'}")


def override(tmp_path: Path, name: str, text: str) -> Path:
    root = tmp_path / "templates"
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text, encoding="utf-8")
    return root


def sample(config: configmod.Config, event: str = "order_placed") -> dict:
    return ctxmod.sample(event, config, DEFAULT)


def test_every_shipped_template_renders_in_both_languages(plain_config) -> None:  # type: ignore[no-untyped-def]
    problems, rendered = check_templates(plain_config)
    assert problems == []
    assert rendered == len(EVENTS) * 2


def test_money_and_dates_follow_the_language(plain_config) -> None:  # type: ignore[no-untyped-def]
    assert money(123456, "EUR", "fr").replace("\u202f", " ").replace("\xa0", " ") == "1 234,56 €"
    assert money(123456, "EUR", "en") == "€1,234.56"
    assert money(1500, "JPY", "en") == "¥1,500"  # no minor units in yen
    en = Renderer().render("order_placed", "en", sample(plain_config))
    fr = Renderer().render("order_placed", "fr", sample(plain_config))
    assert "November 5, 2026" in en.text and "5 novembre 2026" in fr.text


def test_a_template_that_escapes_the_sandbox_is_refused(tmp_path, plain_config) -> None:  # type: ignore[no-untyped-def]
    root = override(tmp_path, "en/completed.txt",
                    "Subject: hi\n\n{{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    with pytest.raises(RenderError) as caught:
        Renderer(root).render("completed", "en", sample(plain_config))
    assert "completed.txt:3" in str(caught.value)
    root = override(tmp_path, "en/cancelled.txt",
                    "Subject: hi\n\n{{ shop.__init__.__globals__ }}\n")
    with pytest.raises(RenderError, match=r"unsafe|sandbox"):
        Renderer(root).render("cancelled", "en", sample(plain_config))


def test_a_template_that_mutates_its_data_is_refused(tmp_path, plain_config) -> None:  # type: ignore[no-untyped-def]
    root = override(tmp_path, "en/completed.txt", "Subject: hi\n\n{{ order['items'].clear() }}\n")
    with pytest.raises(RenderError, match="sandbox"):
        Renderer(root).render("completed", "en", sample(plain_config))


def test_a_template_that_renders_10_mb_is_refused(tmp_path, plain_config) -> None:  # type: ignore[no-untyped-def]
    root = override(tmp_path, "en/completed.txt",
                    "Subject: big\n\n{% for i in range(100000) %}{{ 'x' ~ '0123456789' * 10 }}"
                    "{% endfor %}\n")
    with pytest.raises(RenderError, match="over 1,000,000 characters"):
        Renderer(root).render("completed", "en", sample(plain_config))
    root = override(tmp_path, "en/cancelled.txt", "Subject: big\n\n{{ 'x' * 10000000 }}\n")
    with pytest.raises(RenderError, match="refused"):
        Renderer(root).render("cancelled", "en", sample(plain_config))


def test_a_string_doubled_with_tilde_is_refused_early(tmp_path, plain_config) -> None:  # type: ignore[no-untyped-def]
    """`~` is not an operator the sandbox sees: 30 doublings would be 10 GB before any cap."""
    root = override(tmp_path, "en/completed.txt",
                    "Subject: big\n\n{% set a = 'xxxxxxxxxx' %}" + "{% set a = a ~ a %}" * 30
                    + "{{ a | length }}\n")
    with pytest.raises(RenderError, match="over 1,000,000 characters"):
        Renderer(root).render("completed", "en", sample(plain_config))


def test_rendering_time_is_capped(tmp_path, plain_config) -> None:  # type: ignore[no-untyped-def]
    root = override(tmp_path, "en/completed.txt",
                    "Subject: slow\n\n{% for i in range(100000) %}{% for j in range(100000) %}"
                    "{% endfor %}{% endfor %}\n")
    with pytest.raises(RenderError, match="longer than"):
        Renderer(root, max_seconds=0.2).render("completed", "en", sample(plain_config))


def test_an_override_directory_replaces_one_template(tmp_path, plain_config) -> None:  # type: ignore[no-untyped-def]
    root = override(tmp_path, "fr/shipped.txt",
                    "Subject: Colis {{ code }} parti !\n\n{{ order.tracking_url }}\n")
    rendered = Renderer(root).render("shipped", "fr", sample(plain_config, "shipped"))
    assert rendered.subject == "Colis BR-100042 parti !"
    assert "laposte.fr" in rendered.text
    assert "Votre commande" in rendered.html  # the HTML part is still the shipped one


def test_a_running_renderer_picks_up_edited_and_added_templates(tmp_path, plain_config) -> None:  # type: ignore[no-untyped-def]
    """Operators edit templates while the app's delivery loop runs: no restart needed."""
    root = override(tmp_path, "en/completed.txt", "Subject: first\n\nOne\n")
    renderer = Renderer(root)

    def render(language: str, event: str = "completed") -> str:
        return renderer.render(event, language, sample(plain_config, event)).subject

    assert render("en") == "first" and render("en", "cancelled").startswith("Order BR-")
    assert renderer.render("completed", "de", sample(plain_config)).language == "en"
    override(tmp_path, "en/completed.txt", "Subject: second\n\nTwo\n")
    wait_for(lambda: render("en") == "second", what="the edited template")
    assert render("en", "cancelled").startswith("Order BR-")  # the shipped one, compiled
    override(tmp_path, "en/cancelled.txt", "Subject: gone\n\nCancelled.\n")
    wait_for(lambda: render("en", "cancelled") == "gone", what="the new override")
    override(tmp_path, "de/completed.txt", "Subject: Zweite\n\nZwei\n")
    override(tmp_path, "de/completed.html", "<p>Zwei</p>\n")
    wait_for(lambda: render("de") == "Zweite", what="the added language")


def test_unknown_language_falls_back_to_the_shop_language(plain_config) -> None:  # type: ignore[no-untyped-def]
    rendered = Renderer().render("completed", "de", sample(plain_config), default_language="fr")
    assert rendered.language == "fr"


def test_mail_check_reports_errors_by_file_and_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = override(tmp_path, "en/shipped.txt", "Subject: x\n\nline three\n{{ order.nope }}\n")
    override(tmp_path, "fr/refunded.html", "<p>\n{% if %}\n</p>\n")
    config_file = tmp_path / "config.toml"
    config_file.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "s.db"}"\n'
                           f'[mail]\ntemplates_dir = "{root}"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config_file), "mail", "check"])
    assert result.exit_code == 1
    assert "en/shipped.txt:4:" in result.output and "nope" in result.output
    assert "fr/refunded.html:2:" in result.output
    assert f"{len(EVENTS) * 2 - 2} template(s) rendered, 2 error(s)" in result.output
