"""End-to-end: an opaque-token API trusting two real authorization servers at once.

Two ``oidc-provider`` instances (``provider.mjs``) issue opaque tokens; the second marks
its tokens with a prefix and knows the API's client by another secret. The baked project
(opaque, both modes) names the first as ``OAUTH_ISSUER`` and the second in
``OAUTH_ISSUERS_FILE``, with the secret in a variable the file names. Each token must be
accepted through the one server that issued it, and a token never reaches the other.
"""

from __future__ import annotations

import pytest
from test_introspection_client import bake_opaque, opaque_token
from test_real_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    REQUIRED_SCOPE,
    BakedApi,
    OpenIDProvider,
    _free_port,
    _initial_keys,
)

pytestmark = pytest.mark.e2e

SECOND_PREFIX = "second_at_"
SECOND_SECRET = "second-provider-secret-for-tests-only"


@pytest.fixture(scope="module")
def providers(tmp_path_factory):
    first = OpenIDProvider(_free_port(), tmp_path_factory.mktemp("first-opaque-provider"))
    second = OpenIDProvider(
        _free_port(),
        tmp_path_factory.mktemp("second-opaque-provider"),
        secret=SECOND_SECRET,
        token_prefix=SECOND_PREFIX,
    )
    try:
        first.start(_initial_keys())
        second.start(_initial_keys())
        yield first, second
    finally:
        first.stop()
        second.stop()


@pytest.fixture(scope="module", params=["global", "decorator"])
def api(request, providers, tmp_path_factory):
    first, second = providers
    workdir = tmp_path_factory.mktemp(f"two-opaque-issuers-{request.param}")
    project = bake_opaque(workdir / "out", first.issuer, request.param)
    issuers_file = workdir / "issuers.toml"
    issuers_file.write_text(
        "[[issuer]]\n"
        f'issuer = "{second.issuer}"\n'
        f'introspection_uri = "{second.issuer}/token/introspection"\n'
        f'token_prefix = "{SECOND_PREFIX}"\n'
        'client_secret_env = "SECOND_INTROSPECTION_SECRET"\n',
        encoding="utf-8",
    )
    instance = BakedApi(project, workdir)
    try:
        instance.start(
            OAUTH_ISSUER=first.issuer,
            OAUTH_INTROSPECTION_URI=f"{first.issuer}/token/introspection",
            OAUTH_CLIENT_ID=CLIENT_ID,
            OAUTH_CLIENT_SECRET=CLIENT_SECRET,
            OAUTH_ISSUERS_FILE=str(issuers_file),
            SECOND_INTROSPECTION_SECRET=SECOND_SECRET,
        )
        yield instance
    finally:
        instance.stop()


def test_tokens_of_both_providers_are_accepted(api, providers) -> None:
    first, second = providers
    first_token, second_token = opaque_token(first, REQUIRED_SCOPE), opaque_token(second, "read")
    assert not first_token.startswith(SECOND_PREFIX) and second_token.startswith(SECOND_PREFIX)
    for token in (first_token, second_token):
        granted = api.get("/api/data", token)
        api.expect(granted, 200)
        assert granted.body["scope"] == REQUIRED_SCOPE
    api.expect(api.get("/api/data", opaque_token(second, "write")), 403)


def test_a_token_is_asked_only_of_the_server_its_prefix_names(api, providers) -> None:
    first, second = providers
    # Without its mark, the second provider's token goes to the first, which never issued it.
    unmarked = opaque_token(second, REQUIRED_SCOPE).removeprefix(SECOND_PREFIX)
    api.expect(api.get("/api/data", unmarked), 401)
    # With the second's mark, the first provider's token goes to the second: refused too.
    api.expect(api.get("/api/data", SECOND_PREFIX + opaque_token(first, REQUIRED_SCOPE)), 401)
