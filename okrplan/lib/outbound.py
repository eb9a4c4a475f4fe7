"""Requests to addresses people typed (the organizations' webhooks): refused on private,
loopback and link-local networks unless allowed, and bounded in time as a whole.

`url_refusal(url)` says why a URL may not be sent to (its scheme, or its host: an address
literal, or a name whose addresses are checked), for the form that stores it.
`post(url, ...)` checks again where it counts: on every address the name resolves to at
the moment of connecting, and connects to one of those very addresses (a name that
resolves to a public address when it is stored and to 127.0.0.1 when it is used, DNS
rebinding, is refused then). Redirects are not followed and the environment's proxies are
not used: either would send the request somewhere else than the address checked.

A request takes at most `timeout` seconds from its first connection to the end of the
answer's headers: a receiver that answers a byte at a time is cut off at the deadline
(its socket shut down by a timer), so a delivery's lease (notifications/webhooks.py) can
be longer than any request. SQLite or PostgreSQL, none of this touches the database.
"""

import ipaddress
import socket
import threading
import time
from contextlib import suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

SCHEMES = ("http", "https")
ANSWER_BYTES = 300  # of a refusal's body, kept as the reason


class AddressRefused(Exception):
    """The host is, or resolves to, an address requests are not sent to. Not an OSError:
    urllib3 retries and wraps those; this one ends the request as it is."""


def address_refusal(address: str) -> str | None:
    """Why no request goes to this IP address (words for a person), or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # fe80::1%eth0: the zone aside
    if ip.version == 6 and ip.ipv4_mapped is not None:  # ::ffff:127.0.0.1 is 127.0.0.1
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address (this machine)"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private network address"
    if ip.is_multicast or not ip.is_global:
        return "not a public internet address"
    return None


def _resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (each once, in the resolver's order)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def _port(parts) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def url_refusal(url: str, *, allow_private: bool) -> str | None:
    """Why `url` is no address to send to (a sentence for the person who typed it), or
    None. A name that does not resolve now is not refused: the resolver decides when a
    request is sent (and `post` checks what it answers then)."""
    try:
        parts = urlsplit(url)
        port = _port(parts)
    except ValueError:
        return "Enter a valid URL."
    if parts.scheme not in SCHEMES or not parts.hostname:
        return "Enter an http:// or https:// URL with a host name."
    if allow_private:
        return None
    host = parts.hostname
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        try:
            addresses = _resolve(host, port)
        except (OSError, UnicodeError):
            return None
    else:  # an address literal: no resolver asked
        addresses = [host]
    for address in addresses:
        reason = address_refusal(address)
        if reason:
            named = host if address == host else f"{host} ({address})"
            return f"{named} is {reason}: webhooks go to public internet addresses only."
    return None


# --- The request ---------------------------------------------------------------------


@dataclass
class _Request:
    """One `post`: whether private addresses are allowed, its deadline, its sockets."""

    allow_private: bool
    deadline: float  # time.monotonic()
    sockets: list = field(default_factory=list)
    expired: bool = False

    def expire(self) -> None:
        """The deadline passed: whatever is still waiting for the receiver ends now."""
        self.expired = True
        for sock in list(self.sockets):
            with suppress(OSError):  # closed meanwhile
                sock.shutdown(socket.SHUT_RDWR)


_current: ContextVar[_Request | None] = ContextVar("okrplan_outbound_request", default=None)


def _connect(host: str, port: int, timeout, socket_options) -> socket.socket:
    """A connected socket to one of `host`'s addresses, each of which was checked."""
    request = _current.get()
    if request is None:
        raise AddressRefused("an outbound connection outside okrplan.lib.outbound.post")
    host = host.strip("[]")
    addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not request.allow_private:
        for *_, sockaddr in addresses:
            reason = address_refusal(sockaddr[0])
            if reason:
                shown = sockaddr[0] if sockaddr[0] == host else f"{host} ({sockaddr[0]})"
                raise AddressRefused(f"{shown} is {reason}")
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in addresses:
        sock = socket.socket(family, kind, proto)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            left = request.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the deadline passed before connecting")
            sock.settimeout(min(timeout, left) if isinstance(timeout, int | float) else left)
            sock.connect(sockaddr)
        except OSError as failed:
            sock.close()
            error = failed
            continue
        request.sockets.append(sock)
        return sock
    raise error or OSError(f"{host} has no address")


class _Checked:
    """urllib3's connection, connecting through `_connect` (after the address check)."""

    def _new_conn(self) -> socket.socket:
        try:
            return _connect(self._dns_host, self.port, self.timeout, self.socket_options)
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error
        except TimeoutError as error:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out") from error
        except OSError as error:
            raise NewConnectionError(self, f"Failed to connect: {error}") from error


class _CheckedHTTPConnection(_Checked, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_Checked, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _CheckedHTTPPool,
            "https": _CheckedHTTPSPool,
        }


@dataclass(frozen=True)
class Answer:
    """What came of a request: the receiver's status, or why there was none."""

    status: int | None  # None: no answer (refused, unreachable, timed out)
    error: str  # "" for a 2xx; else the reason, for a person
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(url: str, *, body: bytes, headers: dict, timeout: float, allow_private: bool) -> Answer:
    """POST `body` to `url`, in at most `timeout` seconds: the answer, never an exception
    for anything the network or the receiver does."""
    started = time.monotonic()
    request = _Request(allow_private=allow_private, deadline=started + timeout)
    token = _current.set(request)
    timer = threading.Timer(timeout, request.expire)
    timer.daemon = True
    session = requests.Session()
    session.trust_env = False  # no proxy of the environment: the address checked is the one
    adapter = _CheckedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)

    def answer(status, error) -> Answer:
        return Answer(status=status, error=error, seconds=round(time.monotonic() - started, 3))

    timer.start()
    try:
        response = session.post(
            url,
            data=body,
            headers=headers,
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,  # the body is not read, beyond a refusal's first bytes
        )
        with response:
            if 200 <= response.status_code < 300:
                return answer(response.status_code, "")
            try:
                text = response.raw.read(ANSWER_BYTES, decode_content=False)
            except Exception:  # the answer's body is only a hint
                text = b""
            said = " ".join(text.decode("utf-8", "replace").split())
            return answer(
                response.status_code,
                f"HTTP {response.status_code}" + (f": {said}" if said else ""),
            )
    except AddressRefused as error:
        return answer(None, f"Refused: {error} (WEBHOOK_ALLOW_PRIVATE is off).")
    except requests.RequestException as error:
        if request.expired or isinstance(error, requests.Timeout):
            return answer(None, f"No answer within {timeout:g} s.")
        return answer(None, f"Could not deliver: {_reason(error)}")
    finally:
        timer.cancel()
        _current.reset(token)
        session.close()
        for sock in request.sockets:
            sock.close()


def _reason(error: BaseException) -> str:
    """The innermost cause of a requests error, in one short line."""
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:200]
