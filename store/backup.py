"""Backups that restore: `backroom backup` and `backroom restore`.

SQLite, while operators and the worker go on writing, nobody waiting on the backup:
- First way, a snapshot of the file alone: a passive checkpoint (it never makes a writer
  wait) moves the WAL's commits into the file, then a read transaction begins between two
  commits; it reads the file alone, and while it lasts no checkpoint may write the file, so
  the file's bytes are the snapshot. Another process reads and zstd-compresses them (see
  compress_elsewhere for why not this one) while new commits go to the WAL. About as fast as
  `sqlite3 .backup` of the same file, a third of its size (bench/ops.py).
- Else (commits never paused long enough for that), SQLite's online backup API copies the
  database inside one read transaction, a few thousand pages a step, into a scratch file
  that is then compressed: the same consistency, twice the time.
The copy is compressed with zstd (level 1, every core, a checksum).

PostgreSQL: `pg_dump` in its custom format (compressed, restored by `pg_restore`).

Files are named by the time they were made, in UTC (`backroom-shop-20261130-021500Z.db.zst`,
`backroom-shop-....dump`), written under a temporary name and renamed once complete and
synced, so a file with a backup's name is always whole; after each backup the oldest of that
database's backups in the directory are deleted past `keep`.

A restore checks the file first (the zstd checksum, SQLite's integrity_check, that it is a
backroom database and not one from a newer backroom; pg_restore's table of contents), refuses
to overwrite a database that holds orders unless forced, upgrades the copy if it is older, and
only then puts it in place: a restore that fails leaves the target as it was.

Raw sqlite3 connections (not the models' database) on purpose: the backup API, the pragmas
and the restore's checks work on files the models are not bound to."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse, urlunparse

import platformdirs
from peewee import Database

from store import db as dbmod
from store import events_log
from store.compression import decompress
from store.errors import (
    BackroomError,
    DatabaseError,
    NotFound,
    PermissionDenied,
    Refused,
    ValidationError,
)
from store.models import BackupRecord, db, utcnow
from store.operators import Actor, require, require_migrator
from store.shop import Shop

STEP_PAGES = 4096  # pages copied per step of the backup API (16 MB at 4 KB a page)
SNAPSHOT_ATTEMPTS = 20  # tries to begin a snapshot of the file alone between two commits
SQLITE_MAGIC = b"SQLite format 3\x00"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
PGDUMP_MAGIC = b"PGDMP"
_NAME = re.compile(r"backroom-(?P<stem>.+)-(?P<stamp>\d{8}-\d{6}Z)(?:-\d+)?"
                   r"(?P<suffix>\.db\.zst|\.dump)$")


@dataclass(frozen=True)
class BackupResult:
    """One backup made: the file, its size, how long it took, what was pruned."""

    path: Path
    bytes: int
    seconds: float
    backend: str
    pruned: tuple[Path, ...] = ()
    method: str = ""  # file snapshot, backup API or pg_dump


@dataclass(frozen=True)
class RestoreResult:
    """One restore done: where to, the migrations it needed, and how many orders it holds."""

    target: str
    migrated: tuple[str, ...]
    orders: int
    replaced: bool


# ----- names and places ----------------------------------------------------------------------

def default_dir() -> Path:
    return Path(platformdirs.user_data_dir("backroom")) / "backups"


def backup_dir(configured: str, given: str | Path | None) -> Path:
    """--to, else backup.dir, else `backups` in the user data directory."""
    if given:
        return Path(given)
    return Path(configured) if configured else default_dir()


def sqlite_path(url: str) -> Path | None:
    """The file of a sqlite:/// URL, or None for another database."""
    if not url.startswith("sqlite:///"):
        return None
    path = unquote(url[len("sqlite:///"):])
    if not path or path == ":memory:":
        raise ValidationError(f"{url}: a backup needs a database file")
    return Path(path)


def stem_of(url: str) -> str:
    """The name a database's backups carry: the file's stem, or the PostgreSQL database's."""
    path = sqlite_path(url)
    name = path.stem if path is not None else unquote(urlparse(url).path.lstrip("/"))
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "shop"


def backup_name(stem: str, when: dt.datetime, suffix: str) -> str:
    return f"backroom-{stem}-{when:%Y%m%d-%H%M%S}Z{suffix}"


