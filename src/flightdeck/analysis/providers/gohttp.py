"""HTTP for the metric providers, with Go ``net/http``'s behaviour and error texts.

Argo Rollouts' providers are Go programs: a failed request surfaces as a ``*url.Error`` whose text
is ``Post "http://h:9090/api/v1/query": dial tcp 10.0.0.7:9090: connect: connection refused``.
Users search for those strings, so flightdeck turns httpx's exceptions into the same shapes here.
Where Go's text depends on information httpx does not expose (the local port of a reset
connection), the text is an approximation of the same form.

Clients are pooled per (TLS verification, timeout): providers are built per measurement, while the
connection pool should outlive them. httpx clients are safe to share between threads; the cache
itself is guarded by a lock.
"""

from __future__ import annotations

import errno
import ipaddress
import re
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import httpx

GO_USER_AGENT = "Go-http-client/1.1"
MAX_REDIRECTS = 10  # net/http's defaultCheckRedirect
REDACTED = "*****"

_HEADER_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")

_clients: dict[tuple[bool, float], httpx.Client] = {}
_clients_lock = threading.Lock()

Resolver = Callable[[str], "str | None"]
"""Cluster-name resolution: host name → IP (or ``IP:port`` when the name's port moves), None if unknown."""

_resolver: Resolver | None = None


def set_resolver(resolver: Resolver | None) -> None:
    """Resolve host names through ``resolver`` first (the local cluster's names), then DNS.

    The request keeps its URL, ``Host`` header and TLS server name; only the address dialled changes,
    as with a cluster DNS entry. Errors name the address dialled, as Go's do.
    """
    global _resolver
    _resolver = resolver
    close_clients()


def _resolved(host: str, port: int) -> tuple[str, int] | None:
    resolver = _resolver
    if resolver is None or not host or _literal_ip(host) is not None:
        return None
    try:
        answer = resolver(host)
    except Exception:  # a broken resolver must not break measurements: fall back to DNS
        return None
    if not answer:
        return None
    ip, sep, moved = answer.rpartition(":")
    if sep and moved.isdigit() and ip and (":" not in ip or ip.startswith("[")):
        return ip.strip("[]"), int(moved)
    return answer.strip("[]"), port


def _route(url: str) -> tuple[str, list[tuple[bytes, bytes]], dict[str, str]]:
    """The URL to dial, extra headers and request extensions for cluster-name resolution."""
    if _resolver is None:
        return url, [], {}
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        return url, [], {}
    target = _resolved(host, port)
    if target is None:
        return url, [], {}
    ip, new_port = target
    hostport = parts.netloc.rpartition("@")[2]
    netloc = f"[{ip}]:{new_port}" if ":" in ip else f"{ip}:{new_port}"
    if "@" in parts.netloc:
        netloc = parts.netloc.rpartition("@")[0] + "@" + netloc
    extensions = {"sni_hostname": host} if parts.scheme.lower() == "https" else {}
    return (
        urllib.parse.urlunsplit(parts._replace(netloc=netloc)),
        [(b"Host", hostport.encode("idna"))],
        extensions,
    )


class GoHTTPError(Exception):
    """A request failed before an HTTP status was available; ``str()`` is Go's ``*url.Error`` text."""


@dataclass(frozen=True, slots=True)
class GoResponse:
    status: int
    body: bytes
    url: str


def shared_client(*, insecure: bool, timeout: float) -> httpx.Client:
    """The pooled client for this TLS mode and timeout (created on first use, then reused)."""
    key = (insecure, timeout)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            # Go verifies against the system roots; with insecure it skips verification entirely.
            verify: ssl.SSLContext | bool = False if insecure else ssl.create_default_context()
            client = httpx.Client(
                verify=verify,
                timeout=timeout if timeout > 0 else None,
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                trust_env=False,
            )
            # Go's default request headers instead of httpx's.
            client.headers = httpx.Headers({"User-Agent": GO_USER_AGENT, "Accept-Encoding": "gzip"})
            _clients[key] = client
        return client


