"""End-to-end: one generated API trusting two real authorization servers at once.

Two ``oidc-provider`` instances (``provider.mjs``) run side by side, each with its own
keys under the same ``kid`` names. The baked project (JWT, both modes) names the first
as ``OAUTH_ISSUER`` and the second in ``OAUTH_ISSUERS_FILE``; it must accept each
provider's tokens, and never let one provider's key verify a token that claims the other
issuer, however alike their ``kid`` values are.
"""

from __future__ import annotations

import json

import jwt
import pytest
from test_real_provider import (
    REQUIRED_SCOPE,
    BakedApi,
    OpenIDProvider,
    _bake,
    _free_port,
    _initial_keys,
    _kid,
    _private_jwk,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def providers(tmp_path_factory):
    first = OpenIDProvider(_free_port(), tmp_path_factory.mktemp("first-provider"))
    second = OpenIDProvider(_free_port(), tmp_path_factory.mktemp("second-provider"))
    first.keys, second.keys = _initial_keys(), _initial_keys()  # the same kid names
    try:
        first.start(first.keys)
        second.start(second.keys)
        yield first, second
    finally:
        first.stop()
        second.stop()


@pytest.fixture(scope="module", params=["global", "decorator"])
def api(request, providers, tmp_path_factory):
    first, second = providers
    workdir = tmp_path_factory.mktemp(f"two-issuers-{request.param}")
    issuers_file = workdir / "issuers.toml"
    issuers_file.write_text(f'[[issuer]]\nissuer = "{second.issuer}"\n', encoding="utf-8")
    project = _bake(workdir / "out", first.issuer, request.param)
    instance = BakedApi(project, workdir, env={"OAUTH_ISSUERS_FILE": str(issuers_file)})
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()


def _forged(token: str, claims: dict, signing_jwk: dict) -> str:
    """``token``'s header and claims (changed by ``claims``), signed with another key."""
    header = jwt.get_unverified_header(token)
    payload = {**jwt.decode(token, options={"verify_signature": False}), **claims}
    key = jwt.algorithms.get_default_algorithms()[header["alg"]].from_jwk(json.dumps(signing_jwk))
    return jwt.encode(payload, key, algorithm=header["alg"], headers=header)


def test_tokens_of_both_providers_are_accepted(api, providers) -> None:
    for provider in providers:
        token = provider.token("orders-e2e", REQUIRED_SCOPE)
        response = api.get("/api/data", token)
        api.expect(response, 200)


def test_the_providers_share_kid_names(providers) -> None:
    first, second = providers
    first_kid = _kid(first.token("orders-e2e", REQUIRED_SCOPE))
    assert first_kid == _kid(second.token("orders-e2e", REQUIRED_SCOPE))


def test_a_key_of_one_provider_never_verifies_a_token_claiming_the_other(api, providers) -> None:
    first, second = providers
    for signer, claimed in ((second, first), (first, second)):
        token = signer.token("orders-e2e", REQUIRED_SCOPE)
        kid = _kid(token)
        signing_jwk = next(key for key in signer.keys if key["kid"] == kid)
        assert any(key["kid"] == kid for key in claimed.keys)  # the kid exists there too
        # Signed by the signer's real key, but claiming the other issuer: the other
        # issuer's key of that kid is another key, so the signature cannot verify.
        crossed = _forged(token, {"iss": claimed.issuer}, signing_jwk)
        api.expect(api.get("/api/data", crossed), 401)
        # Unchanged, the signer's own token is accepted: the refusal is the crossing.
        api.expect(api.get("/api/data", _forged(token, {}, signing_jwk)), 200)


def test_an_unknown_issuer_is_refused(api, providers) -> None:
    first, _ = providers
    token = first.token("orders-e2e", REQUIRED_SCOPE)
    alg = jwt.get_unverified_header(token)["alg"]
    unknown = _forged(token, {"iss": "http://127.0.0.1:9/unknown"}, _private_jwk(alg, "x"))
    api.expect(api.get("/api/data", unknown), 401)
