"""gunicorn settings for the API, from the environment.

gunicorn reads this file by itself when started from this directory (``gunicorn wsgi:app``);
elsewhere pass ``-c gunicorn.conf.py``. Command-line flags win over these values.

    GUNICORN_WORKERS or WEB_CONCURRENCY   worker processes (default: CPUs available, 2 to 8)
    GUNICORN_THREADS                      threads per worker (default 4)
    GUNICORN_BIND                         addresses, comma-separated (e.g. 0.0.0.0:8000)
    PORT                                  without GUNICORN_BIND: listen on 0.0.0.0:PORT
                                          (default 127.0.0.1:8000)
    GUNICORN_TIMEOUT                      seconds a worker may stay silent (default 30)

Any other setting can be given in GUNICORN_CMD_ARGS, e.g. "--keep-alive 75".

Each worker keeps its own signing key cache, so each fetches the key set once.
``preload_app`` stays off: with it the app would be built in the master before the fork,
and the key cache's locks, and the fetch thread OAUTH_PREFETCH_KEYS starts, do not survive
a fork in a usable state. The settings are still checked once in the master (on_starting)
so that a bad value stops gunicorn with one message instead of workers failing in a loop.
"""

from __future__ import annotations

import os


def _whole_number(names: tuple[str, ...], default: int, minimum: int, maximum: int) -> int:
    for name in names:
        value = os.environ.get(name, "").strip()
        if not value:
            continue
        if not value.isdigit() or not minimum <= int(value) <= maximum:
            raise SystemExit(
                f"{name}={value!r}: expected a whole number from {minimum} to {maximum}"
            )
        return int(value)
    return default


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _bind() -> list[str]:
    addresses = os.environ.get("GUNICORN_BIND", "").strip()
    if addresses:
        return [address.strip() for address in addresses.split(",") if address.strip()]
    port = _whole_number(("PORT",), 0, 1, 65_535)
    return [f"0.0.0.0:{port}"] if port else ["127.0.0.1:8000"]


workers = _whole_number(
    ("GUNICORN_WORKERS", "WEB_CONCURRENCY"), min(max(_available_cpus(), 2), 8), 1, 256
)
# Threads let one worker serve other requests while a request waits for the key set.
worker_class = "gthread"
threads = _whole_number(("GUNICORN_THREADS",), 4, 1, 256)
bind = _bind()

# A request may wait up to three times OAUTH_HTTP_TIMEOUT_SECONDS for the authorization
# server; the worker timeout must stay above that.
timeout = _whole_number(("GUNICORN_TIMEOUT",), 30, 1, 3600)
graceful_timeout = 20
keepalive = 5  # behind a load balancer, set it above the balancer's idle timeout

# Access log on stdout. The format is gunicorn's default except that the request line is
# written without its query string: headers are never logged (nor the Authorization header
# with them), and a token a client puts in the URL is not logged either.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(f)s" "%(a)s"'

# The API has no use for the control socket gunicorn 25.1+ opens under $HOME (versions
# without it skip settings they do not know).
control_socket_disable = True


def on_starting(server: object) -> None:
    """Check the API's settings once, before any worker starts."""
    from {{ cookiecutter.package_name }}.settings import ConfigError, load_settings

    try:
        load_settings()
    except ConfigError as error:
        raise SystemExit(f"Configuration error: {error}") from None
