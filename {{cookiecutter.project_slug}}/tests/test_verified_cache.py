"""The verified-token cache: fast repeats that still honour time claims and key removal."""

from __future__ import annotations

import dataclasses
import time

import pytest

from {{ cookiecutter.package_name }}.auth import tokens as tokens_module
from {{ cookiecutter.package_name }}.auth.errors import InvalidToken
from {{ cookiecutter.package_name }}.auth.extension import OAuth
from {{ cookiecutter.package_name }}.auth.tokens import TokenValidator
from {{ cookiecutter.package_name }}.settings import Settings

from support import AuthorizationServer, TokenFactory


class Clock:
    def __init__(self) -> None:
        # a second ahead, so that tokens minted with iat=now are never "from the future"
        self.now = time.time() + 1

    def __call__(self) -> float:
        return self.now


def validator_with_clock(settings: Settings, **changes) -> tuple[TokenValidator, Clock]:
    settings = dataclasses.replace(settings, **changes)
    clock = Clock()
    return TokenValidator(settings, OAuth(settings).keys, clock=clock), clock


def test_a_repeated_token_is_verified_once(
    settings: Settings, tokens: TokenFactory, auth_server: AuthorizationServer, monkeypatch
) -> None:
    validator, _ = validator_with_clock(settings)
    token = tokens.mint()
    first = validator.validate(token)
    calls = []
    monkeypatch.setattr(tokens_module, "verify_compact", lambda *a: calls.append(a))
    assert validator.validate(token) is first
    assert calls == []


def test_expiry_is_checked_on_every_hit(settings: Settings, tokens: TokenFactory) -> None:
    validator, clock = validator_with_clock(settings, leeway_seconds=0)
    token = tokens.mint(exp=int(clock.now) + 60)
    validator.validate(token)
    clock.now += 61
    with pytest.raises(InvalidToken, match="expired"):
        validator.validate(token)


def test_not_before_is_checked_on_every_hit(settings: Settings, tokens: TokenFactory) -> None:
    validator, clock = validator_with_clock(settings, leeway_seconds=0)
    token = tokens.mint(nbf=int(clock.now) - 1)
    validator.validate(token)
    clock.now -= 30  # the clock steps back: the token is not valid yet again
    with pytest.raises(InvalidToken):
        validator.validate(token)


def test_refusals_are_not_cached(settings: Settings, tokens: TokenFactory) -> None:
    validator, clock = validator_with_clock(settings, leeway_seconds=0)
    token = tokens.mint(nbf=int(clock.now) + 30)
    with pytest.raises(InvalidToken):
        validator.validate(token)
    clock.now += 31
    assert validator.validate(token).claims["sub"] == "user-1"


def test_the_cache_is_bounded(settings: Settings, tokens: TokenFactory) -> None:
    validator, _ = validator_with_clock(settings, verified_token_cache_size=3)
    minted = [tokens.mint(jti=str(n)) for n in range(10)]
    for token in minted:
        validator.validate(token)
    assert len(validator._verified) <= 3
    assert all(validator.validate(token) for token in minted)


def test_the_cache_can_be_turned_off(settings: Settings, tokens: TokenFactory) -> None:
    validator, _ = validator_with_clock(settings, verified_token_cache_size=0)
    validator.validate(tokens.mint())
    assert validator._verified == {}


def test_claims_given_to_views_are_read_only(settings: Settings, tokens: TokenFactory) -> None:
    validator, _ = validator_with_clock(settings)
    claims = validator.validate(tokens.mint()).claims
    with pytest.raises(TypeError):
        claims["scope"] = "admin"  # type: ignore[index]
