"""Entry point for ``flask run`` and ``gunicorn wsgi:app``."""

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.settings import ConfigError

try:
    app = create_app()
except ConfigError as error:
    raise SystemExit(f"Configuration error: {error}") from None
