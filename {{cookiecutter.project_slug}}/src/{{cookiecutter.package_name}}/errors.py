"""Every error the API answers is JSON with ``Cache-Control: no-store``, never an HTML page."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


def register_json_errors(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def _http_error(error: HTTPException) -> Response:
    response = jsonify(
        code=(error.name or "error").lower().replace(" ", "_"),
        message=error.description or "",
    )
    response.status_code = error.code or 500
    response.headers["Cache-Control"] = "no-store"
    if error.code == 405 and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _unexpected_error(error: Exception) -> Response:
    log.exception("unhandled error")
    response = _http_error(InternalServerError())
    response.set_data(b'{"code":"server_error","message":"An unexpected error occurred"}\n')
    return response
