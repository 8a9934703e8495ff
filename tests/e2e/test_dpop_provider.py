"""End-to-end DPoP (RFC 9449): a generated dpop API checks tokens bound by a real provider.

``oidc-provider`` (``provider.mjs``, its DPoP feature on) issues a DPoP-bound access token
by client credentials to a client that proves its key at the token endpoint. The baked
project (global mode, JWT, ``proof_of_possession=dpop``) runs under gunicorn and must
accept that token with a fresh proof, and refuse: the same token as Bearer, a proof from
another key, a replayed proof, a wrong method or URL, a stale ``iat``, a missing ``ath``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import urllib.parse
import uuid
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from test_real_provider import (
    ALGORITHMS,
    AUDIENCE,
    CLIENT_ID,
    CLIENT_SECRET,
    REQUIRED_SCOPE,
    BakedApi,
    OpenIDProvider,
    Response,
    _free_port,
    _initial_keys,
    _request,
    _tail,
)

pytestmark = pytest.mark.e2e

DPOP_CLIENT = f"{CLIENT_ID}-dpop"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Holder:
    """A client's DPoP key, making proofs as RFC 9449 section 4.2 describes."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)

    @property
    def thumbprint(self) -> str:
        members = {name: self.jwk[name] for name in ("crv", "kty", "x", "y")}
        canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
        return _b64url(hashlib.sha256(canonical.encode()).digest())

    def proof(self, method: str, url: str, token: str | None = None, **changes) -> str:
        claims = {"jti": uuid.uuid4().hex, "htm": method, "htu": url, "iat": int(time.time())}
        if token is not None:
            claims["ath"] = _b64url(hashlib.sha256(token.encode()).digest())
        claims.update(changes)
        claims = {name: value for name, value in claims.items() if value is not None}
        headers = {"typ": "dpop+jwt", "jwk": self.jwk}
        return jwt.encode(claims, self.key, algorithm="ES256", headers=headers)


def _dpop_token(provider: OpenIDProvider, holder: Holder) -> str:
    """A token bound to ``holder``'s key, by client credentials with a proof (RFC 9449 5)."""
    token_url = f"{provider.issuer}/token"
    form = urllib.parse.urlencode(
        {"grant_type": "client_credentials", "scope": "read", "resource": AUDIENCE}
    ).encode()
    basic = base64.b64encode(f"{DPOP_CLIENT}:{CLIENT_SECRET}".encode()).decode()
    resp = _request(
        "POST",
        token_url,
        data=form,
        headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
            "DPoP": holder.proof("POST", token_url),
        },
    )
    assert resp.status == 200, f"token request failed: {resp.describe()}\n{_tail(provider.log)}"
    assert resp.body["token_type"] == "DPoP"
    return resp.body["access_token"]


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    instance = OpenIDProvider(_free_port(), tmp_path_factory.mktemp("dpop-provider"))
    try:
        instance.start(_initial_keys())
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="module")
def api(provider, tmp_path_factory):
    from cookiecutter.main import cookiecutter

    workdir = tmp_path_factory.mktemp("dpop-api")
    project = cookiecutter(
        str(Path(__file__).resolve().parent.parent.parent),
        no_input=True,
        output_dir=str(workdir / "out"),
        default_config=True,
        extra_context={
            "project_name": "Orders API",
            "issuer": provider.issuer,
            "audience": AUDIENCE,
            "algorithms": ",".join(ALGORITHMS),
            "required_scope": REQUIRED_SCOPE,
            "proof_of_possession": "dpop",
            "run_tests": False,
        },
    )
    instance = BakedApi(Path(project), workdir)
    instance.extra_env["OAUTH_PUBLIC_URL"] = instance.base_url
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="module")
def holder() -> Holder:
    return Holder()


@pytest.fixture(scope="module")
def token(provider, holder) -> str:
    return _dpop_token(provider, holder)


def _call(api: BakedApi, token: str, proof: str | None, scheme: str = "DPoP") -> Response:
    headers = {"Accept": "application/json", "Authorization": f"{scheme} {token}"}
    if proof is not None:
        headers["DPoP"] = proof
    return _request("GET", f"{api.base_url}/api/data", headers=headers)


def _refused(api: BakedApi, resp: Response, code: str) -> None:
    api.expect(resp, 401)
    assert resp.body["code"] == code, resp.describe()


def test_the_provider_binds_the_token_to_the_key(token, holder):
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": holder.thumbprint}
    assert claims["aud"] == AUDIENCE


def test_a_fresh_proof_is_accepted(api, token, holder):
    resp = _call(api, token, holder.proof("GET", f"{api.base_url}/api/data", token))
    api.expect(resp, 200)
    assert resp.body["subject"] == DPOP_CLIENT
    assert resp.body["role"] == "holder"


def test_the_token_as_bearer_is_refused(api, token):
    _refused(api, _call(api, token, None, scheme="Bearer"), "invalid_token")


def test_a_proof_from_another_key_is_refused(api, token):
    thief = Holder()
    proof = thief.proof("GET", f"{api.base_url}/api/data", token)
    _refused(api, _call(api, token, proof), "invalid_token")


def test_a_replayed_proof_is_refused(api, token, holder):
    proof = holder.proof("GET", f"{api.base_url}/api/data", token)
    api.expect(_call(api, token, proof), 200)
    _refused(api, _call(api, token, proof), "invalid_dpop_proof")


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/data"), ("GET", "/api/other"), ("GET", "/health")],
    ids=["htm", "htu", "htu-other-route"],
)
def test_a_proof_for_another_request_is_refused(api, token, holder, method, path):
    resp = _call(api, token, holder.proof(method, f"{api.base_url}{path}", token))
    _refused(api, resp, "invalid_dpop_proof")


def test_a_proof_for_another_host_is_refused(api, token, holder):
    proof = holder.proof("GET", f"http://evil.example:{api.port}/api/data", token)
    _refused(api, _call(api, token, proof), "invalid_dpop_proof")


def test_a_stale_proof_is_refused(api, token, holder):
    proof = holder.proof("GET", f"{api.base_url}/api/data", token, iat=int(time.time()) - 600)
    _refused(api, _call(api, token, proof), "invalid_dpop_proof")


def test_a_proof_without_ath_is_refused(api, token, holder):
    proof = holder.proof("GET", f"{api.base_url}/api/data", None)
    resp = _call(api, token, proof)
    _refused(api, resp, "invalid_dpop_proof")
    assert 'error="invalid_dpop_proof"' in resp.headers.get("www-authenticate", "")
