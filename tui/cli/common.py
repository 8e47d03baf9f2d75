"""What every command group shares: the state the group options chose (config, shop,
operator, opened on first use), the group class that turns a store refusal into one line and
exit status 1, and the table/CSV/JSON printer."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from store import config as configmod
from store.errors import BackroomError
from store.operators import Actor
from store.shop import Shop, open_shop

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
        return self._config

    @property
    def shop(self) -> Shop:
        if self._shop is None:
            self._shop = open_shop(self.config)
        return self._shop

    @property
    def actor(self) -> Actor:
        if self._actor is None:
            self._actor = self.shop.actor()
        return self._actor


class BackroomGroup(click.Group):
    """A click group that turns store errors into one clear line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BackroomError as exc:
            click.echo(f"backroom: {exc}", err=True)
            sys.exit(1)


pass_state = click.make_pass_decorator(CliState)
FORMATS = click.Choice(["table", "csv", "json"])


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str) -> None:
    """Print rows as an aligned table, CSV with a header, or a JSON list."""
    if fmt == "json":
        click.echo(json.dumps(list(rows), default=str, ensure_ascii=False, indent=2))
        return
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row[k] is None else row[k] for k in columns})
        click.echo(buffer.getvalue(), nl=False)
        return
    text = [[("" if row[c] is None else str(row[c])) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in text)]) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in text:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
