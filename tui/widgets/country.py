"""Choosing a country from the ISO 3166 list as it is typed ("bra" offers Brazil (BR); the
right arrow takes it): the address forms of orders and customers use it."""

from __future__ import annotations

from textual.suggester import Suggester

from store.contact import country_suggestion


class CountrySuggester(Suggester):
    """Offers the country whose code or name starts with what is typed; the store reads the
    offer back into its code (store.contact.country_code)."""

    def __init__(self) -> None:
        super().__init__(use_cache=True, case_sensitive=False)

    async def get_suggestion(self, value: str) -> str | None:
        return country_suggestion(value)
