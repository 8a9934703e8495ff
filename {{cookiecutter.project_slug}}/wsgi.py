"""Entry point for ``gunicorn wsgi:app`` and the ``flask`` command.

Serving (gunicorn, ``flask run``) needs usable settings: without them it stops here, before
any request, with one line per problem. The other ``flask`` commands (``--help``,
``routes``, ``auth ...``) still run, with an app that answers no request. Logs are JSON
lines under gunicorn and readable lines under the ``flask`` command.
"""

import os

import click
from flask.cli import FlaskGroup

from {{ cookiecutter.package_name }} import create_app, create_unconfigured_app
from {{ cookiecutter.package_name }}.request_log import configure_logging
from {{ cookiecutter.package_name }}.settings import ConfigError


def flask_command() -> str | None:
    """The ``flask`` command being run (``run``, ``routes``...), or None outside of it."""
    context = click.get_current_context(silent=True)
    if context is None or not isinstance(context.find_root().command, FlaskGroup):
        return None  # gunicorn, or any other server
    return context.command.name


command = flask_command()
try:
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"), readable=command is not None)
    app = create_app()
except ConfigError as error:
    if command in (None, "run"):
        raise SystemExit(f"Configuration error: {error}") from None
    app = create_unconfigured_app(error)
except ValueError as error:
    raise SystemExit(f"Configuration error: {error}") from None
