"""The context every service runs in: the settings and the workflow of one shop."""

from __future__ import annotations

from dataclasses import dataclass

from store import db as dbmod
from store import workflow as wfmod
from store.config import Config
from store.operators import Actor, current_login, resolve
from store.workflow import Workflow


@dataclass(frozen=True)
class Shop:
    """One open shop: its config and workflow. The database is bound to the models."""

    config: Config
    workflow: Workflow

    @property
    def prefix(self) -> str:
        return str(self.config.get("shop", "order_prefix"))

    @property
    def currency(self) -> str:
        return str(self.config.get("shop", "currency"))

    @property
    def language(self) -> str:
        return str(self.config.get("shop", "language"))

    @property
    def undo_seconds(self) -> int:
        return int(self.config.get("ui", "undo_seconds"))

    def actor(self, login: str | None = None) -> Actor:
        """The operator running this process (or `login`), per the operators rules."""
        new_login_role = str(self.config.get("operators", "new_login_role"))
        return resolve(login or current_login(), new_login_role)


def open_shop(config: Config) -> Shop:
    """Validate the workflow, open the database (migrating it if allowed) and bind the models."""
    workflow = wfmod.from_config(config.workflow, config.source)
    dbmod.open_database(
        config.database_url,
        busy_timeout_ms=int(config.get("database", "busy_timeout_ms")),
        auto_migrate=bool(config.get("database", "auto_migrate")),
    )
    return Shop(config, workflow)
