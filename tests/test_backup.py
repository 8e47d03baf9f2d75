"""Backups that restore: a SQLite shop backed up while five processes write to it restores
with every change committed before the backup began, and passes `check`; a PostgreSQL shop
restores from pg_dump's output; a restore checks the file, refuses to overwrite orders unless
forced, and upgrades an older backup; old backups are pruned past --keep."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from store import backup as backupmod
from store import checks, models, operators, status
from store import db as dbmod
from store.compression import compress
from store.errors import PermissionDenied, Refused
from store.models import BackupRecord, Order, OrderEvent
from store.shop import Shop, open_shop
from store.workflow import DEFAULT
from tests.bulk import insert_orders
from tests.conftest import (
    PG_SKIP,
    PG_URL,
    cli_config,
    create_pg_database,
    drop_pg_database,
    make_config,
)
from tests.factories import place
from tui.cli import main

ROOT = Path(__file__).resolve().parent.parent
WRITERS = 5
BEFORE = 15  # changes each writer has committed before the backup starts

WRITER = """
import sys
from pathlib import Path
from store import config, orders
from store.shop import open_shop
from tests.factories import place
url, login, stop = sys.argv[1], sys.argv[2], Path(sys.argv[3])
shop = open_shop(config.from_mapping({"database": {"url": url}}, "writer", environ={}))
actor = shop.actor(login)
own = place(shop, name=f"{login} own", email=f"{login}@example.com")
n = locked = 0
while not stop.exists():
    try:
        place(shop, name=f"{login} order {n + 1}", email=f"{login}@example.com")
        orders.set_reference(shop, actor, own.id, f"{login}-{n + 1}")
    except Exception as exc:  # a lock error is what this test hunts for
        if "locked" in str(exc).lower():
            locked += 1
            continue
        raise
    n += 1
    print(n, flush=True)
print("locked", locked, flush=True)
"""

OTHER = """
import sys
from store import config
from store import db as dbmod
from store.shop import open_shop
from tests.factories import place
shop = open_shop(config.from_mapping({"database": {"url": sys.argv[1]}}, "other", environ={}))
place(shop)
dbmod.db.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")
dbmod.close()
print("placed")
"""


def _writers(url: str, stop: Path) -> list[subprocess.Popen[str]]:
    return [subprocess.Popen([sys.executable, "-c", WRITER, url, f"writer{w}", str(stop)],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for w in range(WRITERS)]


def _committed(proc: subprocess.Popen[str], at_least: int) -> int:
    """Read the writer's reports until it has committed `at_least` changes; the last seen."""
    assert proc.stdout is not None
    seen = 0
    while seen < at_least:
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else "writer ended"
        seen = int(line)
    return seen


def _numbers(login: str) -> tuple[list[int], list[int]]:
    """Which of a writer's changes a database holds: its orders placed and references set."""
    placed = sorted(int(o.customer_name.rsplit(" ", 1)[1]) for o in Order.select().where(
        Order.customer_name.startswith(f"{login} order ")))
    own = Order.get(Order.customer_name == f"{login} own")
    refs = sorted(int(json.loads(e.data)["new"].rsplit("-", 1)[1]) for e in OrderEvent.select()
                  .where(OrderEvent.order == own.id, OrderEvent.kind == "reference"))
    return placed, refs


