"""Where the key set lives: the configured ``jwks_uri``, or the issuer's metadata.

Discovery reads OpenID Connect Discovery, then RFC 8414 metadata, and accepts it only when
the metadata names exactly the configured issuer.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

from ..settings import url_problem
from .remote import Fetched, FetchError, HttpClient

log = logging.getLogger(__name__)


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
