"""Reading the authorization server: hardened HTTP GETs of its metadata and key set.

Responses are hostile until checked: no redirects are followed, bodies over 1 MiB and
non-JSON bodies are refused, and the whole exchange is bounded by one deadline, so a slow
or broken server costs a request a few seconds at most, never a hung worker.
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..settings import url_problem

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
USER_AGENT = "{{ cookiecutter.project_slug }}-jwks-client/1.0 (Python urllib)"
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
    """GETs JSON documents with a deadline, a size cap and no redirects."""

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
        request = urllib.request.Request(url, headers=headers, method="GET")
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
            raise FetchError(f"GET {url}: HTTP {error.code}") from None
        except (OSError, ValueError) as error:  # URLError, timeouts, TLS, bad status line
            raise FetchError(f"GET {url}: {_describe(error)}") from None
        if not _is_json(content_type):
            raise FetchError(f"GET {url}: Content-Type {content_type[:60]!r} is not JSON")
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            raise FetchError(f"GET {url}: the body is not valid JSON") from None
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


def metadata_urls(issuer: str) -> tuple[str, str]:
    """Where the issuer's metadata lives: OpenID Connect Discovery, then RFC 8414."""
    parts = urlsplit(issuer)
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    return (
        f"{issuer.rstrip('/')}/.well-known/openid-configuration",
        f"{origin}/.well-known/oauth-authorization-server{path}",
    )


def discover_jwks_uri(http: HttpClient, issuer: str) -> str:
    """The ``jwks_uri`` the issuer publishes in its metadata, checked against the issuer."""
    failures = []
    for url in metadata_urls(issuer):
        try:
            metadata = http.get_json(url).body
        except FetchError as error:
            failures.append(str(error))
            continue
        if not isinstance(metadata, dict) or metadata.get("issuer") != issuer:
            raise FetchError(f"GET {url}: the metadata's issuer is not {issuer!r}")
        jwks_uri = metadata.get("jwks_uri")
        problem = url_problem(jwks_uri) if isinstance(jwks_uri, str) else "missing"
        if problem:
            raise FetchError(f"GET {url}: unusable jwks_uri ({problem})")
        return jwks_uri
    raise FetchError("metadata discovery failed: " + "; ".join(failures))


class JwksSource:
    """Fetches the key set, finding its address by discovery when none is configured.

    A discovered ``jwks_uri`` is reused for ``discovery_max_age`` seconds; when discovery
    fails later, the address found before keeps being used.
    """

    def __init__(
        self,
        http: HttpClient,
        issuer: str,
        jwks_uri: str = "",
        discovery_max_age: float = 300,
        clock: Any = time.monotonic,
    ) -> None:
        self._http = http
        self._issuer = issuer
        self._configured_uri = jwks_uri
        self._discovery_max_age = discovery_max_age
        self._clock = clock
        self._discovered: tuple[str, float] | None = None

    @property
    def jwks_uri(self) -> str | None:
        if self._configured_uri:
            return self._configured_uri
        return self._discovered[0] if self._discovered else None

    def fetch(self, etag: str | None) -> Fetched:
        return self._http.get_json(self._resolve_uri(), etag)

    def _resolve_uri(self) -> str:
        if self._configured_uri:
            return self._configured_uri
        now = self._clock()
        if self._discovered and now - self._discovered[1] < self._discovery_max_age:
            return self._discovered[0]
        try:
            uri = discover_jwks_uri(self._http, self._issuer)
        except FetchError:
            if not self._discovered:
                raise
            log.warning("metadata discovery failed; reusing jwks_uri found earlier")
            return self._discovered[0]
        self._discovered = (uri, now)
        return uri