def backups_of(directory: Path, stem: str) -> list[Path]:
    """This database's backups in `directory`, oldest first (their names sort by time)."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = _NAME.fullmatch(path.name)
        if match and match["stem"] == stem and path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: (_NAME.fullmatch(p.name)["stamp"], p.name))  # type: ignore[index]


def prune(directory: Path, stem: str, keep: int, spare: Path | None = None) -> list[Path]:
    """Delete this database's oldest backups past `keep` (never `spare`, the one just made)."""
    keep = max(1, keep)
    found = [p for p in backups_of(directory, stem) if p != spare]
    extra = len(found) - (keep - 1 if spare is not None else keep)
    removed = []
    for path in found[:max(0, extra)]:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed


def _free_name(directory: Path, name: str) -> Path:
    """`name` in directory, or name-2, name-3 ... if a backup of that second exists."""
    path = directory / name
    base, suffix = (name[:-len(".db.zst")], ".db.zst") if name.endswith(".db.zst") \
        else (name[:-len(".dump")], ".dump")
    count = 1
    while path.exists():
        count += 1
        path = directory / f"{base}-{count}{suffix}"
    return path


def _sync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _password_free(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and the environment that passes it (PGPASSWORD), so the
    password never shows in the process list."""
    parsed = urlparse(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = unquote(parsed.password)
        user = parsed.username or ""
        host = parsed.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{user}@{host}" + (f":{parsed.port}" if parsed.port else "")
        url = urlunparse(parsed._replace(netloc=netloc))
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    return url, env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackroomError(f"{name} is not installed here: install PostgreSQL's client tools "
                            f"(Debian: apt install postgresql-client), then try again")
    return found


def _run(args: list[str], env: dict[str, str], what: str) -> str:
    """Run a PostgreSQL tool; its failure is one line naming what failed and why."""
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {done.returncode}"
        raise BackroomError(f"{what} failed: {reason}")
    return done.stdout


# ----- backing up ----------------------------------------------------------------------------

def backup(shop: Shop, actor: Actor, to: str | Path | None = None, keep: int | None = None,
           now: dt.datetime | None = None) -> BackupResult:
    """Back up the shop's database into a directory (see the module docstring), record it for
    the status, then delete that database's oldest backups past `keep`."""
    require(actor, "maintenance")
    config = shop.config
    url = config.database_url
    directory = backup_dir(str(config.get("backup", "dir")), to)
    keep = int(config.get("backup", "keep")) if keep is None else keep
    if keep < 1:
        raise ValidationError("keep at least 1 backup", field="keep")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValidationError(f"cannot create {directory}: {exc.strerror}", field="to") from None
    if not os.access(directory, os.W_OK):
        raise ValidationError(f"{directory} cannot be written by this account", field="to")
    when = (now or utcnow()).replace(microsecond=0)
    started = time.perf_counter()
    source = sqlite_path(url)
    suffix = ".db.zst" if source is not None else ".dump"
    final = _free_name(directory, backup_name(stem_of(url), when, suffix))
    partial = directory / f".{final.name}.partial"
    try:
        # a backup holds every customer's data: readable by this account alone, from the
        # first byte (the writers below reuse the file, keeping its mode)
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        if source is not None:
            method = _sqlite_backup(source, partial, directory)
        else:
            method = "pg_dump"
            _pg_dump(url, partial)
        os.chmod(partial, 0o600)
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, final)
        _sync_dir(directory)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    size = final.stat().st_size
    seconds = time.perf_counter() - started
    backend = "sqlite" if source is not None else "postgresql"
    with db.atomic():
        BackupRecord.create(file=str(final), bytes=size, seconds=round(seconds, 3),
                            backend=backend, operator_login=actor.login)
    pruned = prune(directory, stem_of(url), keep, spare=final)
    events_log.event("backup", actor.login, file=final.name, bytes=size,
                     seconds=round(seconds, 1), method=method, pruned=len(pruned))
    return BackupResult(final, size, seconds, backend, tuple(pruned), method)


def _sqlite_backup(source: Path, partial: Path, directory: Path) -> str:
    """A consistent copy of a live SQLite file, compressed into `partial`; how it was made
    ("file snapshot" or "backup API")."""
    if not source.is_file():
        raise NotFound(f"{source}: no such database file")
    needed = source.stat().st_size
    free = shutil.disk_usage(directory).free
    snap = sqlite3.connect(f"file:{source}?mode=ro", uri=True, isolation_level=None)
    try:
        snap.execute("PRAGMA busy_timeout = 10000")
        if pin_file_snapshot(source, snap):
            try:
                pages, size = (snap.execute(f"PRAGMA {name}").fetchone()[0]
                               for name in ("page_count", "page_size"))
                _room(free, needed, directory, source)
                compress_elsewhere(source, partial, pages * size)
            finally:
                snap.execute("COMMIT")
            return "file snapshot"
    except sqlite3.Error as exc:
        error = dbmod.store_error(exc)
        raise error if error is not None else DatabaseError(
            f"backing up {source} failed: {exc}") from None
    finally:
        snap.close()
    _room(free, needed * 1.4, directory, source)  # the copy, then the compressed one beside it
    with tempfile.TemporaryDirectory(dir=directory, prefix=".backroom-") as scratch:
        copy = Path(scratch) / "copy.db"
        copy_live(source, copy)
        compress_elsewhere(copy, partial, copy.stat().st_size)
    return "backup API"


