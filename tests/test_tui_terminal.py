"""The app on a real terminal (a pseudo-terminal), as an operator's SSH session gives it."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

from tui.workers import in_db, wait_for_store_calls

ROOT = Path(__file__).parent.parent


def _read_until(fd: int, wanted: bytes, seconds: float) -> bytes:
    """What the app drew on the terminal, until `wanted` shows or the time is up."""
    seen = b""
    deadline = time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


def _start(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """`backroom demo` on an 80x24 pseudo-terminal, its queue drawn; the terminal's master
    side. The app runs in a session of its own with no controlling terminal, so a hang-up
    sends it no signal (as when sshd loses a connection it cannot tell the shell of)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
    app = subprocess.Popen(
        [sys.executable, "-c", "from tui.cli import main; main()",
         "--database", f"sqlite:///{tmp_path / 'shop.db'}", "demo", "--orders", "30"],
        stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=env, start_new_session=True)
    os.close(slave)
    drawn = _read_until(master, b"Filter", 60)
    if b"Filter" not in drawn:
        app.kill()
        app.wait()
        raise AssertionError(drawn[-2000:])
    return app, master


def test_app_leaves_when_its_terminal_is_gone(tmp_path):
    """An SSH connection that drops without a hang-up signal (or a killed tmux server) left
    the app reading its terminal's end of file in a loop, a core busy, for hours; it now
    leaves within seconds."""
    app, master = _start(tmp_path)
    try:
        assert app.poll() is None
        os.close(master)  # the terminal goes away
        app.wait(timeout=20)
        assert app.returncode == 0
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()


def test_ctrl_q_still_quits_at_once(tmp_path):
    """The watch on the terminal does not hold the app when the operator quits."""
    app, master = _start(tmp_path)
    try:
        os.write(master, b"\x11")  # ctrl+q
        _read_until(master, b"never shown", 3)  # keep reading: the app restores the terminal
        app.wait(timeout=5)
        assert app.returncode == 0
    finally:
        os.close(master)
        if app.poll() is None:
            app.kill()
            app.wait()


def test_leaving_waits_for_the_store_calls_under_way(shop):
    """The app whose terminal went away ends once a write, an export or a print job under
    way is done (its file whole, its change committed), not in the middle of it."""
    started, release = threading.Event(), threading.Event()

    def job() -> None:
        started.set()
        release.wait(10)

    worker = threading.Thread(target=in_db, args=(job,))
    worker.start()
    try:
        assert started.wait(5)
        assert not wait_for_store_calls(0.2)  # still running: the app would wait
    finally:
        release.set()
    assert wait_for_store_calls(5)
    worker.join(5)
