"""Request ids, and log records as lines of JSON or text; auth decisions get their timing here.

The ``X-Request-ID`` of the request is kept when it is a plain identifier, else a new one
is made; it is echoed on the response and added to every log record of the request, with
the time since the request arrived on the auth package's decision records.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from random import getrandbits
from typing import Any

from flask import Flask, has_request_context, request

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
# Keys this module adds to the WSGI environ of each request.
REQUEST_ID_KEY = "{{ cookiecutter.package_name }}.request_id"
STARTED_KEY = "{{ cookiecutter.package_name }}.started"


def init_request_log(app: Flask) -> None:
    """Give every request an id, as WSGI middleware: cheaper than Flask hooks per request."""
    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)  # type: ignore[method-assign]


class RequestIdMiddleware:
    """Keeps a plain ``X-Request-ID`` (or makes one), and returns it on the response."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        incoming = environ.get("HTTP_X_REQUEST_ID")
        if incoming and _REQUEST_ID.fullmatch(incoming):
            request_id = incoming
        else:  # unique is enough, not secret: random spares os.urandom's system call
            request_id = getrandbits(128).to_bytes(16, "big").hex()
        environ[REQUEST_ID_KEY] = request_id
        environ[STARTED_KEY] = time.perf_counter()

        def start_with_id(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, *exc_info)

        return self.wsgi_app(environ, start_with_id)


# Terminal colours, as the development server puts them in its messages.
_ANSI_CODES = re.compile(r"\x1b\[[0-9;]*m")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": _ANSI_CODES.sub("", record.getMessage()),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        entry.update(getattr(record, "auth", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """One readable line: time, level, logger, message, then request id and extras."""

    def __init__(self, colours: bool = False) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        self.colours = colours

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's naming)
        extras = {"request_id": getattr(record, "request_id", None)}
        extras.update(getattr(record, "auth", None) or {})
        line = super().formatMessage(record)
        return line + "".join(f" {k}={v}" for k, v in extras.items() if v is not None)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if self.colours else _ANSI_CODES.sub("", text)


class RequestIdFilter(logging.Filter):
    """Adds the current request's id to every record logged while handling it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            environ = request.environ
            record.request_id = environ.get(REQUEST_ID_KEY)
            decision = getattr(record, "auth", None)
            started = environ.get(STARTED_KEY)
            if isinstance(decision, dict) and started is not None:
                decision["latency_ms"] = round((time.perf_counter() - started) * 1000, 3)
        return True


def configure_logging(level: str = "INFO", *, readable: bool = False) -> None:
    """Log lines on stderr for the whole process; called by ``wsgi.py``, not by tests.

    JSON lines for log collectors (gunicorn), or ``readable`` text for a terminal (the
    ``flask`` command), coloured only when stderr is one.
    """
    if not isinstance(logging.getLevelName(level.upper()), int):
        raise ValueError(f"LOG_LEVEL={level!r}: expected DEBUG, INFO, WARNING or ERROR")
    handler = logging.StreamHandler()
    if readable:
        handler.setFormatter(TextFormatter(colours=handler.stream.isatty()))
    else:
        handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
