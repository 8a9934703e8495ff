"""The options of ``flask auth token``: scopes, extra claims, lifetime, subject and client."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

MAX_LIFETIME_SECONDS = 7 * 86_400

_DURATION = re.compile(r"(\d+)([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}

Command = TypeVar("Command", bound=Callable[..., Any])


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


def granted_scope(scopes: tuple[str, ...], default: str) -> str:
    """The ``--scope`` values as one space-separated scope, or ``default`` without any."""
    return " ".join(" ".join(scopes).split()) or default


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> int:
    try:
        return parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _claims(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict:
    try:
        return dict(parse_claim(value) for value in values)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


_OPTIONS = (
    click.option(
        "--scope",
        "scopes",
        multiple=True,
        help="Scope to grant; repeat or space-separate for several. "
        "[default: OAUTH_REQUIRED_SCOPE]",
    ),
    click.option(
        "--claim",
        "claims",
        multiple=True,
        callback=_claims,
        metavar="NAME=VALUE",
        help="Extra claim; VALUE is read as JSON when it is JSON (true, 3, '[\"a\"]'). Repeatable.",
    ),
    click.option(
        "--expires",
        default="10m",
        show_default=True,
        callback=_duration,
        help="Lifetime: 90s, 10m, 2h, 1d.",
    ),
    click.option("--subject", default="developer", show_default=True, help="The sub claim."),
    click.option(
        "--client-id", default="dev-client", show_default=True, help="The client_id claim."
    ),
)


def token_options(command: Command) -> Command:
    """Give ``command`` the options: scopes, claims, expires, subject, client_id."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command