@pytest.mark.slow
def test_backup_while_five_processes_write_restores_every_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    dbmod.close()
    shop = open_shop(make_config(url))
    admin = operators.ensure_admin("ada")
    for w in range(WRITERS):
        operators.add(admin, f"writer{w}", "clerk")
    insert_orders(shop, 3000)  # a file of a few MB: the copy takes many steps
    dbmod.close()
    monkeypatch.setattr(backupmod, "STEP_PAGES", 16)  # writers commit between the steps

    stop = tmp_path / "stop"
    procs = _writers(url, stop)
    made = []
    try:
        shop = open_shop(make_config(url))
        for attempts in (backupmod.SNAPSHOT_ATTEMPTS, 0):  # as it comes; the backup API
            monkeypatch.setattr(backupmod, "SNAPSHOT_ATTEMPTS", attempts)
            marks = [_committed(p, BEFORE * (len(made) + 1)) for p in procs]  # before it
            result = backupmod.backup(shop, admin, tmp_path / "backups", keep=3)
            during = [_committed(p, m + 1) for p, m in zip(procs, marks, strict=True)]
            assert all(d > m for d, m in zip(during, marks, strict=True))  # they went on
            made.append((result, marks))
        dbmod.close()
    finally:
        stop.touch()
        outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.strip().splitlines()[-1] == "locked 0", "a writer saw the database locked"
    assert made[1][0].method == "backup API"
    assert made[0][0].method in ("file snapshot", "backup API")
    live = open_shop(make_config(url))  # the live shop is whole after the writers left
    assert BackupRecord.select().count() == 2
    assert [r.name for r in checks.run_checks(live, admin) if not r.ok] == []
    dbmod.close()

    for n, (result, marks) in enumerate(made):
        assert result.path.name.endswith(".db.zst")
        target = tmp_path / f"restored{n}" / "shop.db"
        restored = backupmod.restore(result.path, f"sqlite:///{target}", "ada")
        assert restored.orders >= 3000 + WRITERS * (max(marks) + 1) and not restored.migrated
        copy = open_shop(make_config(f"sqlite:///{target}"))
        for w, mark in enumerate(marks):
            placed, refs = _numbers(f"writer{w}")
            assert placed[:mark] == list(range(1, mark + 1))  # everything before the backup
            assert placed == list(range(1, len(placed) + 1))  # one moment: no gap
            assert refs == list(range(1, len(refs) + 1))
            assert len(refs) in (len(placed) - 1, len(placed)) and len(refs) >= mark
        results = checks.run_checks(copy, admin)
        assert [r.name for r in results if not r.ok] == [], results
        assert {r.name for r in results} >= {"integrity", "search_index", "outbox_leases",
                                             "order_payments"}
        dbmod.close()


