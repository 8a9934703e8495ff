"""Fixtures: a real authorization server per test, an app wired to it, a token factory."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.auth import OAuthSettings
from {{ cookiecutter.package_name }}.settings import load_settings
{%- if cookiecutter.token_format == "jwt" %}

{% if cookiecutter.proof_of_possession == "dpop" %}from redis_server import running_redis
{% endif %}from support import AuthorizationServer, SigningKey, TokenFactory


@pytest.fixture(scope="session")
def signing_key(configured_settings: OAuthSettings) -> SigningKey:
    """The key the test authorization server signs with, for the first configured alg."""
    return SigningKey.generate(configured_settings.algorithms[0], kid="main-key")


@pytest.fixture(scope="session")
def configured_settings() -> OAuthSettings:
    """The settings as generated: the answers, without the environment of the machine."""
    return load_settings({})


@pytest.fixture
def auth_server(signing_key: SigningKey) -> Iterator[AuthorizationServer]:
    server = AuthorizationServer([signing_key])
    yield server
    server.stop()

{%- else %}

from redis_server import running_redis
from support import CLIENT_ID, CLIENT_SECRET, AuthorizationServer, TokenFactory


@pytest.fixture(scope="session")
def configured_settings() -> OAuthSettings:
    """The settings as generated, with placeholder introspection credentials."""
    return load_settings(
        {
            "OAUTH_INTROSPECTION_URI": "http://127.0.0.1:9/introspect",
            "OAUTH_CLIENT_ID": CLIENT_ID,
            "OAUTH_CLIENT_SECRET": CLIENT_SECRET,
        }
    )


@pytest.fixture
def auth_server() -> Iterator[AuthorizationServer]:
    server = AuthorizationServer()
    yield server
    server.stop()

{%- endif %}


@pytest.fixture
def settings(configured_settings: OAuthSettings, auth_server: AuthorizationServer) -> OAuthSettings:
    """The generated settings, pointed at the test server; tests replace fields as needed."""
    return dataclasses.replace(
        configured_settings,
        **auth_server.settings_changes(),
        http_timeout_seconds=5,  # generous: a loaded machine must not fail a test
    )


@pytest.fixture
def make_app() -> Callable[..., Flask]:
    """Build an app from settings with fields replaced: ``make_app(settings, leeway_seconds=0)``."""

    def build(settings: OAuthSettings, **changes: object) -> Flask:
        app = create_app(dataclasses.replace(settings, **changes))
        app.config["TESTING"] = True
        return app

    return build


@pytest.fixture
def app(make_app: Callable[..., Flask], settings: OAuthSettings) -> Flask:
    return make_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def tokens(auth_server: AuthorizationServer, settings: OAuthSettings) -> TokenFactory:
    return TokenFactory(auth_server, settings.issuer, settings.audience, settings.required_scope)
{%- if cookiecutter.token_format == "opaque" or cookiecutter.proof_of_possession == "dpop" %}


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``redis-server`` for this run, shared by the tests that need one."""
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url
{%- endif %}
