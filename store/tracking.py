"""Public tracking links of well-known carriers: the one table that customer mails and the
storefront API both link parcels with."""

from __future__ import annotations

from urllib.parse import quote

TRACKING_URLS = {
    "colissimo": "https://www.laposte.fr/outils/suivre-vos-envois?code={}",
    "la poste": "https://www.laposte.fr/outils/suivre-vos-envois?code={}",
    "chronopost": "https://www.chronopost.fr/tracking-no-cms/suivi-page?listeNumerosLT={}",
    "dhl": "https://www.dhl.com/track?tracking-id={}",
    "ups": "https://www.ups.com/track?tracknum={}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={}",
    "gls": "https://gls-group.com/track/{}",
}


def tracking_url(carrier: str, tracking: str) -> str:
    """A public tracking link for well-known carriers; empty when the carrier is unknown."""
    pattern = TRACKING_URLS.get(carrier.strip().lower())
    if not pattern or not tracking:
        return ""
    return pattern.format(quote(tracking))
