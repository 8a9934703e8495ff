"""A stand-in authorization server for local development: a key, its JWKS, and tokens.

``flask auth dev-issuer`` publishes the public half of a key kept in the app's instance
folder (discovery metadata and a JWKS on a loopback address); ``flask auth token`` signs
access tokens with the same key. It never runs for a non-loopback issuer, so a token it
mints cannot pass for one from the real authorization server.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from ..settings import is_loopback_host

DEFAULT_PORT = 8765
MAX_LIFETIME_SECONDS = 7 * 86_400

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

_CURVES: dict[str, ec.EllipticCurve] = {
    "ES256": ec.SECP256R1(),
    "ES384": ec.SECP384R1(),
    "ES512": ec.SECP521R1(),
}
# One key file per key type, so changing OAUTH_ALGORITHMS never reuses a key that cannot sign.
_KEY_FILES = {
    "RS": "dev-issuer-rsa.pem",
    "PS": "dev-issuer-rsa.pem",
    "ES256": "dev-issuer-p256.pem",
    "ES384": "dev-issuer-p384.pem",
    "ES512": "dev-issuer-p521.pem",
    "EdDSA": "dev-issuer-ed25519.pem",
}
# RFC 7638: the members a thumbprint is computed over, per key type.
_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}


class DevIssuerError(Exception):
    """The dev issuer cannot be used as configured; the message says what to do."""


def issuer_problem(issuer: str) -> str | None:
    """Why the dev issuer may not stand in for ``issuer``, or None."""
    parts = urlsplit(issuer)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "http" or not parts.hostname or not is_loopback_host(parts.hostname):
        return (
            f"the API expects tokens from {issuer}, which is not a loopback address; "
            "the dev issuer only stands in for a local one"
        )
    if port is None:
        return f"the issuer {issuer} has no port; the dev issuer needs one to listen on"
    return None


def require_loopback_issuer(issuer: str) -> None:
    problem = issuer_problem(issuer)
    if problem:
        raise DevIssuerError(
            f"{problem}.\nPoint the API at a local issuer first, in every shell you use:\n\n"
            f"    export OAUTH_ISSUER=http://127.0.0.1:{DEFAULT_PORT}\n"
        )


@dataclass(frozen=True)
class DevKey:
    """The dev issuer's private key, the algorithm it signs with and its key id."""

    algorithm: str
    private_key: PrivateKey
    path: Path

    @cached_property
    def kid(self) -> str:
        """The RFC 7638 thumbprint: stable across restarts, changes with the key."""
        jwk = self._jwk()
        members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
        canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
        return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()

    def public_jwk(self) -> dict[str, Any]:
        return {**self._jwk(), "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def _jwk(self) -> dict[str, Any]:
        public = self.private_key.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            return RSAAlgorithm.to_jwk(public, as_dict=True)
        if isinstance(public, ec.EllipticCurvePublicKey):
            return ECAlgorithm.to_jwk(public, as_dict=True)
        return OKPAlgorithm.to_jwk(public, as_dict=True)

    def sign(self, claims: Mapping[str, Any]) -> str:
        headers = {"kid": self.kid, "typ": "at+jwt"}
        return jwt.encode(dict(claims), self.private_key, algorithm=self.algorithm, headers=headers)


def load_or_create_key(instance_path: str | os.PathLike[str], algorithm: str) -> DevKey:
    """The key for ``algorithm`` in the instance folder, made on first use (mode 0600)."""
    folder = Path(instance_path)
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        # The folder was made here for the key alone: keep it out of version control.
        (folder / ".gitignore").write_text("*\n", encoding="utf-8")
    path = folder / _KEY_FILES[algorithm if algorithm in _KEY_FILES else algorithm[:2]]
    if not path.exists():
        _write_new_key(path, _generate(algorithm))
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not _fits(loaded, algorithm):
        raise DevIssuerError(f"{path} holds no key for {algorithm}; delete it to make a new one")
    return DevKey(algorithm, loaded, path)


def _generate(algorithm: str) -> PrivateKey:
    if algorithm[:2] in ("RS", "PS"):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm in _CURVES:
        return ec.generate_private_key(_CURVES[algorithm])
    return ed25519.Ed25519PrivateKey.generate()


def _fits(key: object, algorithm: str) -> bool:
    if algorithm[:2] in ("RS", "PS"):
        return isinstance(key, rsa.RSAPrivateKey)
    if algorithm in _CURVES:
        return (
            isinstance(key, ec.EllipticCurvePrivateKey)
            and key.curve.name == _CURVES[algorithm].name
        )
    return isinstance(key, ed25519.Ed25519PrivateKey)


def _write_new_key(path: Path, key: PrivateKey) -> None:
    """Write the key so that only its owner can read it, and never half a file."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    partial = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        # os.link is atomic and fails when the key exists: a key written meanwhile wins.
        with contextlib.suppress(FileExistsError):
            os.link(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def mint(
    key: DevKey,
    *,
    issuer: str,
    audience: str,
    subject: str,
    scope: str,
    lifetime: float,
    client_id: str,
    claims: Mapping[str, Any] | None = None,
) -> str:
    """An RFC 9068 access token; ``claims`` are added last and may replace any other."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "client_id": client_id,
        "scope": scope,
        "iat": now,
        "exp": now + int(lifetime),
        "jti": uuid.uuid4().hex,
    }
    payload.update(claims or {})
    return key.sign(payload)


