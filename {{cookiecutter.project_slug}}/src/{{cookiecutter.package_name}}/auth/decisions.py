"""One log record per auth decision, on its own logger; never the token itself.

Refusals are logged at INFO, accepted tokens at DEBUG (off unless asked for, since a line
per request costs time on the hot path). The app's log setup may add request ids and
timings to these records; this package only states the decision.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Request

DECISIONS_LOG = logging.getLogger(__name__)


def log_decision(request: Request, status: int, outcome: str, **details: Any) -> None:
    """Log that ``request`` was allowed or refused, with the route, method and details."""
    level = logging.DEBUG if outcome == "allowed" else logging.INFO
    if not DECISIONS_LOG.isEnabledFor(level):
        return
    decision = {
        "outcome": outcome,
        "status": status,
        "route": request.url_rule.rule if request.url_rule else request.path[:200],
        "method": request.method,
        **details,
    }
    message = "access allowed" if outcome == "allowed" else "access refused"
    DECISIONS_LOG.log(level, message, extra={"auth": decision})
