"""Compact JWS: split, decode and verify one token against one key (RFC 7515).

This layer knows nothing of issuers, audiences or key sets: given the token and a way to
find a key for its protected header, it returns the verified header and payload bytes,
or raises ``InvalidToken``. It is small on purpose, so it can be checked on its own
against outside test vectors.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from .errors import InvalidToken

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
Header = dict[str, Any]

_HASHES = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}
# Curve and raw r||s signature length that each ECDSA algorithm is bound to (RFC 7518 3.4).
EC_CURVES = {"ES256": ("secp256r1", 64), "ES384": ("secp384r1", 96), "ES512": ("secp521r1", 132)}
# Algorithms this layer can verify, by the key type they need.
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
ALGORITHMS = RSA_ALGORITHMS | set(EC_CURVES) | {"EdDSA"}

# Header parameters whose meaning we implement. Anything listed in "crit" is refused,
# since RFC 7515 4.1.11 requires understanding every critical extension.
_B64_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64_ALPHABET = frozenset(_B64_CHARS)
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
# Value of each base64url character, and the bits of the last character that are unused
# when a segment's length leaves 2 or 3 characters in its last group (RFC 4648 3.5).
_B64_VALUE = {char: value for value, char in enumerate(_B64_CHARS)}
_UNUSED_BITS = {0: 0, 2: 0x0F, 3: 0x03}


def b64url_decode(segment: str) -> bytes:
    """Strict base64url without padding: refuses any other character or length."""
    data = segment.encode("ascii", "strict") if segment.isascii() else None
    if data is None or len(data) % 4 == 1 or not _B64_ALPHABET.issuperset(data):
        raise InvalidToken("The access token is not a well-formed JWT")
    # Only the canonical encoding is accepted: non-zero unused bits in the last character
    # would give one segment many spellings (Wycheproof's ModifiedUnusedBitsInPayload).
    if data and _B64_VALUE[data[-1]] & _UNUSED_BITS[len(data) % 4]:
        raise InvalidToken("The access token is not a well-formed JWT")
    try:
        decoded = binascii.a2b_base64(
            data.translate(_TO_STANDARD) + b"=" * (-len(data) % 4), strict_mode=True
        )
    except binascii.Error:
        raise InvalidToken("The access token is not a well-formed JWT") from None
    return decoded


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise InvalidToken("The access token has duplicate JSON members")
    return result


def parse_json_object(data: bytes) -> dict[str, Any]:
    """A JSON object with unique member names, or ``InvalidToken``."""
    try:
        value = json.loads(data, object_pairs_hook=_refuse_duplicates)
    except (ValueError, RecursionError):
        raise InvalidToken("The access token is not a well-formed JWT") from None
    if not isinstance(value, dict):
        raise InvalidToken("The access token is not a well-formed JWT")
    return value


def verify_signature(key: PublicKey, algorithm: str, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` over ``message`` verifies with ``key`` under ``algorithm``.

    The algorithm must already be known to fit the key; a mismatch returns False.
    """
    try:
        if algorithm[:2] == "RS" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), _HASHES[algorithm[2:]])
        elif algorithm[:2] == "PS" and isinstance(key, rsa.RSAPublicKey):
            digest = _HASHES[algorithm[2:]]
            pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
            key.verify(signature, message, pss, digest)
        elif algorithm in EC_CURVES and isinstance(key, ec.EllipticCurvePublicKey):
            curve, size = EC_CURVES[algorithm]
            if key.curve.name != curve or len(signature) != size:
                return False
            half = size // 2
            r = int.from_bytes(signature[:half], "big")
            s = int.from_bytes(signature[half:], "big")
            der = encode_dss_signature(r, s)
            key.verify(der, message, ec.ECDSA(_HASHES[algorithm[2:]]))
        elif algorithm == "EdDSA" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


class HasPublicKey(Protocol):
    @property
    def public_key(self) -> PublicKey: ...


KeyT = TypeVar("KeyT", bound=HasPublicKey)


def split_compact(token: str) -> tuple[str, str, str]:
    """The three segments of a compact JWS; JWE (five segments) and others are refused."""
    parts = token.split(".")
    # The payload segment may be empty: RFC 7515 allows an empty payload, and a valid
    # signature over one must verify here (an access token is still refused later, since
    # its claims must be a JSON object). The header and signature may not be empty.
    if len(parts) != 3 or not parts[0] or not parts[2]:
        raise InvalidToken("The access token is not a well-formed JWT")
    return parts[0], parts[1], parts[2]


def decode_header(segment: str, algorithms: frozenset[str] | set[str]) -> Header:
    """The protected header, checked before any key is looked up."""
    header = parse_json_object(b64url_decode(segment))
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms:
        # Covers "none", HMAC and anything outside the allow-list.
        raise InvalidToken("The access token's signing algorithm is not accepted")
    if "crit" in header:
        raise InvalidToken("The access token has critical header extensions")
    if "b64" in header:  # RFC 7797 unencoded payloads are not accepted
        raise InvalidToken("The access token has an unsupported header")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise InvalidToken("The access token's key id is malformed")
    return header


def verify_compact(
    token: str, resolve_key: Callable[[Header], KeyT], algorithms: frozenset[str] | set[str]
) -> tuple[Header, bytes, KeyT]:
    """Verify a compact JWS; return its header, payload bytes and the key that verified it.

    ``resolve_key`` maps the checked header to a key that fits its ``alg``; keys named in
    the header itself (``jwk``, ``jku``, ``x5u``, ``x5c``) are never used or fetched.
    """
    header_segment, payload_segment, signature_segment = split_compact(token)
    header = decode_header(header_segment, algorithms)
    signature = b64url_decode(signature_segment)
    key = resolve_key(header)
    signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
    if not verify_signature(key.public_key, header["alg"], signing_input, signature):
        raise InvalidToken("The access token's signature is not valid")
    return header, b64url_decode(payload_segment), key
