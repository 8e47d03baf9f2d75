"""Request and response bodies of /v1/subscribers: a person signing up for the newsletter on
the shop's form, with the consent they gave."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from web.fields import STRICT, Email, Language, Line, Name


class SubscriberIn(BaseModel):
    """A signup. `consent` must be true (only people who explicitly opted in are ever mailed)
    and `consent_text` is what they agreed to, the form's wording: both are kept as the
    consent record. With newsletter.double_opt_in the address gets a confirmation mail and
    counts as subscribed only once its link is followed."""

    model_config = STRICT

    email: Email
    first_name: Name = ""
    last_name: Name = ""
    language: Language | None = None
    consent: Literal[True] = Field(description="the box the person ticked: must be true")
    consent_text: Line = Field(min_length=1, description="the wording they agreed to")

    def service_args(self) -> dict[str, Any]:
        """The keyword arguments of store.subscribers.subscribe."""
        return {"email": self.email, "first_name": self.first_name,
                "last_name": self.last_name, "language": self.language,
                "wording": self.consent_text}


class SubscriberOut(BaseModel):
    """`state` is pending (waiting for the confirmation link) or subscribed."""

    id: int
    email: str
    state: str