def close_clients() -> None:
    """Close every pooled client (tests, shutdown)."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()


def go_method_op(method: str) -> str:
    """``net/http``'s ``urlErrorOp``: ``POST`` → ``Post``."""
    return method[:1] + method[1:].lower() if method else method


def strip_password(url: str) -> str:
    """Go's ``stripPassword``: a password in the URL is shown as ``***``."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}"))


def url_error(method: str, url: str, reason: str) -> str:
    """A Go ``*url.Error`` text: ``Op "URL": reason``."""
    return f'{go_method_op(method)} "{strip_password(url)}": {reason}'


def redact(message: str, secrets: Iterable[str]) -> str:
    """Replace every non-empty secret value with ``*****`` (analysis.go, longest first)."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        message = message.replace(secret, REDACTED)
    return message


def set_go_headers(target: dict[str, str], headers: object) -> None:
    """Apply ``[{key, value}]`` like ``http.Header.Set`` in order: the last duplicate wins."""
    if not isinstance(headers, list):
        return
    for entry in headers:
        if not isinstance(entry, Mapping):
            continue
        key = str(entry.get("key") or "")
        value = "" if entry.get("value") is None else str(entry.get("value"))
        for existing in [k for k in target if k.lower() == key.lower()]:
            del target[existing]
        target[_canonical_header_key(key)] = value


def _canonical_header_key(key: str) -> str:
    """``textproto.CanonicalMIMEHeaderKey``: ``x-scope-orgid`` → ``X-Scope-Orgid``."""
    if not key or any(not (c.isascii() and (c.isalnum() or c in "!#$%&'*+-.^_`|~")) for c in key):
        return key
    return "-".join(part[:1].upper() + part[1:].lower() for part in key.split("-"))


# ---------------------------------------------------------------------------------------------------
# the request itself


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    content: bytes | None,
    deadline: float | None,
    timeout_reason: str = "context deadline exceeded",
    body_timeout_reason: str = "context deadline exceeded",
) -> GoResponse:
    """Send one request the way Go's ``http.Client.Do`` would, within ``deadline`` (``time.monotonic``).

    Raises :class:`GoHTTPError` carrying Go's text for anything that is not an HTTP response.
    ``timeout_reason`` is what Go says when the deadline passes before the response headers.
    """
    scheme_error = _check_url(url)
    if scheme_error:
        raise GoHTTPError(url_error(method, url, scheme_error))
    timeout: float | None = None
    if deadline is not None:
        timeout = deadline - time.monotonic()
        if timeout <= 0:
            raise GoHTTPError(url_error(method, url, timeout_reason))
    for key, value in headers.items():
        if not _HEADER_TOKEN.match(key):
            raise GoHTTPError(url_error(method, url, f'net/http: invalid header field name "{key}"'))
        if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in value):
            raise GoHTTPError(url_error(method, url, f'net/http: invalid header field value for "{key}"'))
    try:
        dial_url, route_headers, extensions = _route(url)
        request = client.build_request(
            method,
            dial_url,
            # Go writes header values as the bytes they are; httpx would insist on ASCII for str
            headers=[(key.encode("latin-1"), value.encode("utf-8")) for key, value in headers.items()]
            + route_headers,
            content=content,
            timeout=httpx.Timeout(timeout) if timeout is not None else None,
            extensions=extensions or None,
        )
        response = client.send(request)
    except httpx.TooManyRedirects as exc:
        raise GoHTTPError(url_error(method, str(exc.request.url), "stopped after 10 redirects")) from None
    except httpx.TimeoutException:
        raise GoHTTPError(url_error(method, url, timeout_reason)) from None
    except httpx.HTTPError as exc:
        raise GoHTTPError(url_error(method, url, transport_reason(exc, url))) from None
    except httpx.InvalidURL as exc:
        raise GoHTTPError(f'parse "{strip_password(url)}": {exc}') from None
    except (UnicodeError, ValueError, TypeError) as exc:
        # e.g. a header value that cannot go on the wire; Go refuses such requests as well
        raise GoHTTPError(url_error(method, url, f"net/http: invalid request: {exc}")) from None
    if deadline is not None and time.monotonic() > deadline:
        # Go's deadline covers reading the body too; then the error carries no URL.
        raise GoHTTPError(body_timeout_reason)
    return GoResponse(status=response.status_code, body=response.content, url=str(response.url))


