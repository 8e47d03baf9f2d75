"""The context every service runs in: the settings and the workflow of one shop, and the
operator a front end works as."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from store import db as dbmod
from store import workflow as wfmod
from store.config import Config
from store.errors import UnknownOperator
from store.operators import (
    Actor,
    current_login,
    is_service_account,
    process_owner,
    require_migrator,
    resolve,
)
from store.workflow import Workflow


@dataclass(frozen=True)
class Shop:
    """One open shop: its config and workflow, and the operator resolved when it was opened
    for one (None for a library caller or a service account). The database is bound to the
    models."""

    config: Config
    workflow: Workflow
    operator: Actor | None = None

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

    @property
    def smtputf8(self) -> bool:
        """Whether the relay delivers to addresses beyond ASCII (smtp.smtputf8)."""
        return bool(self.config.get("smtp", "smtputf8"))

    def actor(self, login: str | None = None) -> Actor:
        """The operator running this process (or `login`), per the operators rules."""
        if login is None and self.operator is not None:
            return self.operator
        new_login_role = str(self.config.get("operators", "new_login_role"))
        return resolve(login or login_of(self.config), new_login_role)

    def require_operator(self) -> Actor:
        """The operator this shop was opened for; refuses when it was opened for none."""
        if self.operator is None:
            raise UnknownOperator("no operator: open the shop for a login first")
        return self.operator


def login_of(config: Config, environ: Mapping[str, str] | None = None,
             owner: Callable[[], str] = process_owner) -> str:
    """Who runs this process, per the shop's operators.service_accounts (store.operators)."""
    return current_login(environ, tuple(config.get("operators", "service_accounts")), owner)


def runs_as_service(config: Config, environ: Mapping[str, str] | None = None,
                    owner: Callable[[], str] = process_owner) -> bool:
    """A service account with no $BACKROOM_OPERATOR: `backroom worker` as a service."""
    environ = os.environ if environ is None else environ
    return (not environ.get("BACKROOM_OPERATOR", "").strip()
            and is_service_account(tuple(config.get("operators", "service_accounts")), owner))


def open_shop(config: Config, login: str | None = None, pooled: bool = False,
              temp_in_memory: bool = False) -> Shop:
    """Validate the workflow, open the database (migrating it if allowed) and bind the models.

    Front ends pass the `login` they run as (`login_of(config)`): it is resolved at once, so
    an unknown or deactivated login is refused before anything reads shop data. Without a
    login (tests, benchmarks, the mailer inside a front end) no operator is resolved. The app
    opens it `pooled`: its worker threads reuse connections; `backroom serve` keeps SQLite's
    temporary files in memory (store.db.connect)."""
    workflow = wfmod.from_config(config.workflow, config.source)
    dbmod.open_database(
        config.database_url,
        busy_timeout_ms=int(config.get("database", "busy_timeout_ms")),
        auto_migrate=bool(config.get("database", "auto_migrate")),
        pooled=pooled,
        temp_in_memory=temp_in_memory,
    )
    shop = Shop(config, workflow)
    if login is None:
        return shop
    return Shop(config, workflow, shop.actor(login))


def upgrade(config: Config, login: str) -> list[str]:
    """`backroom migrate`: apply every pending migration, run by an admin of the shop (or by
    anyone on a database with no operator yet); the names applied."""
    database = dbmod.open_unmigrated(config.database_url,
                                     int(config.get("database", "busy_timeout_ms")))
    require_migrator(database, login)
    return dbmod.migrate(database)
