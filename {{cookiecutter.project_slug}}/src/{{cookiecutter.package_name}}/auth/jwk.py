"""JSON Web Keys (RFC 7517) turned into verification keys, or skipped with a reason.

A key set comes from the network and is treated as hostile: keys meant for encryption,
of the wrong type or curve, too small, or malformed are skipped one by one, so a single
bad entry never takes the whole set down.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from jwt.exceptions import InvalidKeyError

from .jws import EC_CURVES, RSA_ALGORITHMS, PublicKey

log = logging.getLogger(__name__)

MIN_RSA_BITS = 2048
_EC_ALGORITHM_BY_CURVE = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}


class UnusableKey(ValueError):
    """This JWK cannot verify any accepted algorithm; the message says why."""


@dataclass(frozen=True, eq=False, slots=True)
class VerificationKey:
    """A public key, its id, and the algorithms it may verify.

    Compared by identity: the verified-token cache asks "is this very key still in the
    current key set?", and a refetched set builds new objects.
    """

    kid: str | None
    public_key: PublicKey
    algorithms: frozenset[str]


def parse_jwk(jwk: Any, accepted: frozenset[str]) -> VerificationKey:
    """One JWK as a verification key for the ``accepted`` algorithms it fits."""
    if not isinstance(jwk, dict):
        raise UnusableKey("not a JSON object")
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise UnusableKey("kid is not a string")
    if jwk.get("use", "sig") != "sig":
        raise UnusableKey("use is not 'sig'")
    key_ops = jwk.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise UnusableKey("key_ops does not allow 'verify'")
    public_key, fits = _public_key(jwk)
    declared = jwk.get("alg")
    if declared is not None:
        fits = fits & {declared}
    algorithms = fits & accepted
    if not algorithms:
        raise UnusableKey("fits no accepted algorithm")
    return VerificationKey(kid, public_key, frozenset(algorithms))


def _public_key(jwk: dict[str, Any]) -> tuple[PublicKey, frozenset[str]]:
    kty = jwk.get("kty")
    try:
        if kty == "RSA":
            key = RSAAlgorithm.from_jwk(jwk)
            key = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
            if key.key_size < MIN_RSA_BITS:
                raise UnusableKey(f"RSA key of {key.key_size} bits is too small")
            return key, RSA_ALGORITHMS
        if kty == "EC":
            algorithm = _EC_ALGORITHM_BY_CURVE.get(jwk.get("crv"))  # type: ignore[arg-type]
            if algorithm is None:
                raise UnusableKey("unsupported EC curve")
            key = ECAlgorithm.from_jwk(jwk)
            key = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
            if key.curve.name != EC_CURVES[algorithm][0]:
                raise UnusableKey("EC key does not match its curve")
            return key, frozenset({algorithm})
        if kty == "OKP":
            if jwk.get("crv") != "Ed25519":
                raise UnusableKey("unsupported OKP curve")
            key = OKPAlgorithm.from_jwk(jwk)
            if isinstance(key, ed25519.Ed25519PrivateKey):
                key = key.public_key()
            if not isinstance(key, ed25519.Ed25519PublicKey):
                raise UnusableKey("not an Ed25519 key")
            return key, frozenset({"EdDSA"})
    except (InvalidKeyError, ValueError, TypeError, KeyError, AttributeError) as error:
        if isinstance(error, UnusableKey):
            raise
        raise UnusableKey(f"malformed {kty} key") from None
    raise UnusableKey("unsupported key type")


def parse_jwks(document: Any, accepted: frozenset[str]) -> tuple[VerificationKey, ...]:
    """The usable signing keys of a JWKS document; each skipped key is logged."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise UnusableKey("the key set is not a JSON object with a 'keys' list")
    return tuple(_usable_keys(document["keys"], accepted))


def _usable_keys(entries: Iterable[Any], accepted: frozenset[str]) -> Iterable[VerificationKey]:
    for index, entry in enumerate(entries):
        try:
            yield parse_jwk(entry, accepted)
        except UnusableKey as reason:
            kid = entry.get("kid") if isinstance(entry, dict) else None
            log.info("skipping JWKS key #%d (kid=%.64r): %s", index, kid, reason)
