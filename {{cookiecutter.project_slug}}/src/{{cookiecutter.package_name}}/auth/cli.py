"""``flask auth ...``: operator commands for the token protection."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from .extension import current_oauth

auth_cli = AppGroup("auth", help="Inspect the API's token protection.")


@auth_cli.command("keys")
def show_keys() -> None:
    """Load the signing keys now and show the key set cache's state."""
    oauth = current_oauth()
    oauth.keys.prefetch()
    state = {"jwks_uri": oauth.source.jwks_uri, **oauth.keys.status()}
    click.echo(json.dumps(state, indent=2))
    if not state["ready"]:
        raise SystemExit(1)
