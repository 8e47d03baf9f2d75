"""A bulk status change killed with SIGKILL at a random moment leaves all orders changed or
none, and its outbox rows exist if and only if the orders changed (one transaction)."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from store import db as dbmod
from store.models import Order, OrderEvent, Outbox
from store.shop import open_shop
from tests.bulk import insert_orders
from tests.conftest import make_config

pytestmark = pytest.mark.slow

ORDERS = 10_000
RUNS = 20
ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import sys, time
from store import config, operators, status
from store.models import Order
from store.shop import open_shop
shop = open_shop(config.from_mapping({"database": {"url": sys.argv[1]}}, "child", environ={}))
actor = operators.ensure_admin("ada")
ids = [o.id for o in Order.select(Order.id)]
print("ready", flush=True)
start = time.perf_counter()
result = status.change_status(shop, actor, ids, "cancelled", notify=True, hold_mail=False)
print("done", len(result.changed), round(time.perf_counter() - start, 3), flush=True)
"""


def _run_child(db_file: Path, kill_after: float | None) -> tuple[bool, str]:
    """Run the bulk change in a child; SIGKILL it `kill_after` s after it is ready.

    Returns (killed, its last line)."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, f"sqlite:///{db_file}"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready = proc.stdout.readline()
    assert ready.strip() == "ready", proc.stderr.read() if proc.stderr else ready
    killed = False
    if kill_after is not None:
        try:
            proc.wait(timeout=kill_after)  # waits for the exit, or the kill moment
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            killed = True
    out, err = proc.communicate(timeout=120)
    if not killed:
        assert proc.returncode == 0, err
    return killed, out.strip()


def _state(db_file: Path) -> tuple[int, int, int]:
    """(orders cancelled, status history rows, outbox rows for the change) after recovery."""
    open_shop(make_config(f"sqlite:///{db_file}"))
    try:
        cancelled = Order.select().where(Order.status == "cancelled").count()
        events = OrderEvent.select().where(OrderEvent.kind == "status").count()
        mails = Outbox.select().where(Outbox.kind == "cancelled").count()
    finally:
        dbmod.close()
    return cancelled, events, mails


def test_sigkill_during_bulk_change_is_all_or_nothing(tmp_path: Path) -> None:
    template = tmp_path / "template.db"
    dbmod.close()
    shop = open_shop(make_config(f"sqlite:///{template}"))
    insert_orders(shop, ORDERS)
    dbmod.close()  # the last connection checkpoints the WAL into the file

    # one full run gives the duration the kill moments are drawn from
    full = tmp_path / "full.db"
    shutil.copyfile(template, full)
    started = time.perf_counter()
    _, last = _run_child(full, None)
    assert last.startswith("done 10000"), last
    duration = float(last.split()[-1])
    assert _state(full) == (ORDERS, ORDERS, ORDERS)
    print(f"bulk change of {ORDERS} orders: {duration:.2f} s "
          f"(child total {time.perf_counter() - started:.2f} s)")

    rng = random.Random(20261123)
    outcomes = {"none": 0, "all": 0}
    kills = 0
    for run in range(RUNS):
        db_file = tmp_path / f"run{run}.db"
        shutil.copyfile(template, db_file)
        killed, _ = _run_child(db_file, rng.uniform(0, duration * 1.3))
        kills += killed
        cancelled, events, mails = _state(db_file)
        assert (cancelled, events, mails) in ((0, 0, 0), (ORDERS, ORDERS, ORDERS)), (
            f"run {run}: {cancelled} orders cancelled, {events} history rows, {mails} mails")
        outcomes["all" if cancelled else "none"] += 1
        db_file.unlink()
        for suffix in ("-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    print(f"kill -9: {kills} of {RUNS} runs killed; outcomes {outcomes}")
    assert kills > 0
