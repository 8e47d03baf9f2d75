"""What the app and the command line both ask before a campaign goes: the addresses its test
send goes to, and how many an audience typed (not yet saved) would reach now. Reads only."""

from __future__ import annotations

from collections.abc import Iterable

from store import audience, operators
from store.config import Config
from store.contact import normalise_email
from store.errors import ValidationError
from store.operators import Actor, require
from store.shop import Shop


def test_addresses(config: Config, actor: Actor, extra: Iterable[str] = ()) -> list[str]:
    """The operator's own address (`backroom operator email`), newsletter.test_addresses and
    any `extra`, each once, in that order; refused when there is none."""
    require(actor, "newsletter")
    own = operators.email_of(actor.login)
    addresses = list(dict.fromkeys(
        a for a in [own, *config.get("newsletter", "test_addresses"),
                    *(normalise_email(e, field="to") for e in extra)] if a))
    if not addresses:
        raise ValidationError("no address to send the test to: set yours with `backroom "
                              "operator email LOGIN ADDRESS` or list some in "
                              "newsletter.test_addresses (the command also takes --to)",
                              field="to")
    return addresses


def audience_count(shop: Shop, actor: Actor, text: str) -> int:
    """How many subscribers the audience `text` (empty: all; or a customer filter such as
    segment:vip) would reach now; a filter that is not one is refused, naming why."""
    require(actor, "newsletter_view")
    return audience.count(shop, audience.check(shop, text))
