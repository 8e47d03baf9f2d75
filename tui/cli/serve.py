"""`backroom serve`: the storefront API over HTTP (uvicorn running web.app). tui never
imports web: uvicorn is handed the app as an import string, and this command passes its
--config and --database on through the environment. uvicorn is imported inside the command,
so no other command pays for the HTTP stack when the CLI starts."""

from __future__ import annotations

import os
from pathlib import Path

import click

from store import db as dbmod
from tui.cli.common import CliState, pass_state

APP = "web.app:from_environment"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (TLS is the reverse proxy's job; see README).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port, printed at start).")
@click.option("--access-log/--no-access-log", default=False, show_default=True,
              help="Log each request on stderr (the reverse proxy in front logs them too).")
@pass_state
def serve(state: CliState, host: str, port: int, access_log: bool) -> None:
    """Serve the storefront API until SIGTERM or Ctrl+C (several may share a PostgreSQL
    database). Requests act as their API key (`backroom apikey add`), not as an operator."""
    state.service_shop()  # the config and database checked (and migrated) before listening
    dbmod.close()
    if state.config_path:
        os.environ["BACKROOM_CONFIG"] = str(Path(state.config_path).resolve())
    if state.database:
        os.environ["BACKROOM_DATABASE_URL"] = state.database
    import uvicorn

    uvicorn.run(APP, factory=True, host=host, port=port, access_log=access_log,
                server_header=False, log_level="info")


COMMANDS: list[click.Command] = [serve]
