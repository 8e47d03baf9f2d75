"""The newsletter's signed links: unsubscribe (`/u/{token}`), double opt-in confirmation
(`/s/{token}`), and a tracked campaign's open pixel (`/o/{token}.gif`) and clicks
(`/c/{token}`: a campaign mail and the index of one of its body's links). Signed with
itsdangerous (HMAC-SHA256 over a key derived from newsletter.secret and a salt per kind of
link), so a token cannot be forged or guessed, and
each carries only ids, never an email. A confirmation token is timed (newsletter.confirm_days);
an unsubscribe token works for ever, as the law wants."""

from __future__ import annotations

import hashlib

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from store.config import Config, defaults
from store.errors import ConfigError, NotFound

_SIGNER = {"digest_method": hashlib.sha256}


def secret(config: Config) -> str:
    """newsletter.secret, refused when empty: a link signed with nothing is forgeable."""
    key = str(config.get("newsletter", "secret"))
    if len(key) < 16:
        raise ConfigError("newsletter.secret is not set (or shorter than 16 characters): set "
                          "it, or $BACKROOM_NEWSLETTER_SECRET, to a long random string "
                          "(python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    return key


def base_url(config: Config) -> str:
    """Where `backroom serve` answers the links: newsletter.public_url, else the storefront."""
    url = str(config.get("newsletter", "public_url")) or str(config.get("shop", "storefront_url"))
    return url.rstrip("/")


def answered_base(config: Config) -> str:
    """base_url, refused while it is the example storefront that a new config holds
    (shop.storefront_url's default): a campaign went out with every unsubscribe link and
    its pixel on https://shop.example.com, where no one can unsubscribe."""
    url = base_url(config)
    if url == str(defaults()["shop"]["storefront_url"]).rstrip("/"):
        raise ConfigError(f"the newsletter's links would point at {url}, the example address "
                          "of a new config: set newsletter.public_url (or shop.storefront_url) "
                          "to the address where `backroom serve` answers; nothing was sent")
    return url


def unsubscribe_token(config: Config, subscriber_id: int, campaign_id: int) -> str:
    """The token of one recipient's unsubscribe link (subscriber 0: a test send)."""
    signer = URLSafeSerializer(secret(config), salt="unsubscribe", signer_kwargs=_SIGNER)
    return str(signer.dumps([subscriber_id, campaign_id]))


def unsubscribe_url(config: Config, subscriber_id: int, campaign_id: int) -> str:
    return f"{base_url(config)}/u/{unsubscribe_token(config, subscriber_id, campaign_id)}"


def read_unsubscribe(config: Config, token: str) -> tuple[int, int]:
    """(subscriber id, campaign id) of a genuine token; NotFound for anything else."""
    signer = URLSafeSerializer(secret(config), salt="unsubscribe", signer_kwargs=_SIGNER)
    try:
        value = signer.loads(token)
    except BadSignature:
        raise NotFound("this unsubscribe link is not valid") from None
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise NotFound("this unsubscribe link is not valid")
    return int(value[0]), int(value[1])


def confirm_token(config: Config, subscriber_id: int) -> str:
    signer = URLSafeTimedSerializer(secret(config), salt="confirm", signer_kwargs=_SIGNER)
    return str(signer.dumps(subscriber_id))


def confirm_url(config: Config, subscriber_id: int) -> str:
    return f"{base_url(config)}/s/{confirm_token(config, subscriber_id)}"


def read_confirm(config: Config, token: str) -> int:
    """The subscriber id of a genuine, unexpired confirmation token."""
    signer = URLSafeTimedSerializer(secret(config), salt="confirm", signer_kwargs=_SIGNER)
    days = int(config.get("newsletter", "confirm_days"))
    try:
        value = signer.loads(token, max_age=days * 86400)
    except SignatureExpired:
        raise NotFound(f"this confirmation link is older than {days} days; sign up again "
                       "to get a new one") from None
    except BadSignature:
        raise NotFound("this confirmation link is not valid") from None
    if not isinstance(value, int) or isinstance(value, bool):
        raise NotFound("this confirmation link is not valid")
    return value


def _ids(config: Config, salt: str, token: str, size: int, what: str) -> list[int]:
    signer = URLSafeSerializer(secret(config), salt=salt, signer_kwargs=_SIGNER)
    try:
        value = signer.loads(token)
    except BadSignature:
        raise NotFound(f"this {what} link is not valid") from None
    if (not isinstance(value, list) or len(value) != size
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise NotFound(f"this {what} link is not valid")
    return [int(v) for v in value]


def open_url(config: Config, mail_id: int) -> str:
    """The open pixel of one campaign mail."""
    signer = URLSafeSerializer(secret(config), salt="open", signer_kwargs=_SIGNER)
    return f"{base_url(config)}/o/{signer.dumps([mail_id])}.gif"


def click_url(config: Config, mail_id: int, link: int) -> str:
    """The tracked address of a campaign mail's link (its index in store.campaign_links)."""
    signer = URLSafeSerializer(secret(config), salt="click", signer_kwargs=_SIGNER)
    return f"{base_url(config)}/c/{signer.dumps([mail_id, link])}"


def read_open(config: Config, token: str) -> int:
    """The campaign mail id of a genuine open token; NotFound for anything else."""
    return _ids(config, "open", token, 1, "open")[0]


def read_click(config: Config, token: str) -> tuple[int, int]:
    """(campaign mail id, link index) of a genuine click token; NotFound for anything else."""
    mail_id, link = _ids(config, "click", token, 2, "click")
    return mail_id, link
