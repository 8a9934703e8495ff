"""Access token validation: signature, algorithm, type and claims (RFC 9068, RFC 8725).

``TokenValidator.validate`` is the hot path of every protected request. A token that
verified before is answered from a bounded cache keyed by the whole token; the cached
answer is used only while its key is still in the fresh key set and its time claims still
hold, so a removed key or an expiry takes effect at once. Refusals are never cached.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from itertools import islice
from types import MappingProxyType
from typing import Any, NamedTuple

from ..settings import Settings
from .access_token import AccessToken, scopes_of
from .errors import InvalidToken
from .jwk import VerificationKey
from .jws import Header, parse_json_object, verify_compact
from .key_cache import KeySetCache

log = logging.getLogger(__name__)

LENIENT_TYPES = frozenset({"at+jwt", "application/at+jwt", "jwt"})
STRICT_TYPES = frozenset({"at+jwt", "application/at+jwt"})
RFC9068_CLAIMS = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")


class _Verified(NamedTuple):
    """A cache entry; a named tuple because it is built on every cache miss."""

    token: AccessToken
    key: VerificationKey
    valid_from: float  # nbf - leeway, or -inf
    valid_until: float  # exp + leeway


class TokenValidator:
    """Turns a bearer token into an ``AccessToken`` or raises ``InvalidToken``."""

    def __init__(
        self, settings: Settings, keys: KeySetCache, clock: Callable[[], float] = time.time
    ) -> None:
        self._keys = keys
        self._clock = clock
        self._issuer = settings.issuer
        self._audience = settings.audience
        self._leeway = settings.leeway_seconds
        self._algorithms = frozenset(settings.algorithms)
        self._max_bytes = settings.max_token_bytes
        self._strict = settings.strict_rfc9068
        self._types = STRICT_TYPES if settings.strict_rfc9068 else LENIENT_TYPES
        self._cache_size = settings.verified_token_cache_size
        self._verified: dict[str, _Verified] = {}

    def validate(self, token: str) -> AccessToken:
        if len(token) > self._max_bytes:
            raise InvalidToken("The access token is too large")
        now = self._clock()
        # Fast path: a dict lookup and three comparisons, no lock, no decoding.
        hit = self._verified.get(token)
        if hit is not None:
            if hit.valid_from <= now < hit.valid_until and self._keys.is_current(hit.key):
                return hit.token
            self._verified.pop(token, None)
        header: Header = {}
        claims: dict[str, Any] = {}
        try:
            header, payload, key = verify_compact(token, self._resolve_key, self._algorithms)
            self._check_type(header)
            claims = parse_json_object(payload)
            verified = self._check_claims(claims, key, now)
        except InvalidToken as refusal:
            log.info(
                "access token refused: %s (kid=%.64r alg=%.16r iss=%.128r)",
                refusal.message,
                header.get("kid"),
                header.get("alg"),
                claims.get("iss"),
            )
            raise
        self._remember(token, verified)
        return verified.token

    # -- steps ---------------------------------------------------------------------------

    def _resolve_key(self, header: Header) -> VerificationKey:
        return self._keys.key_for(header.get("kid"), header["alg"])

    def _check_type(self, header: Header) -> None:
        typ = header.get("typ")
        if typ is None and not self._strict:
            return
        if not isinstance(typ, str) or typ.lower() not in self._types:
            raise InvalidToken("The token is not an access token (typ)")

    def _check_claims(self, claims: dict[str, Any], key: VerificationKey, now: float) -> _Verified:
        if claims.get("iss") != self._issuer:
            raise InvalidToken("The access token's issuer is not accepted")
        audience = claims.get("aud")
        if audience != self._audience and not (
            isinstance(audience, list) and self._audience in audience
        ):
            raise InvalidToken("The access token is not meant for this API (aud)")
        exp = claims.get("exp")
        if not _is_time(exp):
            raise InvalidToken("The access token has no valid expiry (exp)")
        if now >= exp + self._leeway:
            raise InvalidToken("The access token has expired")
        nbf = claims.get("nbf")
        if nbf is not None and (not _is_time(nbf) or now + self._leeway < nbf):
            raise InvalidToken("The access token is not valid yet (nbf)")
        iat = claims.get("iat")
        if iat is not None and (not _is_time(iat) or iat > now + self._leeway):
            raise InvalidToken("The access token is issued in the future (iat)")
        if self._strict:
            missing = [name for name in RFC9068_CLAIMS if claims.get(name) is None]
            if missing:
                raise InvalidToken("The access token lacks claims RFC 9068 requires")
        return _Verified(
            token=AccessToken(MappingProxyType(claims), *scopes_of(claims)),
            key=key,
            valid_from=-math.inf if nbf is None else nbf - self._leeway,
            valid_until=exp + self._leeway,
        )

    def _remember(self, token: str, verified: _Verified) -> None:
        size = self._cache_size
        if size <= 0:
            return
        cache = self._verified
        if len(cache) >= size:
            # Full: keep the newest seven eighths in a new dict. Popping the oldest entry one
            # at a time would leave deleted slots at the front of the dict for every later
            # next(iter(cache)) to walk over: about 9 us per miss with 10,000 entries.
            keep = size - max(1, size // 8)
            try:
                cache = dict(islice(cache.items(), len(cache) - keep, None))
            except RuntimeError:  # another thread changed it meanwhile: start afresh
                cache = {}
            self._verified = cache
        cache[token] = verified


def _is_time(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)
