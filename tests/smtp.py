"""A real SMTP receiver on 127.0.0.1 for the worker tests (issue 16 §4's digest).

`smtp_receiver()` starts a small SMTP server (the commands Django's SMTP backend and
smtplib use: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) in a thread of the test
process, on a free port, and keeps each message it accepted (`Receiver.messages`). It
accepts a message as a mail server does: after the data's final "." it stores it, then
answers 250; a connection that ends before that leaves nothing.

`Receiver.stall_next_data()` makes it hold the next DATA command unanswered (no 354),
so that the client, a worker, waits inside its send with the envelope given and the
message not yet sent: the moment to kill it. `release()` lets the held connection go on
(one whose client died meanwhile reads its end and is dropped).

The stdlib's `smtpd` is deprecated (and gone in Python 3.12) and aiosmtpd is not one of
our dependencies: this is what the tests need of a server, no more.
"""

import email
import email.policy
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Accepted:
    mail_from: str
    rcpt_to: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class Receiver:
    port: int = 0
    messages: list[Accepted] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _stall: bool = False
    stalled: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    dropped: int = 0  # connections that ended inside a transaction

    def stall_next_data(self) -> None:
        with self.lock:
            self._stall = True
            self.stalled.clear()
            self.released.clear()

    def release(self) -> None:
        self.released.set()

    def _take_stall(self) -> bool:
        with self.lock:
            stall, self._stall = self._stall, False
            return stall

    def accepted(self) -> list[Accepted]:
        with self.lock:
            return list(self.messages)


class _Handler(socketserver.StreamRequestHandler):
    timeout = 120  # a connection left idle this long is closed

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        receiver: Receiver = self.server.receiver
        mail_from, rcpt_to = None, []
        try:
            self.reply("220 127.0.0.1 okrplan test SMTP")
            while True:
                line = self.rfile.readline()
                if not line:
                    break
                verb, _, argument = line.decode("ascii", "replace").strip().partition(" ")
                verb = verb.upper()
                if verb == "EHLO":
                    self.wfile.write(b"250-127.0.0.1\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                    self.wfile.flush()
                elif verb == "HELO":
                    self.reply("250 127.0.0.1")
                elif verb == "MAIL":
                    mail_from, rcpt_to = argument.partition(":")[2].strip(), []
                    self.reply("250 OK")
                elif verb == "RCPT":
                    rcpt_to.append(argument.partition(":")[2].strip().strip("<>"))
                    self.reply("250 OK")
                elif verb == "DATA":
                    if receiver._take_stall():
                        receiver.stalled.set()
                        receiver.released.wait(120)
                    self.reply("354 End data with <CR><LF>.<CR><LF>")
                    data = self._data()
                    if data is None:
                        break  # the client went away inside the data: nothing kept
                    with receiver.lock:
                        receiver.messages.append(Accepted(mail_from, rcpt_to, data))
                    mail_from, rcpt_to = None, []
                    self.reply("250 OK: queued")
                elif verb == "RSET":
                    mail_from, rcpt_to = None, []
                    self.reply("250 OK")
                elif verb == "NOOP":
                    self.reply("250 OK")
                elif verb == "QUIT":
                    self.reply("221 Bye")
                    break
                else:
                    self.reply("502 Command not implemented")
        except OSError:
            pass  # the client died (SIGKILL): what it had not finished is dropped
        if mail_from is not None:
            with receiver.lock:
                receiver.dropped += 1

    def _data(self) -> bytes | None:
        lines = []
        while True:
            line = self.rfile.readline()
            if not line:
                return None
            if line in (b".\r\n", b".\n"):
                return b"".join(lines)
            lines.append(line[1:] if line.startswith(b"..") else line)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def smtp_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.receiver = receiver
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="smtp-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release()
        server.shutdown()
        server.server_close()
        thread.join(10)
