"""deploy/: the systemd units start the services as a service account, restart them on
failure and read the secrets from an EnvironmentFile; the backup examples (the timer's
service and the crontab line the README shows) are run here, pointed at a scratch shop."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w

from store import db as dbmod
from store import operators
from store.shop import open_shop
from tests.conftest import OWNER, make_config
from tests.factories import place

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
BACKROOM = str(Path(sys.executable).with_name("backroom"))
UNITS = ("backroom-worker@.service", "backroom-serve@.service", "backroom-backup.service",
         "backroom-backup.timer")


def unit(name: str) -> dict[str, dict[str, str]]:
    """A unit file's sections and keys (the last value of a key repeated)."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in (DEPLOY / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
        else:
            key, _, value = line.partition("=")
            current[key] = value
    return sections


@pytest.mark.parametrize("name", ["backroom-worker@.service", "backroom-serve@.service"])
def test_services_restart_as_a_service_account_with_their_secrets(name: str) -> None:
    service = unit(name)["Service"]
    assert service["Restart"] == "on-failure"
    assert service["User"] == "backroom" and service["Group"] == "backroom"
    assert service["EnvironmentFile"] == "/etc/backroom/backroom.env"
    assert service["ExecStart"].startswith("/opt/backroom/.venv/bin/backroom --config "
                                           "/etc/backroom/config.toml ")
    assert unit(name)["Install"]["WantedBy"] == "multi-user.target"
    env = (DEPLOY / "backroom.env.example").read_text()
    assert "BACKROOM_DATABASE_URL=" in env and "BACKROOM_SMTP_PASSWORD=" in env


def test_the_timer_runs_the_backup_nightly() -> None:
    timer = unit("backroom-backup.timer")
    assert timer["Timer"]["OnCalendar"] == "*-*-* 02:15:00" and timer["Timer"]["Persistent"]
    backup = unit("backroom-backup.service")["Service"]
    assert backup["Type"] == "oneshot" and backup["User"] == "backroom"
    assert " backup --to /var/backups/backroom --keep 14" in backup["ExecStart"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """No unknown key, section or value: systemd would ignore it, and the service with it."""
    paths = []
    for name in UNITS:  # as installed: instance @1, the executable where it is here
        path = tmp_path / name.replace("@.", "@1.")
        path.write_text((DEPLOY / name).read_text().replace("/opt/backroom/.venv/bin/backroom",
                                                            BACKROOM))
        paths.append(str(path))
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", *paths],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stderr.splitlines() if "backroom" in line] == []


def _scratch_shop(tmp_path: Path) -> tuple[Path, Path]:
    """A shop whose config lists this account as the service account, as /etc/backroom/
    config.toml does for `backroom`; its config path and backup directory."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    dbmod.close()
    shop = open_shop(make_config(url))
    operators.ensure_admin("ada")
    place(shop)
    dbmod.close()
    config = tmp_path / "config.toml"
    config.write_text(tomli_w.dumps({"database": {"url": url},
                                     "operators": {"service_accounts": [OWNER]}}))
    return config, tmp_path / "backups"


def _run(command: str, config: Path, backups: Path, env: dict[str, str]) -> None:
    args = shlex.split(command.replace("/opt/backroom/.venv/bin/backroom", BACKROOM)
                       .replace("/etc/backroom/config.toml", str(config))
                       .replace("/var/backups/backroom", str(backups)))
    base = {k: v for k, v in os.environ.items()
            if k not in ("BACKROOM_OPERATOR", "BACKROOM_CONFIG", "BACKROOM_DATABASE_URL")}
    done = subprocess.run(args, env={**base, **env}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"backup: {backups}/backroom-shop-"), done.stdout


def test_the_timers_backup_command_makes_a_backup(tmp_path: Path) -> None:
    config, backups = _scratch_shop(tmp_path)
    command = unit("backroom-backup.service")["Service"]["ExecStart"]
    _run(command, config, backups, {})  # as the service account, no operator named
    _run(command, config, backups, {})
    assert len([p for p in backups.iterdir() if p.name.endswith(".db.zst")]) == 2


def test_the_crontab_line_makes_a_backup(tmp_path: Path) -> None:
    config, backups = _scratch_shop(tmp_path)
    lines = [line for line in (DEPLOY / "backroom.crontab").read_text().splitlines()
             if line and not line.startswith("#")]
    variables = dict(line.split("=", 1) for line in lines if "=" in line.split()[0])
    [entry] = [line for line in lines if line[0].isdigit()]
    minute, hour, *_days, command = entry.split(None, 5)
    assert (minute, hour) == ("15", "2")
    assert variables == {"BACKROOM_CONFIG": "/etc/backroom/config.toml"}
    _run(command, config, backups, {"BACKROOM_CONFIG": str(config)})
    readme = (ROOT / "README.md").read_text()
    assert f"BACKROOM_CONFIG=/etc/backroom/config.toml\n{entry}\n" in readme  # the same lines
