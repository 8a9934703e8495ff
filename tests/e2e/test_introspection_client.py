"""End-to-end: an opaque-token API introspects at a real oidc-provider.

The provider (``provider.mjs``) issues opaque tokens by client credentials when no
resource is asked for, and checks the API's client authentication at its introspection
endpoint with the method the client is registered with. The API is baked with
``token_format=opaque``, served by gunicorn, and authenticates with each method the
provider offers it: ``client_secret_basic``, ``client_secret_post`` and
``private_key_jwt`` (the assertion's ``aud`` the introspection endpoint, then the token
endpoint). oidc-provider has no access-token authentication for introspection, so
``bearer`` is covered by the generated suite's test server only.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from test_real_provider import (  # noqa: F401 (_prerequisites: the module's skip rule)
    CLIENT_ID,
    CLIENT_SECRET,
    REQUIRED_SCOPE,
    BakedApi,
    OpenIDProvider,
    _free_port,
    _initial_keys,
    _prerequisites,
    _request,
)

pytestmark = pytest.mark.e2e


def write_pem(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    """``key`` as an unencrypted PKCS#8 PEM file, as OAUTH_CLIENT_KEY_FILE names one."""
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.fixture(scope="module")
def client_key(tmp_path_factory) -> tuple[Path, Path]:
    """The API's private key (PEM) and its public JWK, registered at the provider."""
    workdir = tmp_path_factory.mktemp("client-key")
    key = ec.generate_private_key(ec.SECP256R1())
    pem = write_pem(key, workdir / "api-key.pem")
    public = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    public.update(kid="api-key-1", alg="ES256", use="sig")
    jwk = workdir / "api-key.jwk.json"
    jwk.write_text(json.dumps(public))
    return pem, jwk


@pytest.fixture(scope="module")
def provider(tmp_path_factory, client_key):
    workdir = tmp_path_factory.mktemp("provider-opaque")
    instance = OpenIDProvider(_free_port(), workdir)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("E2E_CLIENT_PUBLIC_JWK", str(client_key[1]))
        try:
            instance.start(_initial_keys())
            yield instance
        finally:
            instance.stop()


def bake_opaque(output_dir: Path, issuer: str, protection_mode: str = "global") -> Path:
    """A project with ``token_format=opaque``, its other answers the defaults."""
    from cookiecutter.main import cookiecutter

    baked = cookiecutter(
        str(Path(__file__).resolve().parents[2]),
        no_input=True,
        output_dir=str(output_dir),
        default_config=True,
        extra_context={
            "issuer": issuer,
            "token_format": "opaque",
            "protection_mode": protection_mode,
            "required_scope": REQUIRED_SCOPE,
            "run_tests": False,
        },
    )
    return Path(baked)


@pytest.fixture(scope="module")
def project(provider, tmp_path_factory) -> Path:
    return bake_opaque(tmp_path_factory.mktemp("api-opaque") / "out", provider.issuer)


def opaque_token(provider: OpenIDProvider, scope: str) -> str:
    """A client credentials token without a resource: oidc-provider makes it opaque."""
    basic = base64.b64encode(f"{CLIENT_ID}:{provider.secret}".encode()).decode()
    response = _request(
        "POST",
        f"{provider.issuer}/token",
        data=urllib.parse.urlencode({"grant_type": "client_credentials", "scope": scope}).encode(),
        headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status == 200, response.describe()
    token = response.body["access_token"]
    assert token.count(".") == 0, "expected an opaque token"
    return token


def settings_for(method: str, provider: OpenIDProvider, key: Path) -> dict[str, str]:
    settings = {
        "OAUTH_ISSUER": provider.issuer,
        "OAUTH_INTROSPECTION_URI": f"{provider.issuer}/token/introspection",
        "OAUTH_INTROSPECTION_AUTH": method,
        "OAUTH_CLIENT_ID": CLIENT_ID,
        "OAUTH_CLIENT_SECRET": CLIENT_SECRET,
    }
    if method == "client_secret_post":
        settings["OAUTH_CLIENT_ID"] = f"{CLIENT_ID}-post"
    if method.startswith("private_key_jwt"):
        del settings["OAUTH_CLIENT_SECRET"]
        settings.update(
            OAUTH_INTROSPECTION_AUTH="private_key_jwt",
            OAUTH_CLIENT_ID=f"{CLIENT_ID}-pkjwt",
            OAUTH_CLIENT_KEY_FILE=str(key),
            OAUTH_CLIENT_KEY_ID="api-key-1",
        )
    if method == "private_key_jwt+token_endpoint":
        settings["OAUTH_TOKEN_ENDPOINT"] = f"{provider.issuer}/token"
    return settings


@pytest.mark.parametrize(
    "method",
    [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "private_key_jwt+token_endpoint",
    ],
)
def test_the_api_introspects_with_each_method(method, provider, project, client_key, tmp_path):
    api = BakedApi(project, tmp_path)
    api.start(**settings_for(method, provider, client_key[0]))
    try:
        granted = api.get("/api/data", opaque_token(provider, REQUIRED_SCOPE))
        api.expect(granted, 200)
        assert granted.body["scope"] == REQUIRED_SCOPE
        api.expect(api.get("/api/data", opaque_token(provider, "write")), 403)
        api.expect(api.get("/api/data", "not-a-token-the-provider-issued"), 401)
    finally:
        api.stop()


def test_a_key_the_provider_does_not_know_is_refused(provider, project, tmp_path):
    pem = write_pem(ec.generate_private_key(ec.SECP256R1()), tmp_path / "other.pem")
    api = BakedApi(project, tmp_path)
    api.start(**settings_for("private_key_jwt", provider, pem))
    try:
        api.expect(api.get("/api/data", opaque_token(provider, REQUIRED_SCOPE)), 500)
    finally:
        api.stop()
