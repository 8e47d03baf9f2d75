"""What every command group shares: the state the group options chose (config, shop,
operator, opened on first use), the group class that turns a store refusal into one line and
exit status 1, and the table/CSV/JSON printer."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from store import config as configmod
from store import events_log
from store.csvout import csv_text
from store.db import store_error
from store.errors import BackroomError
from store.operators import Actor, process_owner, service_actor
from store.shop import Shop, login_of, open_shop, runs_as_service
from store.text import printable

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    """What the group options chose; the shop is opened on first use."""

    config_path: str | None
    database: str | None
    _config: configmod.Config | None = None
    _shop: Shop | None = None
    _actor: Actor | None = field(default=None)

    @property
    def config(self) -> configmod.Config:
        if self._config is None:
            self._config = configmod.load(self.config_path, self.database)
            events_log.setup(str(self._config.get("ui", "log_to")),
                             str(self._config.get("ui", "log_file")))
        return self._config

    @property
    def shop(self) -> Shop:
        """The shop, opened for the operator running the command (store.shop.login_of): an
        unknown or deactivated login is refused before any command reads shop data."""
        if self._shop is None:
            self._shop = open_shop(self.config, login_of(self.config))
        return self._shop

    @property
    def actor(self) -> Actor:
        if self._actor is None:
            self._actor = self.shop.require_operator()
        return self._actor

    def service_shop(self) -> Shop:
        """The shop for `backroom worker`: a service account (operators.service_accounts,
        no $BACKROOM_OPERATOR) runs it without being an operator; anyone else must be one."""
        if self._shop is None and runs_as_service(self.config):
            self._shop = open_shop(self.config)
        return self.shop

    @property
    def is_service(self) -> bool:
        """This process runs as a service account with no operator named."""
        return runs_as_service(self.config)

    def maintainer(self) -> Actor:
        """Who runs a maintenance command (backup, check, status): the operator, or a
        service account (a systemd timer) acting as itself (store.operators.service_actor)."""
        shop = self.service_shop()
        if shop.operator is None and self.is_service:
            return service_actor(process_owner())
        return self.actor


class BackroomGroup(click.Group):
    """A click group that turns store errors into one clear line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BackroomError as exc:
            click.echo(f"backroom: {printable(str(exc))}", err=True)
            sys.exit(1)
        except Exception as exc:  # a database error the store did not see (last resort)
            error = store_error(exc)
            if error is None:
                raise
            click.echo(f"backroom: {printable(str(error))}", err=True)
            sys.exit(1)


pass_state = click.make_pass_decorator(CliState)
FORMATS = click.Choice(["table", "csv", "json"])


_JSON_UNSAFE = re.compile(r"[\x7f-\x9f]")


def json_text(value: Any) -> str:
    """JSON for a terminal or a script: json already escapes C0 controls; DEL and the C1
    controls (which some terminals obey too) are escaped as well, so nothing is lost."""
    text = json.dumps(value, default=str, ensure_ascii=False, indent=2)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def cut_at_limit(shown: int, noun: str, more: bool) -> None:
    """Say on stderr that `--limit` cut a list short: a list written to a file for a
    spreadsheet (`--format csv`) held the first 100 rows of 515 without a word."""
    if more:
        click.echo(f"the first {shown:,} {noun} are listed and more match: --limit 0 lists "
                   "them all", err=True)


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str) -> None:
    """Print rows as an aligned table, CSV with a header, or a JSON list. Stored text may
    hold control characters (written before they were refused, or by another program):
    they are shown as visible escapes (store.text.printable), never sent to the terminal;
    a CSV cell never starts a formula (store.csvout), and numbers stay numbers."""
    if fmt == "json":
        click.echo(json_text(list(rows)))
        return
    if fmt == "csv":
        click.echo(csv_text([{k: printable(v) if isinstance(v, str) else v
                              for k, v in row.items()} for row in rows], columns), nl=False)
        return
    text = [[printable(row[c]) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in text)]) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in text:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
