"""Entry point for ``flask run`` and ``gunicorn wsgi:app``; logs are JSON lines on stderr."""

import os

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.request_log import configure_logging
from {{ cookiecutter.package_name }}.settings import ConfigError

try:
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    app = create_app()
except (ConfigError, ValueError) as error:
    raise SystemExit(f"Configuration error: {error}") from None
