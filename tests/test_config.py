"""Config: `backroom init` writes the documented defaults, discovery follows the documented
order, mistakes name the file, the key and what was expected, and secrets come from env."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from store import config as configmod
from store import db as dbmod
from store.errors import ConfigError
from tests.conftest import OWNER
from tui.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A clean environment: tmp cwd, XDG dirs under tmp, no backroom variables."""
    for name in ("BACKROOM_CONFIG", "BACKROOM_DATABASE_URL", "BACKROOM_SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv("BACKROOM_OPERATOR", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield work
    dbmod.close()


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_init_writes_defaults_and_never_overwrites(home: Path) -> None:
    url = f"sqlite:///{home / 'shop.db'}"
    runner = CliRunner()
    result = runner.invoke(main, ["init", "--database", url])
    assert result.exit_code == 0, result.output
    assert f"{OWNER} is an admin" in result.output
    written = tomllib.loads((home / "config.toml").read_text())
    expected = configmod.defaults()
    expected["database"]["url"] = url
    assert written == expected
    assert (home / "shop.db").exists()

    (home / "config.toml").write_text(
        (home / "config.toml").read_text().replace('"My Shop"', '"Mine"'))
    again = runner.invoke(main, ["init", "--database", url])
    assert again.exit_code == 1
    assert "exists; use --force" in again.output
    assert '"Mine"' in (home / "config.toml").read_text()

    forced = runner.invoke(main, ["init", "--database", url, "--force"])
    assert forced.exit_code == 0, forced.output
    assert '"My Shop"' in (home / "config.toml").read_text()


def test_init_without_database_uses_the_user_data_dir(home: Path) -> None:
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 0, result.output
    url = tomllib.loads((home / "config.toml").read_text())["database"]["url"]
    assert url.startswith("sqlite:///") and "xdg-data" in url and Path(url[10:]).exists()


def test_discovery_order(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = _write(home.parent / "xdg-config" / "backroom" / "config.toml",
                  '[shop]\nname = "user dir"\n')
    assert configmod.load().get("shop", "name") == "user dir"
    assert configmod.load().source == str(user)
    _write(home / "config.toml", '[shop]\nname = "cwd"\n')
    assert configmod.load().get("shop", "name") == "cwd"
    env = _write(home / "env.toml", '[shop]\nname = "env"\n')
    monkeypatch.setenv("BACKROOM_CONFIG", str(env))
    assert configmod.load().get("shop", "name") == "env"
    explicit = _write(home / "explicit.toml", '[shop]\nname = "explicit"\n')
    assert configmod.load(str(explicit)).get("shop", "name") == "explicit"


def test_no_config_means_defaults(home: Path) -> None:
    config = configmod.load()
    assert config.source == "defaults"
    assert config.get("shop", "currency") == "EUR"
    assert config.database_url.startswith("sqlite:///") and "xdg-data" in config.database_url


def test_missing_explicit_files_are_named(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: no such config file"):
        configmod.load("nope.toml")
    monkeypatch.setenv("BACKROOM_CONFIG", "gone.toml")
    with pytest.raises(ConfigError, match=r"gone.toml: \$BACKROOM_CONFIG names no file"):
        configmod.load()


@pytest.mark.parametrize(("text", "expected"), [
    ('[shop]\ncolour = "red"\n', "unknown key shop.colour (known: name, email"),
    ('[shopp]\nname = "x"\n', "unknown section [shopp]"),
    ('[ui]\npage_size = "100"\n', "ui.page_size must be a whole number, not '100'"),
    ("[database]\nauto_migrate = 1\n", "database.auto_migrate must be true or false, not 1"),
    ("[shop]\nadmin_emails = [1]\n", "shop.admin_emails must be a list, not [1]"),
    ('[smtp]\nsecurity = "ssl"\n', "smtp.security must be none, starttls or tls"),
    ('[operators]\nnew_login_role = "boss"\n', "operators.new_login_role must be empty, viewer"),
    ("[shop\n", "not valid TOML"),
    ('[newsletter.domain_per_second]\ngmail = 5\n', "'gmail' is not a domain"),
    ('[newsletter.domain_per_second]\n"gmail.com" = 0\n', "gmail.com = 0 is not a number"),
])
def test_mistakes_name_file_key_and_expectation(home: Path, text: str, expected: str) -> None:
    path = _write(home / "config.toml", text)
    with pytest.raises(ConfigError) as err:
        configmod.load()
    assert str(err.value).startswith(f"{path}:") or str(err.value).startswith("config.toml:")
    assert expected in str(err.value)


def test_cli_prints_config_error_in_one_line(home: Path) -> None:
    _write(home / "config.toml", '[shop]\ncolour = "red"\n')
    result = CliRunner().invoke(main, ["operator", "list"])
    assert result.exit_code == 1
    assert result.output.strip().startswith("backroom: config.toml: unknown key shop.colour")
    assert "Traceback" not in result.output


def test_environment_overrides(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(home / "config.toml",
           '[database]\nurl = "sqlite:///file.db"\n[smtp]\npassword = "in-file"\n')
    assert configmod.load().get("smtp", "password") == "in-file"
    monkeypatch.setenv("BACKROOM_SMTP_PASSWORD", "s3cret")
    monkeypatch.setenv("BACKROOM_DATABASE_URL", "postgresql://u@h/env")
    config = configmod.load()
    assert config.get("smtp", "password") == "s3cret"
    assert config.database_url == "postgresql://u@h/env"
    assert configmod.load(database="sqlite:///option.db").database_url == "sqlite:///option.db"


def test_cli_database_option_wins(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(home / "config.toml", f'[database]\nurl = "sqlite:///{home / "file.db"}"\n')
    monkeypatch.setenv("BACKROOM_DATABASE_URL", f"sqlite:///{home / 'env.db'}")
    runner = CliRunner()
    assert runner.invoke(main, ["operator", "list"]).exit_code == 0
    assert (home / "env.db").exists() and not (home / "file.db").exists()
    dbmod.close()
    result = runner.invoke(main, ["--database", f"sqlite:///{home / 'opt.db'}", "operator", "list"])
    assert result.exit_code == 0, result.output
    assert (home / "opt.db").exists() and not (home / "file.db").exists()


def test_example_file_is_the_rendered_schema() -> None:
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    assert text == configmod.render_example(), "regenerate config.example.toml"
    parsed = tomllib.loads(text)
    assert parsed == configmod.defaults() | {"views": {}, "keys": {}}
    for section, settings in configmod.SCHEMA.items():
        assert f"[{section}]" in text
        for key, setting in settings.items():
            assert f"\n{key} = " in text, f"{section}.{key} missing from config.example.toml"
            assert setting.doc in text
    assert configmod.from_mapping(parsed, "config.example.toml", environ={}).source == (
        "config.example.toml")
