"""A campaign as a chosen recipient would read it, for the app's and the command line's
preview: the subject, the text part, and the text rendering of the HTML part. A sample
stands in for the recipient when none is chosen; the unsubscribe link is a placeholder."""

from __future__ import annotations

from dataclasses import dataclass

from mailer.campaign_render import Compiled, Recipient, html_to_text
from store.campaign_queries import CampaignBody, SampleRecipient
from store.config import Config

SAMPLE_EMAIL = "subscriber@example.com"
SAMPLE_UNSUBSCRIBE = "https://unsubscribe.example/u/TOKEN"


@dataclass(frozen=True)
class Preview:
    subject: str
    to: str
    text: str
    html_as_text: str  # "" for a plain-text campaign


def preview(config: Config, body: CampaignBody, who: SampleRecipient | None) -> Preview:
    """The campaign filled for `who` (None: a sample address with no name)."""
    recipient = Recipient(who.email if who else SAMPLE_EMAIL, who.first_name if who else "",
                          who.last_name if who else "", SAMPLE_UNSUBSCRIBE)
    rendered = Compiled(body, config).render(recipient)
    return Preview(rendered.subject, recipient.email, rendered.text,
                   html_to_text(rendered.html) if rendered.html else "")
