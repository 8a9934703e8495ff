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
# Padding objects are immutable; built once instead of on every verification.
_PKCS1 = padding.PKCS1v15()
_PSS = {
    size: padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
    for size, digest in _HASHES.items()
}
# Curve and raw r||s signature length that each ECDSA algorithm is bound to (RFC 7518 3.4).
EC_CURVES = {"ES256": ("secp256r1", 64), "ES384": ("secp384r1", 96), "ES512": ("secp521r1", 132)}
# Algorithms this layer can verify, by the key type they need.
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
ALGORITHMS = RSA_ALGORITHMS | set(EC_CURVES) | {"EdDSA"}

# Header parameters whose meaning we implement. Anything listed in "crit" is refused,
# since RFC 7515 4.1.11 requires understanding every critical extension.
_B64_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
# Value of each base64url character, and the bits of the last character that are unused
# when a segment's length leaves 2 or 3 characters in its last group (RFC 4648 3.5).
_B64_VALUE = {char: value for value, char in enumerate(_B64_CHARS)}
_UNUSED_BITS = {0: 0, 2: 0x0F, 3: 0x03}


def b64url_decode(segment: str) -> bytes:
    """Strict base64url without padding: refuses any other character or length."""
    data = segment.encode("ascii", "strict") if segment.isascii() else None
    # Deleting every alphabet character leaves nothing only when all of them belong to it;
    # one pass in C, where a set test per byte costs several microseconds per token.
    if data is None or len(data) % 4 == 1 or data.translate(None, _B64_CHARS):
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


# Built once: ``json.loads(data, object_pairs_hook=...)`` builds a new decoder on every call.
_JSON = json.JSONDecoder(object_pairs_hook=_refuse_duplicates)


def parse_json_object(data: bytes) -> dict[str, Any]:
    """A JSON object with unique member names, or ``InvalidToken``."""
    try:
        # Exactly what json.loads does with bytes (UTF-8, -16 or -32), minus the new decoder.
        # An object in UTF-8 starts with "{" and a non-zero byte, for which detect_encoding
        # answers "utf-8": the usual token skips that call.
        utf8 = data[:1] == b"{" and data[1:2] != b"\x00"
        encoding = "utf-8" if utf8 else json.detect_encoding(data)
        value = _JSON.decode(data.decode(encoding, "surrogatepass"))
    except (ValueError, RecursionError):
        raise InvalidToken("The access token is not a well-formed JWT") from None
    if not isinstance(value, dict):
        raise InvalidToken("The access token is not a well-formed JWT")
    return value


# Key type of each public key class seen, so that the hot path does one dict lookup instead
# of isinstance checks against cryptography's abstract classes (each a slow ABC check).
_KEY_TYPES: dict[type, str] = {}


def _key_type(key: object) -> str:
    key_type = _KEY_TYPES.get(type(key))
    if key_type is None:
        if isinstance(key, rsa.RSAPublicKey):
            key_type = "RSA"
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key_type = "EC"
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key_type = "OKP"
        else:
            key_type = ""
        _KEY_TYPES[type(key)] = key_type
    return key_type


def verify_signature(key: PublicKey, algorithm: str, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` over ``message`` verifies with ``key`` under ``algorithm``.

    The algorithm must already be known to fit the key; a mismatch returns False.
    """
    key_type = _key_type(key)
    try:
        if algorithm[:2] == "RS" and key_type == "RSA":
            key.verify(signature, message, _PKCS1, _HASHES[algorithm[2:]])
        elif algorithm[:2] == "PS" and key_type == "RSA":
            size = algorithm[2:]
            key.verify(signature, message, _PSS[size], _HASHES[size])
        elif algorithm in EC_CURVES and key_type == "EC":
            curve, size = EC_CURVES[algorithm]
            if key.curve.name != curve or len(signature) != size:
                return False
            half = size // 2
            r = int.from_bytes(signature[:half], "big")
            s = int.from_bytes(signature[half:], "big")
            der = encode_dss_signature(r, s)
            key.verify(der, message, ec.ECDSA(_HASHES[algorithm[2:]]))
        elif algorithm == "EdDSA" and key_type == "OKP":
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


# Parsed protected headers by their segment. Tokens of one issuer and key share the same
# header segment, so a fresh token usually skips decoding and parsing it; the checks below
# still run on every token. Bounded: cleared when full, and long segments are not kept.
_HEADERS: dict[str, Header] = {}
_HEADERS_MAX = 256
_HEADER_SEGMENT_MAX = 1024


def _parse_header(segment: str) -> Header:
    header = _HEADERS.get(segment)
    if header is None:
        header = parse_json_object(b64url_decode(segment))
        if len(segment) <= _HEADER_SEGMENT_MAX:
            if len(_HEADERS) >= _HEADERS_MAX:
                _HEADERS.clear()
            _HEADERS[segment] = header
    return header.copy()  # callers get their own dict; the cached one is never changed


def decode_header(segment: str, algorithms: frozenset[str] | set[str]) -> Header:
    """The protected header, checked before any key is looked up."""
    header = _parse_header(segment)
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
