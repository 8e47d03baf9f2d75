"""The core commands: `backroom init` makes its runner admin, `backroom operator add/list/
set-role`, and refusals print one line and exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from store import db as dbmod
from tui.cli import main


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run `backroom ARGS` as LOGIN in a tmp directory initialised on db_url by ada."""
    for name in ("BACKROOM_CONFIG", "BACKROOM_DATABASE_URL", "BACKROOM_OPERATOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(login: str, *args: str) -> Result:
        dbmod.close()
        result = runner.invoke(main, list(args), env={"BACKROOM_OPERATOR": login})
        dbmod.close()
        return result

    init = run("ada", "init", "--database", db_url)
    assert init.exit_code == 0, init.output
    assert init.output.strip().endswith("ada is admin")
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
    last = cli("ada", "operator", "set-role", "ada", "viewer")
    assert last.exit_code == 1 and "last admin" in last.output


def test_init_again_makes_the_new_runner_admin(cli) -> None:  # type: ignore[no-untyped-def]
    again = cli("zoe", "init", "--force", "--database", _url_of_config())
    assert again.exit_code == 0 and again.output.strip().endswith("zoe is admin")
    assert ["zoe", "admin", "active", "zoe"] in [
        line.split() for line in cli("zoe", "operator", "list").output.splitlines()]


def _url_of_config() -> str:
    import tomllib

    return str(tomllib.loads(Path("config.toml").read_text())["database"]["url"])
