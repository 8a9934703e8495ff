"""Talking to the authorization server: hardened HTTP requests for JSON documents.

Responses are hostile until checked: no redirects are followed, bodies over 1 MiB and
non-JSON bodies are refused, and the whole exchange (name lookup, connect, TLS, status
line, headers, body) is bounded by one deadline, so a slow or broken server, or a slow
resolver, costs a request a few seconds at most, never a hung worker. Every way the
exchange can fail, protocol errors of ``http.client`` included, becomes a ``FetchError``,
so callers have one failure to handle.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import io
import json
{%- if cookiecutter.token_format == "jwt" %}
import re
{%- endif %}
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
{%- if cookiecutter.token_format == "jwt" %}
from urllib.parse import SplitResult, urlsplit
{%- else %}
from urllib.parse import SplitResult, urlencode, urlsplit
{%- endif %}

MAX_BODY_BYTES = 1024 * 1024
#: Name lookups run here, so a request can stop waiting for one: ``getaddrinfo`` itself
#: takes no timeout. A lookup that never returns holds one of these threads, not a worker.
_RESOLVER = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="dns")
USER_AGENT = "{{ cookiecutter.project_slug }}-oauth-client/1.0 (Python http.client)"
{%- if cookiecutter.token_format == "jwt" %}
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$)", re.IGNORECASE)
{%- endif %}


class FetchError(Exception):
    """The server could not be read or answered something unusable; says what and where."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status of an answer other than 200, if any


@dataclass(frozen=True, slots=True)
class Fetched:
{%- if cookiecutter.token_format == "jwt" %}
    body: Any  # parsed JSON; None when the server answered 304 Not Modified
    etag: str | None
    max_age: float | None  # from Cache-Control, when the server gave one
{%- else %}
    body: Any  # parsed JSON, or the text of the media type asked for
{%- endif %}


class HttpClient:
    """Requests JSON documents with a deadline, a size cap and no redirects."""

    def __init__(self, timeout: float, ssl_context: ssl.SSLContext | None = None) -> None:
        self._timeout = timeout
        self._tls = ssl_context or ssl.create_default_context()
{%- if cookiecutter.token_format == "jwt" %}

    def get_json(self, url: str, etag: str | None = None) -> Fetched:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if etag:
            headers["If-None-Match"] = etag
        return self._exchange("GET", url, None, headers, etag)
{%- else %}

    def get_json(self, url: str) -> Fetched:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        return self._exchange("GET", url, None, headers)

    def post_form(
        self, url: str, fields: dict[str, str], headers: dict[str, str] | None = None
    ) -> Fetched:
        """POST ``fields`` form-encoded, with ``headers`` (client authentication) added."""
        sent = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": USER_AGENT,
            **(headers or {}),
        }
        return self._exchange("POST", url, urlencode(fields).encode(), sent)
{%- endif %}

    def _exchange(
{%- if cookiecutter.token_format == "jwt" %}
        self, method: str, url: str, body: bytes | None, headers: dict[str, str], etag: str | None
{%- else %}
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
{%- endif %}
    ) -> Fetched:
        where = f"{method} {url}"
        deadline = time.monotonic() + self._timeout
        try:
            parts = urlsplit(url)
            with self._connect(parts, deadline) as sock:
                # http.client only writes the request and parses the answer: it never
                # opens a connection itself, so it cannot follow a redirect either.
                connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
                connection.sock = _DeadlineSocket(sock, deadline)
                target = parts.path or "/"
                if parts.query:
                    target += "?" + parts.query
                host = parts.netloc.rpartition("@")[2]  # never userinfo, should a URL carry it
                connection.request(method, target, body, {"Host": host, **headers})
                response = connection.getresponse()
{%- if cookiecutter.token_format == "jwt" %}
                if response.status == 304 and etag:
                    return Fetched(None, etag, _max_age(response.getheader("Cache-Control", "")))
{%- endif %}
                if response.status != 200:  # redirects included: they are never followed
                    raise FetchError(f"{where}: HTTP {response.status}", response.status)
                content = _read_body(response)
        except (OSError, ValueError, http.client.HTTPException) as error:
            # OSError: refused, reset, timeouts, TLS; HTTPException: a broken status line,
            # too many or too long headers, bad chunks, a body cut short.
            raise FetchError(f"{where}: {_describe(error)}") from None
        content_type = response.getheader("Content-Type", "")
{%- if cookiecutter.token_format == "opaque" %}
        asked = headers["Accept"]
        if asked != "application/json" and content_type.split(";")[0].strip().lower() == asked:
            return Fetched(content.decode("utf-8", "replace"))  # its reader checks it
{%- endif %}
        if not _is_json(content_type):
            raise FetchError(f"{where}: Content-Type {content_type[:60]!r} is not JSON")
        try:
            document = json.loads(content)
        except (ValueError, RecursionError):
            raise FetchError(f"{where}: the body is not valid JSON") from None
{%- if cookiecutter.token_format == "jwt" %}
        return Fetched(
            document, response.getheader("ETag"), _max_age(response.getheader("Cache-Control", ""))
        )
{%- else %}
        return Fetched(document)
{%- endif %}

    def _connect(self, parts: SplitResult, deadline: float) -> socket.socket:
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an absolute http(s) URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        sock = _open(_addresses(parts.hostname, port, deadline), deadline)
        if parts.scheme == "http":
            return sock
        try:
            # The handshake runs within the socket's timeout, counted as one deadline.
            sock.settimeout(_time_left(deadline))
            return self._tls.wrap_socket(sock, server_hostname=parts.hostname)
        except BaseException:
            sock.close()
            raise


class _DeadlineSocket(io.RawIOBase):
    """The socket as http.client sees it: every read and write gets only the time left.

    A plain socket timeout applies to each read alone, so a server sending one header line
    (or one body byte) just within it could hold the request for ever. ``close`` does
    nothing: http.client closes the socket as soon as the headers are in, before the body
    is read; the exchange closes the real socket when it is done.
    """

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(_time_left(self._deadline))
        return self._sock.recv_into(buffer)

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(_time_left(self._deadline))
        self._sock.sendall(data)

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(self)

    def close(self) -> None:
        pass


def _addresses(host: str, port: int, deadline: float) -> list[tuple[Any, ...]]:
    """The host's addresses, looked up within the deadline."""
    lookup = _RESOLVER.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        return lookup.result(timeout=_time_left(deadline))
    except concurrent.futures.TimeoutError:
        lookup.cancel()  # still queued behind stuck lookups: it need not run at all
        raise TimeoutError(f"looking up {host} took too long") from None


def _open(addresses: list[tuple[Any, ...]], deadline: float) -> socket.socket:
    """A connection to the first address that accepts one, as ``create_connection`` does."""
    failure: OSError = OSError("no address to connect to")
    for family, kind, protocol, _, address in addresses:
        sock = socket.socket(family, kind, protocol)
        try:
            sock.settimeout(_time_left(deadline))
            sock.connect(address)
            return sock
        except OSError as error:
            sock.close()
            failure = error
    raise failure


def _time_left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the authorization server took too long")
    return left


def _read_body(response: http.client.HTTPResponse) -> bytes:
    body = response.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise ValueError(f"the body is larger than {MAX_BODY_BYTES} bytes")
    if response.length:  # Content-Length promised more than arrived before the close
        raise http.client.IncompleteRead(body, response.length)
    return body


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:200]


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )

{%- if cookiecutter.token_format == "jwt" %}


def _max_age(cache_control: str) -> float | None:
    if _NO_CACHE.search(cache_control):
        return 0.0
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else None
{%- endif %}
