"""Request ids and one structured log line per auth decision; never the token itself.

The ``X-Request-ID`` of the request is kept when it is a plain identifier, else a new one
is made; it is echoed on the response and added to every log record of the request.
Refusals are logged at INFO, accepted tokens at DEBUG (one line per request is costly on
the hot path, so it is off unless asked for).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time

from flask import Flask, Response, g, has_request_context, request

log = logging.getLogger("{{ cookiecutter.package_name }}.auth.decisions")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def init_request_log(app: Flask) -> None:
    """Register first, so that every other hook and handler sees ``g.request_id``."""
    app.before_request(_start)
    app.after_request(_finish)


def _start() -> None:
    # Runs on every request: read the WSGI environ directly and touch ``g`` once.
    incoming = request.environ.get("HTTP_X_REQUEST_ID", "")
    context = g._get_current_object()
    context.request_id = incoming if _REQUEST_ID.fullmatch(incoming) else os.urandom(16).hex()
    context.request_started = time.perf_counter()


def _finish(response: Response) -> Response:
    context = g._get_current_object()
    response.headers["X-Request-ID"] = getattr(context, "request_id", "")
    refusal = getattr(context, "auth_refusal", None)
    token = getattr(context, "access_token", None)
    if refusal is not None and log.isEnabledFor(logging.INFO):
        log.info("access refused", extra={"auth": _decision(response, refusal.code)})
    elif token is not None and log.isEnabledFor(logging.DEBUG):
        decision = _decision(response, "allowed")
        decision.update(
            sub=token.claims.get("sub"),
            client_id=token.claims.get("client_id"),
            iss=token.claims.get("iss"),
        )
        log.debug("access allowed", extra={"auth": decision})
    return response


def _decision(response: Response, outcome: str) -> dict[str, object]:
    started = g.get("request_started", time.perf_counter())
    return {
        "outcome": outcome,
        "status": response.status_code,
        "route": request.url_rule.rule if request.url_rule else request.path[:200],
        "method": request.method,
        "latency_ms": round((time.perf_counter() - started) * 1000, 3),
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        entry.update(getattr(record, "auth", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class RequestIdFilter(logging.Filter):
    """Adds the current request's id to every record logged while handling it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id")
        return True


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for the whole process; called by ``wsgi.py``, not by tests."""
    if not isinstance(logging.getLevelName(level.upper()), int):
        raise ValueError(f"LOG_LEVEL={level!r}: expected DEBUG, INFO, WARNING or ERROR")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
