"""Golden files: the exact text part of every template in every language for one fixed sample
order, so that a layout change shows as a diff in review. After a change made on purpose:
`BACKROOM_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_mail_golden.py`, then read
the diff of tests/golden/ before committing it."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from mailer import context as ctxmod
from mailer.render import EVENTS, LANGUAGES, Renderer
from store.workflow import DEFAULT
from tests.conftest import make_config

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("BACKROOM_UPDATE_GOLDEN") == "1"
SHOP = {"name": "My Shop", "email": "shop@example.com", "phone": "+33 1 23 45 67 89",
        "currency": "EUR", "storefront_url": "https://shop.example.com",
        "footer_line": "My Shop SARL, 1 Rue de la Paix, 75002 Paris",
        "social_links": ["https://www.instagram.com/myshop"],
        "payment_url": "https://shop.example.com/pay/{code}"}


def text_part(event: str, language: str) -> str:
    """The text part as the customer reads it: the subject line, a blank line, the body."""
    config = make_config("sqlite:///unused.db", shop=SHOP)
    mail = Renderer().render(event, language, ctxmod.sample(event, config, DEFAULT))
    return f"Subject: {mail.subject}\n\n{mail.text}"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("event", EVENTS)
def test_text_part_matches_its_golden_file(event: str, language: str) -> None:
    path = GOLDEN / language / f"{event}.txt"
    got = text_part(event, language)
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with BACKROOM_UPDATE_GOLDEN=1"
    want = path.read_text(encoding="utf-8")
    diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                        f"golden/{language}/{event}.txt", "rendered"))
    assert got == want, f"the text part changed (BACKROOM_UPDATE_GOLDEN=1 if on purpose):\n{diff}"
