"""``flask auth ...``: operator commands for the token protection, and a local issuer."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup

from . import dev_issuer
from .extension import current_oauth

auth_cli = AppGroup("auth", help="Inspect the API's token protection; issue tokens locally.")


@auth_cli.command("keys")
def show_keys() -> None:
    """Load the signing keys now and show the key set cache's state."""
    oauth = current_oauth()
    oauth.keys.prefetch()
    state = {"jwks_uri": oauth.source.jwks_uri, **oauth.keys.status()}
    click.echo(json.dumps(state, indent=2))
    if not state["ready"]:
        raise SystemExit(1)


def _dev_key() -> dev_issuer.DevKey:
    """The instance folder's key, for a loopback issuer only."""
    settings = current_oauth().settings
    try:
        dev_issuer.require_loopback_issuer(settings.issuer)
        return dev_issuer.load_or_create_key(current_app.instance_path, settings.algorithms[0])
    except dev_issuer.DevIssuerError as error:
        raise click.ClickException(str(error)) from None


@auth_cli.command("dev-issuer")
def run_dev_issuer() -> None:
    """Stand in for the issuer locally: serve its JWKS.

    Serves discovery metadata and a JWKS at OAUTH_ISSUER, which must be a loopback
    http:// URL with a port. The signing key is kept in the app's instance folder;
    `flask auth token` signs with it.
    """
    key = _dev_key()
    try:
        server = dev_issuer.DevIssuerServer(current_oauth().settings.issuer, key)
    except dev_issuer.DevIssuerError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Dev issuer {server.issuer}: {key.algorithm} key {key.kid} ({key.path})")
    click.echo("Point the API at it, in the shell where it runs:\n")
    click.echo(f"    {server.exports()}\n")
    click.echo("Then mint tokens with `flask auth token`. Stop with Ctrl-C.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> int:
    try:
        return dev_issuer.parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _claims(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict:
    try:
        return dict(dev_issuer.parse_claim(value) for value in values)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@auth_cli.command("token")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help="Scope to grant; repeat or space-separate for several. [default: OAUTH_REQUIRED_SCOPE]",
)
@click.option(
    "--claim",
    "claims",
    multiple=True,
    callback=_claims,
    metavar="NAME=VALUE",
    help="Extra claim; VALUE is read as JSON when it is JSON (true, 3, '[\"a\"]'). Repeatable.",
)
@click.option(
    "--expires",
    default="10m",
    show_default=True,
    callback=_duration,
    help="Lifetime: 90s, 10m, 2h, 1d.",
)
@click.option("--subject", default="developer", show_default=True, help="The sub claim.")
@click.option("--client-id", default="dev-client", show_default=True, help="The client_id claim.")
def issue_token(
    scopes: tuple[str, ...], claims: dict, expires: int, subject: str, client_id: str
) -> None:
    """Print a token signed by the dev issuer's key.

    The token is issued by OAUTH_ISSUER for OAUTH_AUDIENCE, signed with the first of
    OAUTH_ALGORITHMS.
    """
    settings = current_oauth().settings
    key = _dev_key()
    scope = " ".join(" ".join(scopes).split()) or settings.required_scope
    click.echo(
        dev_issuer.mint(
            key,
            issuer=settings.issuer,
            audience=settings.audience,
            subject=subject,
            scope=scope,
            lifetime=expires,
            client_id=client_id,
            claims=claims,
        )
    )
