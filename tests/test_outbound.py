"""okrplan/lib/outbound.py: requests to addresses people typed, against real sockets on
127.0.0.1 — the address rule, a deadline for the whole request, no proxies, no
redirects."""

import socket
import threading
import time

import pytest

from okrplan.lib import outbound
from tests.receiver import Receiver


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", "a loopback address (this machine)"),
        ("127.8.9.10", "a loopback address (this machine)"),
        ("::1", "a loopback address (this machine)"),
        ("10.0.0.1", "a private network address"),
        ("172.16.5.4", "a private network address"),
        ("192.168.1.1", "a private network address"),
        ("fd00::1", "a private network address"),
        ("169.254.169.254", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("::ffff:192.168.0.1", "a private network address"),
        ("::ffff:127.0.0.1", "a loopback address (this machine)"),
        ("0.0.0.0", "a private network address"),
        ("100.64.0.1", "not a public internet address"),
        ("224.0.0.1", "not a public internet address"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_it_refuses_every_address_that_is_not_public(address, refused):
    assert outbound.address_refusal(address) == refused


def _post(url, **kwargs):
    return outbound.post(url, body=b"{}", headers={}, timeout=kwargs.pop("timeout", 2), **kwargs)


def test_it_refuses_a_name_that_resolves_to_loopback_without_sending_a_byte():
    with Receiver() as receiver:
        answer = _post(receiver.url.replace("127.0.0.1", "localhost"), allow_private=False)
        allowed = _post(receiver.url.replace("127.0.0.1", "localhost"), allow_private=True)
    assert answer.status is None and not answer.ok
    assert answer.error.startswith("Refused: localhost (127.0.0.1) is a loopback address")
    assert allowed.ok and len(receiver.received) == 1


def test_a_receiver_that_answers_a_byte_at_a_time_is_cut_off_at_the_deadline():
    """The timeout bounds the whole request, not each read: a receiver sending a header
    byte every 0.2 s never lets a per-read timeout of 1 s expire."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    stop = threading.Event()

    def drip():
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
                if stop.is_set():
                    return
                try:
                    conn.send(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.2)

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    started = time.monotonic()
    answer = _post(f"http://127.0.0.1:{port}/hook", allow_private=True, timeout=1)
    took = time.monotonic() - started
    stop.set()
    server.close()

    assert answer.status is None and answer.error == "No answer within 1 s."
    assert took < 2


def test_it_uses_no_proxy_of_the_environment_and_follows_no_redirect(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    with Receiver(answers=[307]) as receiver:
        redirected = _post(receiver.url, allow_private=True)
        direct = _post(receiver.url, allow_private=True)
    assert redirected.status == 307 and not redirected.ok  # an answer, not followed
    assert redirected.error == "HTTP 307: ok"
    assert direct.ok and len(receiver.received) == 2


def test_it_answers_an_unreachable_or_unknown_host_with_the_reason():
    unknown = _post("http://no-such-host.invalid/hook", allow_private=True)
    assert unknown.status is None and unknown.error.startswith("Could not deliver:")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://example.com/x", "Enter an http:// or https:// URL"),
        ("https:///nohost", "Enter an http:// or https:// URL"),
        ("http://example.com:99999/", "Enter a valid URL."),
        ("http://10.0.0.1/", "10.0.0.1 is a private network address"),
        ("http://[::1]:8000/", "::1 is a loopback address"),
    ],
)
def test_it_says_why_a_url_is_refused(url, words):
    assert words in outbound.url_refusal(url, allow_private=False)


def test_a_public_address_and_an_unresolved_name_are_not_refused_when_stored():
    assert outbound.url_refusal("https://93.184.215.14/x", allow_private=False) is None
    assert outbound.url_refusal("https://no-such-host.invalid/x", allow_private=False) is None
