"""A webhook receiver on loopback for the tests: a small threaded HTTP server that records
every request (headers and body) and answers from a script (503 twice, then 200; 429 with
Retry-After; 410). Signatures are checked by the tests with the `standardwebhooks` library,
never by our own code."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Script:
    """What the receiver answers: `answers` in turn (status, extra headers), then `then`."""

    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    then: tuple[int, dict[str, str]] = (200, {})
    hold: threading.Event | None = None  # while set, requests wait (a slow receiver)


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script = Script()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the client may reuse the connection

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.received.append(Received(self.path, dict(self.headers.items()),
                                                      body))
                    script = receiver.script
                    status, extra = script.answers.pop(0) if script.answers else script.then
                hold = script.hold
                if hold is not None:
                    hold.wait(30)
                reply = b"ok"
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.script.hold is not None:
            self.script.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def answer(self, *answers: tuple[int, dict[str, str]],
               then: tuple[int, dict[str, str]] = (200, {})) -> None:
        with self.lock:
            self.script = Script(list(answers), then)

    def ids(self) -> list[str]:
        with self.lock:
            return [r.headers["webhook-id"] for r in self.received]

    def count(self, predicate: Callable[[Received], bool] = lambda r: True) -> int:
        with self.lock:
            return sum(1 for r in self.received if predicate(r))