def _room(free: int, needed: float, directory: Path, source: Path) -> None:
    if free < needed:
        raise Refused(f"{directory} has {free / 1e6:,.0f} MB free; backing up {source.name} "
                      f"needs about {needed / 1e6:,.0f} MB there")


def _wal_salts(source: Path) -> bytes:
    """The salts of the WAL file's header (they change when the WAL starts over)."""
    try:
        with open(f"{source}-wal", "rb") as handle:
            return handle.read(24)[16:24]
    except FileNotFoundError:
        return b""


def pin_file_snapshot(source: Path, snap: sqlite3.Connection,
                      attempts: int | None = None) -> bool:
    """Begin a read transaction on `snap` that reads the database file alone: every commit
    checkpointed into the file before it began. While it lasts, no checkpoint may write the
    file (a checkpoint needs the lock such a reader holds), so the file's bytes are the
    snapshot and can be read as they are, writers going on in the WAL meanwhile.

    A passive checkpoint (it never makes a writer wait) backfills the WAL; the transaction
    begins; a second look finds whether any commit came between (the WAL's frame count and
    its salts unchanged). False, with no transaction open, when commits kept coming or a
    reader held the checkpoint back: the caller then copies with the backup API."""
    checkpointer = sqlite3.connect(source, isolation_level=None)
    try:
        checkpointer.execute("PRAGMA busy_timeout = 100")
        if checkpointer.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            return False
        for _ in range(attempts or SNAPSHOT_ATTEMPTS):
            busy, frames, done = checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if busy or frames != done:
                continue
            salts = _wal_salts(source)
            snap.execute("BEGIN")
            snap.execute("SELECT COUNT(*) FROM sqlite_schema").fetchone()
            _busy, after, _done = checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if after == frames and _wal_salts(source) == salts:
                return True
            snap.execute("COMMIT")
        return False
    except sqlite3.Error:
        if snap.in_transaction:
            snap.execute("COMMIT")
        return False  # the checkpoint needs write access: the backup API needs none
    finally:
        checkpointer.close()


