"""Templates: the sandbox, the caps, overrides from config, and `backroom mail check`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mailer import context as ctxmod
from mailer.check import check_templates, text_problems
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
    assert rendered.subject == "Colis BR-100042 parti\u202f!"
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


@pytest.mark.parametrize("language", ["en", "fr"])
def test_text_parts_keep_one_thing_per_line(plain_config, language: str) -> None:  # type: ignore[no-untyped-def]
    """Issue 11: trim_blocks ate the line break after inline tags ("is on its way.Tracking
    number: 6A123Your order ...") in the shipped, refunded and cancelled mails."""
    renderer = Renderer()
    texts = {event: renderer.render(event, language, sample(plain_config, event)).text
             for event in EVENTS}
    for event, text in texts.items():
        assert text_problems(text, event, ["6A123", "BR-100042"]) == [], (event, text)
    lines = {event: text.split("\n") for event, text in texts.items()}
    shipped = lines["shipped"]
    tracking = next(i for i, line in enumerate(shipped) if line.endswith(": 6A123"))
    assert shipped[tracking - 1].endswith("Colissimo.")
    assert shipped[tracking + 1] == ""
    assert shipped[tracking + 2].endswith(":")  # "Track your parcel:", then the link alone
    assert shipped[tracking + 3] == "https://www.laposte.fr/outils/suivre-vos-envois?code=6A123"
    assert shipped[tracking + 4] == ""  # the order summary starts after a blank line
    assert "We added a sample of our new tea." in lines["cancelled"]  # the message
    assert any(line.endswith(": damaged item") for line in lines["refunded"])
    for text in texts.values():
        assert "\n\n--\n" in text and "\n\n\n" not in text


def test_a_template_keeps_the_line_breaks_it_was_written_with(tmp_path, plain_config) -> None:  # type: ignore[no-untyped-def]
    """A line holding only tags vanishes with its line break; every other break stays, also
    after a tag in the middle of a line, and indentation is the author's."""
    root = override(tmp_path, "en/completed.txt",
                    "Subject: x\n\nShipped.{% if tracking %}\nTracking: {{ tracking }}{% endif %}\n"
                    "  {% for i in range(2) %}\n  - {{ i }}\n  {% endfor %}\n"
                    "{# a comment line #}\n"
                    "{% if note %}{{ note }}{% endif %}\nBye.\n")
    text = Renderer(root).render("completed", "en", sample(plain_config, "completed")).text
    assert text == "Shipped.\nTracking: 6A123\n  - 0\n  - 1\nPacked with care.\nBye.\n"


def test_errors_name_the_line_after_lines_of_tags(tmp_path, plain_config) -> None:  # type: ignore[no-untyped-def]
    root = override(tmp_path, "en/completed.txt",
                    "Subject: x\n\n{% if true %}\n{% endif %}\n{# note #}\n{{ order.nope }}\n")
    with pytest.raises(RenderError) as caught:
        Renderer(root).render("completed", "en", sample(plain_config, "completed"))
    assert "completed.txt:6" in str(caught.value)


def test_mail_check_catches_text_that_runs_together(tmp_path, plain_config) -> None:  # type: ignore[no-untyped-def]
    root = override(tmp_path, "en/shipped.txt",
                    "Subject: Shipped\n\nHello,\n\nOrder {{ code }} is on its way."
                    "{% if tracking %}Tracking number: {{ tracking }}{% endif %}\n"
                    "See you.{% include 'en/_footer.txt' %}\n")
    override(tmp_path, "fr/cancelled.txt",
             "Subject: Annulée\n\nCommande {{ code }}{{ tracking }}\n")
    override(tmp_path, "fr/_order.txt", "{% if order %}{{ order.code }}{% endif %}")
    problems, _ = check_templates(plain_config, Renderer(root))
    text = "\n".join(problems)
    assert "en/shipped.txt: rendered line 3 runs two things together" in text
    assert "is on its way.Tracking number: 6A123…): put each on a line of its own" in text
    assert "en/shipped.txt:6: an include shares its line" in text
    assert "fr/cancelled.txt: rendered line 1 runs two things together" in text  # BR-...6A123
    assert "fr/_order.txt: its output does not end with a line break" in text
    assert len(problems) == 4, text


def test_french_text_gets_its_no_break_spaces(tmp_path, plain_config) -> None:  # type: ignore[no-untyped-def]
    """A narrow no-break space before ; ! ? and a no-break space before : in French, in the
    template's own text of both parts; links, times, tags and entities are left alone."""
    root = override(tmp_path, "fr/completed.txt",
                    "Subject: Prêt ? Oui !\n\nNote : à 14:30 ; voir https://x.example/?a=1 "
                    "ou mailto:a@b.fr\nFini!\n{{ code }}: fait\n")
    override(tmp_path, "fr/completed.html",
             '<p title="a : b">Note : <a href="https://x.example/?q=1">ici</a> &amp; là ?</p>\n')
    override(tmp_path, "en/completed.txt", "Subject: Ready ? Yes !\n\nNote : done\n")
    mail = Renderer(root).render("completed", "fr", sample(plain_config, "completed"))
    assert mail.subject == "Prêt\u202f? Oui\u202f!"
    assert mail.text == ("Note\xa0: à 14:30\u202f; voir https://x.example/?a=1 ou mailto:a@b.fr\n"
                         "Fini\u202f!\nBR-100042\xa0: fait\n")
    assert 'title="a : b"' in mail.html and ">Note\xa0: <a" in mail.html
    assert 'href="https://x.example/?q=1"' in mail.html and "&amp; là\u202f?</p>" in mail.html
    english = Renderer(root).render("completed", "en", sample(plain_config, "completed"))
    assert english.subject == "Ready ? Yes !" and english.text == "Note : done\n"
