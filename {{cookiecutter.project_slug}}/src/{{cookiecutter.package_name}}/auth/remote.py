"""Talking to the authorization server: hardened HTTP requests for JSON documents.

Responses are hostile until checked: no redirects are followed, bodies over 1 MiB and
non-JSON bodies are refused, and the whole exchange is bounded by one deadline, so a slow
or broken server costs a request a few seconds at most, never a hung worker.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode

MAX_BODY_BYTES = 1024 * 1024
USER_AGENT = "{{ cookiecutter.project_slug }}-oauth-client/1.0 (Python urllib)"
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$)", re.IGNORECASE)


class FetchError(Exception):
    """The server could not be read or answered something unusable; says what and where."""


@dataclass(frozen=True, slots=True)
class Fetched:
    body: Any  # parsed JSON; None when the server answered 304 Not Modified
    etag: str | None
    max_age: float | None  # from Cache-Control, when the server gave one


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201
        raise urllib.error.HTTPError(req.full_url, code, "redirects are not followed", headers, fp)


class HttpClient:
    """Requests JSON documents with a deadline, a size cap and no redirects."""

    def __init__(self, timeout: float, ssl_context: ssl.SSLContext | None = None) -> None:
        self._timeout = timeout
        self._opener = urllib.request.build_opener(
            _RefuseRedirects(),
            urllib.request.HTTPSHandler(context=ssl_context or ssl.create_default_context()),
        )

    def get_json(self, url: str, etag: str | None = None) -> Fetched:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if etag:
            headers["If-None-Match"] = etag
        return self._exchange(urllib.request.Request(url, headers=headers), etag)

    def post_form(
        self, url: str, fields: dict[str, str], basic_auth: tuple[str, str] | None = None
    ) -> Fetched:
        """POST ``fields`` form-encoded; ``basic_auth`` as in RFC 6749, section 2.3.1."""
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": USER_AGENT,
        }
        if basic_auth:
            user, password = (quote_plus(part) for part in basic_auth)
            credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {credentials}"
        body = urlencode(fields).encode()
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        return self._exchange(request, None)

    def _exchange(self, request: urllib.request.Request, etag: str | None) -> Fetched:
        where = f"{request.get_method()} {request.full_url}"
        deadline = time.monotonic() + self._timeout
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                body = _read_capped(response, deadline)
                content_type = response.headers.get("Content-Type", "")
                cache_control = response.headers.get("Cache-Control", "")
                new_etag = response.headers.get("ETag")
        except urllib.error.HTTPError as error:
            if error.code == 304 and etag:
                return Fetched(None, etag, _max_age(error.headers.get("Cache-Control", "")))
            raise FetchError(f"{where}: HTTP {error.code}") from None
        except (OSError, ValueError) as error:  # URLError, timeouts, TLS, bad status line
            raise FetchError(f"{where}: {_describe(error)}") from None
        if not _is_json(content_type):
            raise FetchError(f"{where}: Content-Type {content_type[:60]!r} is not JSON")
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            raise FetchError(f"{where}: the body is not valid JSON") from None
        return Fetched(document, new_etag, _max_age(cache_control))


def _read_capped(response: Any, deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    # read1, not read: read(n) waits for all n bytes, so a server sending one byte per
    # socket timeout could hold the request for as long as it likes; read1 returns what
    # one socket read brings, and the deadline is checked between reads.
    while chunk := response.read1(65536):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise FetchError(f"the body is larger than {MAX_BODY_BYTES} bytes")
        if time.monotonic() > deadline:
            raise TimeoutError("the response took too long")
        chunks.append(chunk)
    return b"".join(chunks)


def _describe(error: BaseException) -> str:
    reason = getattr(error, "reason", None)
    return f"{type(error).__name__}: {reason or error}"[:200]


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _max_age(cache_control: str) -> float | None:
    if _NO_CACHE.search(cache_control):
        return 0.0
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else None