def copy_live(source: Path, target: Path, step_pages: int | None = None) -> None:
    """Copy a live database with the online backup API into a new file `target`.

    In WAL mode (how backroom opens every SQLite file) the source is held at one snapshot by
    a read transaction around the whole copy: every step then copies from the same moment,
    the copy never restarts because someone wrote, and writers never wait for it (a reader
    blocks no writer in WAL mode). Another journal mode cannot hold a snapshot without
    blocking writers: there each step takes the lock briefly and sleeps between steps, and
    the backup API starts over when the source changes."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, isolation_level=None)
    dst = sqlite3.connect(target, isolation_level=None)
    try:
        src.execute("PRAGMA busy_timeout = 10000")
        src.execute("PRAGMA mmap_size = 1099511627776")  # read pages without a syscall each
        dst.execute("PRAGMA journal_mode = OFF")  # a new file, renamed only once whole
        dst.execute("PRAGMA synchronous = OFF")
        wal = src.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        if wal:
            src.execute("BEGIN")
            src.execute("SELECT COUNT(*) FROM sqlite_schema").fetchone()  # the snapshot
        try:
            src.backup(dst, pages=step_pages or STEP_PAGES, sleep=0 if wal else 0.05)
        finally:
            if wal:
                src.execute("COMMIT")
    except sqlite3.Error as exc:
        error = dbmod.store_error(exc)
        raise error if error is not None else DatabaseError(
            f"backing up {source} failed: {exc}") from None
    finally:
        dst.close()
        src.close()


NICE = 10  # the compressing process yields the processor to operators and the worker
_COMPRESS_CHILD = (
    "import os, sys; from pathlib import Path; from store.compression import compress; "
    "os.nice(int(sys.argv[4])); "
    "compress(Path(sys.argv[1]), Path(sys.argv[2]), length=int(sys.argv[3]))")


def compress_elsewhere(source: Path, target: Path, length: int) -> None:
    """`compress` the first `length` bytes of a live database file in another process, at a
    lower priority (NICE): compressing takes every core, and an operator's change must not
    wait behind it.

    Never in this one: closing a file descriptor of the database drops every POSIX lock this
    process holds on it (the locks SQLite's connections here rely on), and another process
    closing its connection would then think itself the last one and reset the WAL under
    them: a corrupt database (sqlite.org/howtocorrupt.html, 2.2). A process with no
    connection to the file may read it freely."""
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    done = subprocess.run([sys.executable, "-c", _COMPRESS_CHILD, str(source), str(target),
                           str(length), str(NICE)], env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise BackroomError(f"compressing {source.name} failed: "
                            f"{lines[-1] if lines else done.returncode}")


def _pg_dump(url: str, partial: Path) -> None:
    exe = _tool("pg_dump")
    plain, env = _password_free(url)
    _run([exe, "--format=custom", f"--file={partial}", f"--dbname={plain}"], env,
         f"pg_dump of {dbmod.redact(url)}")


# ----- restoring -----------------------------------------------------------------------------

def kind_of(path: Path) -> str:
    """What a backup file is, from its first bytes: sqlite-zst, sqlite or pg-custom."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except FileNotFoundError:
        raise NotFound(f"{path}: no such file") from None
    except OSError as exc:
        raise ValidationError(f"{path} cannot be read: {exc.strerror}") from None
    if head.startswith(ZSTD_MAGIC):
        return "sqlite-zst"
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "pg-custom"
    raise Refused(f"{path} is not a backroom backup (neither a zstd-compressed or plain SQLite "
                  "file nor a pg_dump custom-format archive)")


def restore(source: str | Path, url: str, login: str, force: bool = False,
            service: bool = False) -> RestoreResult:
    """Restore a backup into the database at `url` (see the module docstring). A database
    that holds orders is refused unless `force`; one that has operators needs an admin of it
    (or a service account), as `backroom migrate` does."""
    path = Path(source)
    kind = kind_of(path)
    target = sqlite_path(url)
    if kind.startswith("sqlite") and target is None:
        raise Refused(f"{path} is a SQLite backup: restore it to a sqlite:/// URL (moving a shop "
                      "between SQLite and PostgreSQL is not a restore)")
    if kind == "pg-custom" and target is not None:
        raise Refused(f"{path} is a PostgreSQL dump: restore it to a postgresql:// URL")
    orders = _guard_target(url, login, force, service)
    if target is not None:
        migrated = _restore_sqlite(path, kind, target, replace=target.exists())
    else:
        migrated = _restore_pg(path, url)
    restored = _count_orders(url)
    events_log.event("restore", login, file=path.name, target=dbmod.redact(url),
                     replaced=orders, migrated=len(migrated), orders=restored)
    return RestoreResult(dbmod.redact(url), tuple(migrated), restored, orders > 0)


def _open_plain(url: str) -> Database:
    """A connection to `url` that binds nothing (the models stay where they are)."""
    database = dbmod.connect(url)
    try:
        database.connect()
    except Exception as exc:  # the driver's own error type varies by backend
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DatabaseError(f"cannot open {dbmod.redact(url)}: {reason}") from None
    return database


def _count_orders(url: str) -> int:
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return 0
    database = _open_plain(url)
    try:
        if "orders" not in database.get_tables():
            return 0
        return int(database.execute_sql("SELECT COUNT(*) FROM orders").fetchone()[0])
    finally:
        database.close()


def _guard_target(url: str, login: str, force: bool, service: bool) -> int:
    """Refuse to overwrite orders unless forced, and a shop with operators unless its admin
    asks; how many orders the target holds."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return 0
    database = _open_plain(url)
    try:
        tables = database.get_tables()
        orders = int(database.execute_sql("SELECT COUNT(*) FROM orders").fetchone()[0]) \
            if "orders" in tables else 0
        if orders and not force:
            raise Refused(f"{dbmod.redact(url)} holds {orders:,} order(s); a restore would "
                          "replace them: give --force to overwrite it (back it up first)")
        if not service:
            try:
                require_migrator(database, login)
            except PermissionDenied:
                raise PermissionDenied(
                    f"{login} is not an admin of {dbmod.redact(url)}: only an admin of a "
                    "database (or a service account) may restore over it") from None
    finally:
        database.close()
    return orders


def _check_sqlite(copy: Path, name: str) -> None:
    """The copy is whole (integrity_check), is a backroom database, and is not newer."""
    conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check(10)")]
        if problems != ["ok"]:
            raise Refused(f"{name} is damaged (SQLite integrity_check: {problems[0]}); "
                          "restore another backup")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")}
        if not {"orders", "schema_migration"} <= tables:
            raise Refused(f"{name} is a SQLite database but not a backroom shop")
        applied = [r[0] for r in conn.execute("SELECT name FROM schema_migration")]
    except sqlite3.DatabaseError as exc:
        raise Refused(f"{name} is not a readable SQLite database ({exc})") from None
    finally:
        conn.close()
    _refuse_newer(applied, name)


def _refuse_newer(applied: list[str], name: str) -> None:
    known = {p.stem for p in dbmod.MIGRATIONS_DIR.glob("[0-9]*.py")}
    unknown = sorted(set(applied) - known)
    if unknown:
        raise Refused(f"{name} was made by a newer backroom (migration {', '.join(unknown)} is "
                      "unknown to this version): upgrade backroom to restore it; nothing was "
                      "changed")


def _migrate(url: str) -> list[str]:
    database = _open_plain(url)
    try:
        return list(dbmod.runner(database).up())
    finally:
        database.close()


@contextlib.contextmanager
def _scratch_beside(target: Path) -> Iterator[Path]:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".backroom-restore-") as scratch:
        yield Path(scratch)


def _restore_sqlite(path: Path, kind: str, target: Path, replace: bool) -> list[str]:
    with _scratch_beside(target) as scratch:
        copy = scratch / "restored.db"
        if kind == "sqlite-zst":
            decompress(path, copy)
        else:  # a plain database file: through SQLite, which reads a -wal beside it too
            copy_live(path, copy)
        _check_sqlite(copy, path.name)
        migrated = _migrate(f"sqlite:///{copy}")
        if replace:
            _copy_into(copy, target)
        else:
            for stale in (Path(f"{target}-wal"), Path(f"{target}-shm")):  # never replayed
                stale.unlink(missing_ok=True)                              # onto the copy
            with open(copy, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(copy, target)
            _sync_dir(target.parent)
    return migrated


def _copy_into(copy: Path, target: Path) -> None:
    """Replace a live database's content with the backup API, in one transaction: a
    connection open on it sees the restored shop at its next read, and a crash midway
    leaves the old one."""
    src = sqlite3.connect(copy, isolation_level=None)
    dst = sqlite3.connect(target, isolation_level=None)
    try:
        dst.execute("PRAGMA busy_timeout = 30000")
        src.backup(dst)
    except sqlite3.Error as exc:
        error = dbmod.store_error(exc)
        raise error if error is not None else DatabaseError(
            f"restoring into {target} failed: {exc}") from None
    finally:
        dst.close()
        src.close()


def _restore_pg(path: Path, url: str) -> list[str]:
    exe = _tool("pg_restore")
    plain, env = _password_free(url)
    listing = _run([exe, "--list", str(path)], env, f"reading {path.name}")
    if " TABLE public orders " not in listing or " schema_migration " not in listing:
        raise Refused(f"{path.name} is a pg_dump archive but not of a backroom shop")
    data = _run([exe, "--data-only", "--table=schema_migration", "--file=-", str(path)], env,
                f"reading {path.name}")
    _refuse_newer(_copied_names(data), path.name)
    # COMMENT ON EXTENSION needs the extension's owner: left out, it is not the shop's data
    kept = "\n".join(line for line in listing.splitlines()
                     if not re.search(r"\bCOMMENT - EXTENSION\b", line))
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as handle:
        handle.write(kept + "\n")
        use_list = handle.name
    try:
        _run([exe, "--clean", "--if-exists", "--no-owner", "--no-privileges",
              "--single-transaction", "--exit-on-error", f"--use-list={use_list}",
              f"--dbname={plain}", str(path)], env, f"pg_restore into {dbmod.redact(url)}")
    finally:
        os.unlink(use_list)
    return _migrate(url)


def _copied_names(copy_sql: str) -> list[str]:
    """The migration names in pg_restore's COPY schema_migration (id, name, applied) data."""
    names: list[str] = []
    inside = False
    for line in copy_sql.splitlines():
        if line.startswith("COPY ") and "schema_migration" in line:
            columns = line[line.index("(") + 1:line.index(")")].split(", ")
            position = columns.index("name")
            inside = True
        elif inside and line == "\\.":
            inside = False
        elif inside:
            names.append(line.split("\t")[position])
    return names