def test_a_file_snapshot_holds_while_others_write_and_leave(tmp_path: Path) -> None:
    """The fast way: a snapshot that reads the database file alone keeps every checkpoint
    off the file, so its bytes are the snapshot while commits go on in the WAL; and the live
    database stays whole when another process then closes the last connection of its own."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    dbmod.close()
    shop = open_shop(make_config(url))
    insert_orders(shop, 500)
    source = tmp_path / "shop.db"
    snap = sqlite3.connect(f"file:{source}?mode=ro", uri=True, isolation_level=None)
    assert backupmod.pin_file_snapshot(source, snap)
    pages, size = (snap.execute(f"PRAGMA {n}").fetchone()[0] for n in ("page_count",
                                                                        "page_size"))
    insert_orders(shop, 300)  # into the WAL: no checkpoint may write the file meanwhile
    backupmod.compress_elsewhere(source, tmp_path / "snap.db.zst", pages * size)
    other = subprocess.run([sys.executable, "-c", OTHER, url], cwd=ROOT, capture_output=True,
                           text=True)  # another process writes, checkpoints and leaves
    assert other.stdout.strip() == "placed", other.stderr
    assert int(snap.execute("SELECT COUNT(*) FROM orders").fetchone()[0]) == 500
    snap.execute("COMMIT")
    snap.close()
    insert_orders(shop, 10)
    dbmod.close()
    with sqlite3.connect(source) as live:
        assert live.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert live.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 500 + 300 + 10 + 1
    backupmod.decompress(tmp_path / "snap.db.zst", tmp_path / "snap.db")
    with sqlite3.connect(tmp_path / "snap.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 500


def test_restore_refuses_orders_unless_forced_and_checks_the_file(
        shop: Shop, admin: operators.Actor, tmp_path: Path) -> None:
    if not shop.config.database_url.startswith("sqlite"):
        pytest.skip("SQLite files")
    place(shop)
    made = backupmod.backup(shop, admin, tmp_path / "b")
    target = f"sqlite:///{tmp_path / 'other.db'}"
    first = backupmod.restore(made.path, target, "ada")
    assert first.orders == 1 and not first.replaced
    with pytest.raises(Refused, match=r"holds 1 order\(s\); a restore would replace them: "
                                      r"give --force"):
        backupmod.restore(made.path, target, "ada")
    with pytest.raises(PermissionDenied, match=r"mallory is not an admin of .*: only an admin"):
        backupmod.restore(made.path, target, "mallory", force=True)  # not an admin there
    again = backupmod.restore(made.path, target, "ada", force=True)
    assert again.replaced and again.orders == 1

    data = made.path.read_bytes()
    cut = tmp_path / "cut.db.zst"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(Refused, match="cut short"):
        backupmod.restore(cut, f"sqlite:///{tmp_path / 'x.db'}", "ada")
    damaged = tmp_path / "damaged.db.zst"
    flipped = bytearray(data)
    flipped[len(flipped) // 2] ^= 0xFF
    damaged.write_bytes(bytes(flipped))
    with pytest.raises(Refused, match="damaged"):
        backupmod.restore(damaged, f"sqlite:///{tmp_path / 'x.db'}", "ada")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(Refused, match="not a backroom backup"):
        backupmod.restore(text, f"sqlite:///{tmp_path / 'x.db'}", "ada")
    with pytest.raises(Refused, match="restore it to a sqlite:/// URL"):
        backupmod.restore(made.path, "postgresql://nobody@127.0.0.1/none", "ada")
    assert not (tmp_path / "x.db").exists()
    # a backup made by a newer backroom (a migration this version does not know)
    newer = tmp_path / "newer.db"
    backupmod.decompress(made.path, newer)
    with sqlite3.connect(newer) as conn:
        conn.execute("INSERT INTO schema_migration (name, applied) VALUES ('0999_future', "
                     "'2030-01-01')")
    with pytest.raises(Refused, match=r"made by a newer backroom \(migration 0999_future"):
        backupmod.restore(newer, f"sqlite:///{tmp_path / 'x.db'}", "ada")
    assert not (tmp_path / "x.db").exists()


def test_an_older_backup_is_upgraded_when_restored(tmp_path: Path) -> None:
    """A backup from before migrations 0005-0009 restores, upgraded, its orders kept. The
    order is written by today's services (today's columns), then every later migration is
    taken back down, as each one's `down` does."""
    old = tmp_path / "old.db"
    dbmod.close()
    database = dbmod.connect(f"sqlite:///{old}")
    database.connect()
    models.db.initialize(database)
    dbmod.runner(database).up()
    shop = Shop(make_config(f"sqlite:///{old}"), DEFAULT)
    ref = place(shop)
    status.change_status(shop, operators.ensure_admin("ada"), [ref.id], "paid")
    dbmod.runner(database).down(target="0005_folded_search_and_figures")
    assert dbmod.pending_migrations(database)[0] == "0005_folded_search_and_figures"
    dbmod.close()
    packed = tmp_path / "old.db.zst"
    compress(old, packed)
    result = backupmod.restore(packed, f"sqlite:///{tmp_path / 'new.db'}", "ada")
    assert "0009_operations" in result.migrated and result.orders == 1
    open_shop(make_config(f"sqlite:///{tmp_path / 'new.db'}"))
    assert Order.get().status == "paid"
    assert dbmod.pending_migrations(models.db.obj) == []
    dbmod.close()


def test_backups_are_named_by_date_and_pruned_past_keep(shop: Shop, admin: operators.Actor,
                                                        tmp_path: Path) -> None:
    directory = tmp_path / "b"
    directory.mkdir()
    (directory / "notes.txt").write_text("not a backup")
    (directory / "backroom-other-20260101-000000Z.db.zst").write_bytes(b"another shop's")
    start = dt.datetime(2026, 11, 30, 2, 15)
    made = [backupmod.backup(shop, admin, directory, keep=2, now=start + dt.timedelta(days=d))
            for d in range(4)]
    stem = backupmod.stem_of(shop.config.database_url)
    suffix = ".db.zst" if shop.config.database_url.startswith("sqlite") else ".dump"
    assert made[0].path.name == f"backroom-{stem}-20261130-021500Z{suffix}"
    assert made[3].pruned == (made[1].path,)
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        ["notes.txt", "backroom-other-20260101-000000Z.db.zst", made[2].path.name,
         made[3].path.name])
    twice = backupmod.backup(shop, admin, directory, keep=5, now=start + dt.timedelta(days=3))
    assert twice.path.name == f"backroom-{stem}-20261203-021500Z-2{suffix}"  # same second
    assert not list(directory.glob(".*"))  # no partial file left
    # every customer's data is in there: readable by the backing-up account alone
    assert {m.path.stat().st_mode & 0o777 for m in made[2:]} == {0o600}


