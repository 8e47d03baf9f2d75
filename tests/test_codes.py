"""Order codes: a mistyped code (one wrong digit, two adjacent digits swapped) is caught by the
Damm check digit and never opens another order; prefix optional, any case, configurable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store import codes, orders
from store.errors import NotFound, ValidationError
from tests.conftest import make_config
from tests.factories import place

numbers = st.integers(min_value=codes.FIRST_NUMBER, max_value=10**9)


def _typos(body: str) -> set[str]:
    """Every single-digit substitution and every adjacent transposition of body."""
    out = set()
    for i, ch in enumerate(body):
        for d in "0123456789":
            if d != ch:
                out.add(body[:i] + d + body[i + 1:])
    for i in range(len(body) - 1):
        if body[i] != body[i + 1]:
            out.add(body[:i] + body[i + 1] + body[i] + body[i + 2:])
    return out


@given(numbers)
def test_every_single_typo_is_rejected(number: int) -> None:
    code = codes.format_code("BR", number)
    assert codes.parse_code(code, "BR") == number
    body = code.split("-")[1]
    for typo in _typos(body):
        with pytest.raises(ValidationError, match="check character does not match"):
            codes.parse_code(f"BR-{typo}", "BR")


@given(numbers, st.sampled_from(["BR-{}", "br-{}", "{}", "Br {}", "bR{}", " BR-{} "]))
def test_prefix_optional_and_any_case(number: int, shape: str) -> None:
    body = codes.format_code("", number)
    assert codes.parse_code(shape.format(body), "BR") == number


def test_other_prefix_and_garbage_are_refused() -> None:
    code = codes.format_code("BR", 100000)
    with pytest.raises(ValidationError, match="prefix"):
        codes.parse_code(code.replace("BR", "XY"), "BR")
    with pytest.raises(ValidationError, match="not an order code"):
        codes.parse_code("hello", "BR")
    assert codes.looks_like_code(code) and not codes.looks_like_code("ann smith")


def test_a_typo_never_opens_another_order(shop) -> None:
    refs = [place(shop) for _ in range(30)]
    by_code = {r.code: r.id for r in refs}
    for ref in refs:
        assert orders.find_order(shop, ref.code).id == ref.id
        assert orders.find_order(shop, ref.code.lower().replace("-", "")).id == ref.id
        body = ref.code.split("-")[1]
        for typo in _typos(body):
            with pytest.raises((ValidationError, NotFound)) as err:
                orders.find_order(shop, f"BR-{typo}")
            assert "check character does not match" in str(err.value), typo
            assert f"BR-{typo}" not in by_code


def test_prefix_is_configurable(tmp_path) -> None:
    from store import db as dbmod
    from store.shop import open_shop

    dbmod.close()
    shop = open_shop(make_config(f"sqlite:///{tmp_path / 'p.db'}", shop={"order_prefix": "ZZ"}))
    try:
        ref = place(shop)
        assert ref.code.startswith("ZZ-")
        assert orders.find_order(shop, ref.code.lower()).id == ref.id
        with pytest.raises(ValidationError, match="start with ZZ"):
            orders.find_order(shop, ref.code.replace("ZZ", "BR"))
    finally:
        dbmod.close()