_DURATION = re.compile(r"(\d+)([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


def parse_duration(text: str) -> int:
    """Seconds in ``90``, ``90s``, ``10m``, ``2h`` or ``1d``; ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 90s, 10m, 2h or 1d")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not 0 < seconds <= MAX_LIFETIME_SECONDS:
        raise ValueError(f"{text!r}: expected more than 0s and at most 7d")
    return seconds


def parse_claim(text: str) -> tuple[str, Any]:
    """``name=value``; the value is read as JSON when it is JSON (``true``, ``3``, ``["a"]``)."""
    name, equals, raw = text.partition("=")
    if not equals or not name.strip():
        raise ValueError(f"{text!r} is not NAME=VALUE")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return name.strip(), value


class DevIssuerServer(ThreadingHTTPServer):
    """Serves the issuer's metadata and JWKS on the issuer's own loopback address and port."""

    daemon_threads = True

    def __init__(self, issuer: str, key: DevKey) -> None:
        require_loopback_issuer(issuer)
        parts = urlsplit(issuer)
        host = parts.hostname or "127.0.0.1"
        if host.lower() == "localhost":
            host = "127.0.0.1"
        if ":" in host:
            self.address_family = socket.AF_INET6
        path = parts.path.rstrip("/")
        self.issuer = issuer
        self.jwks_uri = f"{parts.scheme}://{parts.netloc}{path}/jwks"
        metadata = json.dumps(
            {
                "issuer": issuer,
                "jwks_uri": self.jwks_uri,
                "id_token_signing_alg_values_supported": [key.algorithm],
                "response_types_supported": ["token"],
                "subject_types_supported": ["public"],
            }
        ).encode()
        self.documents = {
            f"{path}/.well-known/openid-configuration": metadata,
            f"/.well-known/oauth-authorization-server{path}": metadata,
            f"{path}/jwks": json.dumps({"keys": [key.public_jwk()]}).encode(),
        }
        try:
            super().__init__((host, parts.port or DEFAULT_PORT), _Handler)
        except OSError as error:
            raise DevIssuerError(
                f"cannot listen on {host}:{parts.port}: {error.strerror or error}; "
                "choose another port in OAUTH_ISSUER"
            ) from None

    def exports(self) -> str:
        """The shell line that points an API at this issuer."""
        return f"export OAUTH_ISSUER={self.issuer} OAUTH_JWKS_URI={self.jwks_uri}"


class _Handler(BaseHTTPRequestHandler):
    server: DevIssuerServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.server.documents.get(self.path.split("?", 1)[0])
        status = 200 if body is not None else 404
        if body is None:
            body = b'{"error": "not_found"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(body)