def test_backup_needs_an_admin(shop: Shop, admin: operators.Actor, tmp_path: Path) -> None:
    clerk = operators.add(admin, "cleo", "clerk")
    with pytest.raises(PermissionDenied, match="only an admin or above may back up"):
        backupmod.backup(shop, clerk, tmp_path)


@pytest.mark.pg
def test_postgresql_backup_restores_from_pg_dump(tmp_path: Path) -> None:
    if not PG_URL:
        pytest.skip(PG_SKIP)
    dbmod.close()
    source, target = create_pg_database(), create_pg_database()
    try:
        shop = open_shop(make_config(source))
        admin = operators.ensure_admin("ada")
        refs = [place(shop, name=f"Pat {n}") for n in range(5)]
        status.change_status(shop, admin, [r.id for r in refs[:3]], "paid")
        made = backupmod.backup(shop, admin, tmp_path)
        assert made.path.suffix == ".dump" and made.path.read_bytes()[:5] == b"PGDMP"
        dbmod.close()
        restored = backupmod.restore(made.path, target, "ada")
        assert restored.orders == 5 and not restored.migrated
        copy = open_shop(make_config(target))
        assert Order.select().where(Order.status == "paid").count() == 3
        assert OrderEvent.select().count() == 8
        assert [r.name for r in checks.run_checks(copy, admin) if not r.ok] == []
        dbmod.close()
        with pytest.raises(Refused, match="holds 5 order"):
            backupmod.restore(made.path, target, "ada")
        again = backupmod.restore(made.path, target, "ada", force=True)
        assert again.replaced and again.orders == 5
    finally:
        dbmod.close()
        drop_pg_database(source)
        drop_pg_database(target)


def _cli(tmp_path: Path, url: str, env: dict[str, str] | None = None, *args: str):  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    config.write_text(tomli_w.dumps(cli_config(url, backup={"dir": str(tmp_path / "bk")})))
    dbmod.close()
    result = CliRunner().invoke(main, ["--config", str(config), *args],
                                env={"BACKROOM_OPERATOR": "ada", **(env or {})})
    dbmod.close()
    return result


def test_backup_and_restore_commands(shop: Shop, admin: operators.Actor, tmp_path: Path) -> None:
    place(shop)
    url = shop.config.database_url
    made = _cli(tmp_path, url, None, "backup", "--keep", "3")
    assert made.exit_code == 0, made.output
    line = made.output.strip().splitlines()[0]
    assert line.startswith(f"backup: {tmp_path / 'bk'}/backroom-") and " MB in " in line
    file = next((tmp_path / "bk").iterdir())
    restored = _cli(tmp_path, url, None, "restore", str(file), "--to", url)
    assert restored.exit_code == 1
    assert restored.output.startswith("backroom: ") and "give --force" in restored.output
    assert len(restored.output.strip().splitlines()) == 1
    operators.add(admin, "cleo", "clerk")
    dbmod.close()
    refused = _cli(tmp_path, url, {"BACKROOM_OPERATOR": "cleo"}, "backup")
    assert refused.exit_code == 1 and "only an admin or above may back up" in refused.output


def test_pg_dump_missing_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not PG_URL:
        pytest.skip(PG_SKIP)
    dbmod.close()
    url = create_pg_database()
    try:
        open_shop(make_config(url))
        operators.ensure_admin("ada")
        dbmod.close()
        empty = tmp_path / "bin"
        empty.mkdir()
        monkeypatch.setenv("PATH", str(empty))
        result = _cli(tmp_path, url, None, "backup")
        assert result.exit_code == 1
        assert result.output == ("backroom: pg_dump is not installed here: install PostgreSQL's "
                                 "client tools (Debian: apt install postgresql-client), then "
                                 "try again\n")
    finally:
        dbmod.close()
        drop_pg_database(url)
