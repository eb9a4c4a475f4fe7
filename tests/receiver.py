"""A real HTTP receiver of webhooks on 127.0.0.1, started by the test (or the drill).

`Receiver(answers=...)` serves POSTs in threads of its own (`http.server`), records each
request (path, headers, raw body) and answers as told: `answers` is a list of what to
answer to the 1st, 2nd, ... request (a status code, or `STALL`: hold the request without
answering until `release()` or `stall_seconds`), then `default` for the rest. `down()`
closes the listening socket (connections refused, as a receiver that is off) and `up()`
listens again on the same port.
"""

import hashlib
import hmac
import http.server
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

STALL = "stall"


@dataclass
class Received:
    number: int
    path: str
    headers: dict
    body: bytes
    at: float  # time.monotonic()
    answered: int | None = None  # None: not answered (stalled, or the client went away)

    @property
    def delivery(self) -> str:
        return self.headers.get("X-Okrplan-Delivery", "")

    @property
    def event(self) -> str:
        return self.headers.get("X-Okrplan-Event", "")

    def signed_with(self, secret: str) -> bool:
        """The signature header is the HMAC-SHA256 of the raw body with `secret`."""
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers.get("X-Okrplan-Signature", ""), expected)


class _Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


class Receiver:
    def __init__(
        self,
        answers: list | Callable[[int], object] | None = None,
        *,
        default: int = 204,
        stall_seconds: float = 60,
    ):
        self.answers = answers if answers is not None else []
        self.default = default
        self.stall_seconds = stall_seconds
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- what it answers ---

    def _answer_for(self, number: int):
        if callable(self.answers):
            return self.answers(number)
        if number <= len(self.answers):
            return self.answers[number - 1]
        return self.default

    def _handler(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    number = len(receiver.received) + 1
                    got = Received(
                        number=number,
                        path=self.path,
                        headers={k: v for k, v in self.headers.items()},
                        body=body,
                        at=time.monotonic(),
                    )
                    receiver.received.append(got)
                answer = receiver._answer_for(number)
                if answer == STALL:
                    receiver._released.wait(receiver.stall_seconds)
                    return  # no answer: the connection is dropped
                try:
                    self.send_response(int(answer))
                    self.send_header("Content-Length", "2")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(b"ok")
                    got.answered = int(answer)
                except OSError:
                    pass  # the sender went away

            def log_message(self, *args):
                pass

        return Handler

    # --- running ---

    def up(self) -> "Receiver":
        self._server = _Server(("127.0.0.1", self.port), self._handler())
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def down(self) -> None:
        """Stop listening: new connections are refused until `up()`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def release(self) -> None:
        """Let every stalled request go (unanswered)."""
        self._released.set()

    def __enter__(self) -> "Receiver":
        return self.up()

    def __exit__(self, *exc) -> None:
        self.release()
        self.down()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def wait_for(self, count: int, timeout: float) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the receiver got {len(self.received)} requests, not {count}, in {timeout}s"
                )
            time.sleep(0.02)
        return list(self.received)


def closed_port() -> int:
    """A port nothing listens on (connections refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
