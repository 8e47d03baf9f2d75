"""The core commands: `backroom init` makes its runner admin, `backroom operator add/list/
set-role`, and refusals print one line and exit 1."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner, Result

from store import db as dbmod
from tests.conftest import OWNER
from tui.cli import main


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run `backroom ARGS` as LOGIN in a tmp directory initialised on db_url by ada."""
    for name in ("BACKROOM_CONFIG", "BACKROOM_DATABASE_URL", "BACKROOM_OPERATOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(login: str | None, *args: str) -> Result:
        dbmod.close()
        result = runner.invoke(main, list(args), env={"BACKROOM_OPERATOR": login})
        dbmod.close()
        return result

    init = run(None, "init", "--database", db_url)  # the owner of the process: a new shop's admin
    assert init.exit_code == 0, init.output
    assert init.output.strip().endswith(f"{OWNER} is an admin")
    # this process then serves several operators, as a shared SSH account does
    config = tomllib.loads(Path("config.toml").read_text())
    config["operators"]["service_accounts"] = [OWNER]
    Path("config.toml").write_text(tomli_w.dumps(config))
    assert run(None, "operator", "add", "ada", "--role", "admin").exit_code == 0
    return run


def test_operator_add_list_set_role(cli) -> None:  # type: ignore[no-untyped-def]
    added = cli("ada", "operator", "add", "bob", "--role", "clerk", "--name", "Bob B")
    assert added.exit_code == 0 and added.output.strip() == "bob is now a clerk"
    listed = cli("bob", "operator", "list")
    assert listed.exit_code == 0
    rows = [line.split() for line in listed.output.splitlines()]
    assert ["ada", "admin", "active", "ada"] in rows
    assert ["bob", "clerk", "active", "Bob", "B"] in rows
    assert cli("ada", "operator", "set-role", "bob", "manager").output.strip() == (
        "bob is now a manager")
    assert "bob      " in cli("ada", "operator", "list").output


def test_refusals_are_one_line(cli) -> None:  # type: ignore[no-untyped-def]
    cli("ada", "operator", "add", "cleo", "--role", "clerk")
    denied = cli("cleo", "operator", "add", "eve", "--role", "admin")
    assert denied.exit_code == 1
    assert denied.output == (
        "backroom: cleo is a clerk: only an admin or above may manage operators\n")
    stranger = cli("mallory", "operator", "list")
    assert stranger.exit_code == 1
    assert stranger.output.strip() == (
        "backroom: mallory is not an operator of this shop; an admin can add you with "
        "`backroom operator add mallory --role clerk`")
    bad_role = cli("ada", "operator", "add", "x", "--role", "boss")
    assert bad_role.exit_code == 2 and "'boss' is not one of" in bad_role.output
    duplicate = cli("ada", "operator", "add", "cleo", "--role", "clerk")
    assert duplicate.exit_code == 1 and "already an operator" in duplicate.output
    assert cli("ada", "operator", "set-role", OWNER, "viewer").exit_code == 0
    last = cli("ada", "operator", "set-role", "ada", "viewer")
    assert last.exit_code == 1 and "last admin" in last.output


def test_init_again_makes_nobody_admin(cli) -> None:  # type: ignore[no-untyped-def]
    """`init` on a shop that has operators makes no one admin: a stranger is refused before
    the config is written, an operator keeps their role."""
    before = Path("config.toml").read_text()
    stranger = cli("zoe", "init", "--force", "--database", _url_of_config())
    assert stranger.exit_code == 1 and "zoe is not an operator" in stranger.output
    assert Path("config.toml").read_text() == before
    cli("ada", "operator", "add", "cleo", "--role", "clerk")
    clerk = cli("cleo", "init", "--force", "--database", _url_of_config())
    assert clerk.exit_code == 0 and clerk.output.strip().endswith("cleo is a clerk")
    assert "zoe" not in cli(None, "operator", "list").output


def _url_of_config() -> str:
    return str(tomllib.loads(Path("config.toml").read_text())["database"]["url"])
