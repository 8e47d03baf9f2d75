"""Brand settings of `[shop]`: checked when the config loads (colour, contrast, addresses)."""

from __future__ import annotations

from pathlib import Path

import pytest

from store import config as configmod
from store.errors import ConfigError


def load(tmp_path: Path, text: str) -> configmod.Config:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return configmod.load(str(path), environ={})


def test_no_brand_setting_is_required(tmp_path: Path) -> None:
    config = load(tmp_path, "[shop]\nname = \"Tiny\"\n")
    shop = config["shop"]
    assert (shop["logo_url"], shop["footer_line"], shop["social_links"]) == ("", "", [])
    assert shop["accent_colour"] == configmod.ACCENT_DEFAULT and shop["payment_url"] == ""
    assert configmod.contrast_ratio(configmod.ACCENT_DEFAULT) >= 4.5


def test_a_brand_is_taken(tmp_path: Path) -> None:
    config = load(tmp_path, '[shop]\naccent_colour = "#0B6BCB"\n'
                            'logo_url = "https://cdn.example.com/logo.png"\n'
                            'footer_line = "My Shop SARL, 1 Rue de la Paix, Paris"\n'
                            'social_links = ["https://www.instagram.com/myshop"]\n'
                            'payment_url = "https://shop.example.com/pay/{code}"\n')
    assert config.get("shop", "accent_colour") == "#0B6BCB"


def test_contrast_ratio_follows_wcag() -> None:
    assert configmod.contrast_ratio("#000000") == pytest.approx(21.0)
    assert configmod.contrast_ratio("#fff") == pytest.approx(1.0)
    assert configmod.contrast_ratio("#767676") == pytest.approx(4.54, abs=0.01)  # AA grey


@pytest.mark.parametrize(("value", "message"), [
    ("#ffcc00", "contrast ratio of 1.51:1, below the 4.5:1 of WCAG AA"),
    ("#777777", "contrast ratio of 4.47:1, below the 4.5:1"),  # 4.478: not shown as 4.48 or 4.5
    ("red", "must be a CSS hex colour"),
    ("#12345", "must be a CSS hex colour"),
    ("#1f5c99aa", "must be a CSS hex colour"),
    ("#1f5c99; background: url(x)", "must be a CSS hex colour"),
])
def test_an_accent_colour_that_fails_is_refused_on_load(tmp_path: Path, value: str,
                                                        message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, f'[shop]\naccent_colour = "{value}"\n')
    assert "config.toml: shop.accent_colour" in str(caught.value)
    assert message in str(caught.value)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("logo_url", '"http://shop.example.com/logo.png"', "shop.logo_url must be an absolute https"),
    ("logo_url", '"/logo.png"', "shop.logo_url must be an absolute https"),
    ("social_links", '["javascript:alert(1)"]', "shop.social_links must be an absolute https"),
    ("payment_url", '"https://shop.example.com/pay"', "shop.payment_url must hold {code} once"),
    ("payment_url", '"https://shop.example.com/pay/{code.__class__}"', "must hold {code} once"),
    ("payment_url", '"https://shop.example.com/{code}/{code}"', "must hold {code} once"),
])
def test_brand_addresses_must_be_absolute_links(tmp_path: Path, key: str, value: str,
                                                message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, f"[shop]\n{key} = {value}\n")
    assert "config.toml: " in str(caught.value) and message in str(caught.value)
