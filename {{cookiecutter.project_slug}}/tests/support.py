"""Test helpers: signing keys, a real JWKS server on 127.0.0.1 and a token factory.

Use them to test your own routes::

    def test_orders_need_write(client, tokens):
        token = tokens.mint(scope="write")
        response = client.post("/api/orders", headers=tokens.header(token))
        assert response.status_code == 201
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class SigningKey:
    """A private key of the test authorization server, with its kid and algorithm."""

    kid: str
    algorithm: str
    private_key: PrivateKey

    @classmethod
    def generate(cls, algorithm: str, kid: str | None = None) -> SigningKey:
        if algorithm[:2] in ("RS", "PS"):
            key: PrivateKey = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif algorithm in _CURVES:
            key = ec.generate_private_key(_CURVES[algorithm])
        elif algorithm == "EdDSA":
            key = ed25519.Ed25519PrivateKey.generate()
        else:
            raise ValueError(algorithm)
        return cls(kid or f"{algorithm.lower()}-{uuid.uuid4().hex[:8]}", algorithm, key)

    def public_jwk(self, **extra: Any) -> dict[str, Any]:
        public = self.private_key.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm, **extra}


_CURVES = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}


@dataclass
class Response:
    """What the fake authorization server answers; tests change it between requests."""

    status: int = 200
    body: bytes | None = None  # None: the JSON document of the route
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class AuthorizationServer:
    """A real HTTP server on 127.0.0.1 publishing a JWKS and, optionally, metadata.

    ``keys`` is the published key set; ``jwks`` changes what ``/jwks`` answers; every
    request is recorded in ``requests`` (path and headers), so tests can count fetches.
    """

    def __init__(self, keys: list[SigningKey]) -> None:
        self.keys = list(keys)
        self.jwks = Response()
        self.metadata: dict[str, Response] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def jwks_uri(self) -> str:
        return f"{self.url}/jwks"

    def jwks_document(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk() for key in self.keys]}

    def fetches(self, path: str = "/jwks") -> int:
        with self._lock:
            return sum(1 for seen, _ in self.requests if seen == path)

    def publish_metadata(self, issuer: str, well_known: str = "openid-configuration") -> None:
        document = {"issuer": issuer, "jwks_uri": self.jwks_uri}
        self.metadata[f"/.well-known/{well_known}"] = Response(body=json.dumps(document).encode())

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, path: str) -> Response:
        if path == "/jwks":
            return self.jwks
        return self.metadata.get(path, Response(status=404, body=b"{}"))


def _handler_for(server: AuthorizationServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            with server._lock:
                server.requests.append((self.path, dict(self.headers)))
            answer = server._answer(self.path)
            if answer.delay:
                time.sleep(answer.delay)
            body = answer.body
            if body is None:
                body = json.dumps(server.jwks_document()).encode()
            etag = answer.headers.get("ETag")
            if etag and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class TokenFactory:
    """Mints really signed access tokens; every claim and header can be overridden."""

    def __init__(self, key: SigningKey, issuer: str, audience: str, scope: str) -> None:
        self.key = key
        self.issuer = issuer
        self.audience = audience
        self.scope = scope

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": "user-1",
            "client_id": "test-client",
            "scope": self.scope,
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def mint(
        self,
        key: SigningKey | None = None,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A token signed by ``key`` (default: the factory's); ``claim=None`` drops it."""
        key = key or self.key
        header = {"kid": key.kid, "typ": "at+jwt", **(headers or {})}
        # typ=None is passed on: PyJWT then leaves typ out instead of writing "JWT"
        header = {
            name: value for name, value in header.items() if value is not None or name == "typ"
        }
        return jwt.encode(
            self.claims(**claims), key.private_key, algorithm=key.algorithm, headers=header
        )

    @staticmethod
    def header(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()
