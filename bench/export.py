"""One CSV export in a process of its own, for bench.__main__: `python -m bench.export
ours|raw URL LIMIT` writes the orders (LIMIT 0: all) to /dev/null and prints rows, seconds and
the process's peak memory as JSON. `ours` is backroom's export (store.exports, what
`backroom orders export` runs); `raw` is plain sqlite3 and csv.writer with hand-written SQL
giving the same columns."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

RAW_SQL = (
    "SELECT o.code, substr(o.placed_at, 1, 19), COALESCE(substr((SELECT MAX(p.created_at) "
    "FROM payment p WHERE p.order_id = o.id AND p.kind = 'payment'), 1, 19), ''), o.status, "
    "o.archived, o.is_test, o.customer_name, o.customer_email, COALESCE((SELECT MIN(a.country) "
    "FROM address a WHERE a.order_id = o.id AND a.kind = 'billing'), (SELECT MIN(a.country) "
    "FROM address a WHERE a.order_id = o.id AND a.kind = 'shipping'), ''), o.payment_method, "
    "o.currency, " + ", ".join(f"printf('%d.%02d', o.{c} / 100, o.{c} % 100)" for c in (
        "subtotal", "shipping_cost", "tax", "discount", "total", "amount_paid",
        "amount_refunded")) + " FROM orders o WHERE o.id > ? ORDER BY o.id LIMIT ?")


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def raw(url: str, limit: int) -> int:
    conn = sqlite3.connect(url[len("sqlite:///"):])
    conn.execute("PRAGMA cache_size = -64000")
    count, last = 0, 0
    with open(os.devnull, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["code"] * 18)
        while True:
            batch = 5000 if not limit else min(5000, limit - count)
            rows = conn.execute(RAW_SQL.replace("SELECT o.code", "SELECT o.id, o.code", 1),
                                (last, batch)).fetchall()
            if not rows:
                break
            writer.writerows(r[1:] for r in rows)
            count += len(rows)
            last = rows[-1][0]
            if len(rows) < batch or (limit and count >= limit):
                break
    return count


def ours(url: str, limit: int) -> int:
    from store import exports
    from store.config import from_mapping
    from store.operators import SYSTEM
    from store.queries import QueueFilter
    from store.shop import open_shop

    open_shop(from_mapping({"database": {"url": url}}, "bench", environ={}))
    with open(os.devnull, "w", newline="") as out:
        return exports.write(SYSTEM, exports.Selection(QueueFilter(), limit=limit), out)


if __name__ == "__main__":
    who, url, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    started = time.perf_counter()
    rows = (ours if who == "ours" else raw)(url, limit)
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started,
                      "peak_mb": _peak_mb()}))