def _check_url(url: str) -> str:
    """What Go's client rejects before dialling (``unsupported protocol scheme``, no host)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:
        return str(exc)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return f'unsupported protocol scheme "{parts.scheme}"'
    if not parts.netloc.rpartition("@")[2]:
        return "http: no Host in request URL"
    return ""


def transport_reason(exc: BaseException, url: str) -> str:
    """Go's text for a transport failure (the part after ``Post "URL": ``)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        port = 0
    cause = _root_os_error(exc)
    if isinstance(cause, socket.gaierror):
        return f"dial tcp: lookup {host} on {_nameserver()}: no such host"
    if isinstance(cause, ssl.SSLCertVerificationError):
        return _tls_verify_reason(cause, host)
    if isinstance(cause, ssl.SSLError):
        if "WRONG_VERSION_NUMBER" in str(cause) or "record layer failure" in str(cause):
            return "http: server gave HTTP response to HTTPS client"
        return "remote error: tls: handshake failure"
    if isinstance(cause, OSError) and cause.errno is not None:
        remote = _dial_address(host, port)
        if isinstance(exc, httpx.ConnectError):
            return f"dial tcp {remote}: connect: {_errno_text(cause.errno)}"
        if isinstance(exc, httpx.WriteError):
            return f"write tcp {remote}: write: {_errno_text(cause.errno)}"
        return f"read tcp {remote}: read: {_errno_text(cause.errno)}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "EOF"
    if isinstance(exc, httpx.ConnectError):
        text = str(exc).lower()
        if "name or service not known" in text or "nodename nor servname" in text:
            return f"dial tcp: lookup {host} on {_nameserver()}: no such host"
        if "refused" in text:
            return f"dial tcp {_dial_address(host, port)}: connect: connection refused"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f'unsupported protocol scheme "{parts.scheme}"'
    return str(exc) or type(exc).__name__


def _root_os_error(exc: BaseException) -> BaseException | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    found: BaseException | None = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError):
            found = current
        current = current.__cause__ or current.__context__
    return found


_ERRNO_TEXT = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset by peer",
    errno.ENETUNREACH: "network is unreachable",
    errno.EHOSTUNREACH: "no route to host",
    errno.ETIMEDOUT: "connection timed out",
    errno.EPIPE: "broken pipe",
    errno.EADDRNOTAVAIL: "cannot assign requested address",
}


def _errno_text(code: int) -> str:
    return _ERRNO_TEXT.get(code) or (errno.errorcode.get(code, str(code)).lower())


def _tls_verify_reason(err: ssl.SSLCertVerificationError, host: str) -> str:
    code = getattr(err, "verify_code", 0)
    if code in (18, 19, 20, 21):  # self-signed / unknown issuer
        return "tls: failed to verify certificate: x509: certificate signed by unknown authority"
    if code == 10:
        return "tls: failed to verify certificate: x509: certificate has expired or is not yet valid"
    if code == 62:
        return f"tls: failed to verify certificate: x509: certificate is not valid for {host}"
    return f"tls: failed to verify certificate: x509: {getattr(err, 'verify_message', '') or err}"


def _dial_address(host: str, port: int) -> str:
    """The address Go would report for the dial: an IP literal as is, a name by its first address."""
    ip = _literal_ip(host)
    routed = _resolved(host, port)
    if routed is not None:
        ip, port = routed
    if ip is None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            infos = []
        ip = str(infos[0][4][0]) if infos else host
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _literal_ip(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


@lru_cache(maxsize=1)
def _nameserver() -> str:
    """The first resolver of /etc/resolv.conf as Go's pure-Go resolver names it (``ip:53``)."""
    try:
        with open("/etc/resolv.conf", encoding="utf-8") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) >= 2 and fields[0] == "nameserver":
                    ns = fields[1].split("%")[0]
                    return f"[{ns}]:53" if ":" in ns else f"{ns}:53"
    except OSError:
        pass
    return "127.0.0.1:53"
