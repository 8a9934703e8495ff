"""The stand-in servers listen on a loopback address only, named by a URL of the settings."""

from __future__ import annotations

import json
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from ..auth.config import is_loopback_host

DEFAULT_PORT = 8765


class DevToolError(Exception):
    """A dev tool cannot be used as configured; the message says what to do."""


def loopback_problem(url: str) -> str | None:
    """Why a stand-in server may not listen at ``url``, or None."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "http" or not parts.hostname or not is_loopback_host(parts.hostname):
        return f"{url or 'an empty URL'} is not a loopback http:// address"
    if port is None:
        return f"{url} has no port to listen on"
    return None


class LoopbackServer(ThreadingHTTPServer):
    """A threaded HTTP server on the loopback host and port of ``url``."""

    daemon_threads = True

    def __init__(self, url: str, handler: type[BaseHTTPRequestHandler]) -> None:
        problem = loopback_problem(url)
        if problem:
            raise DevToolError(problem)
        parts = urlsplit(url)
        host = parts.hostname or "127.0.0.1"
        if host.lower() == "localhost":
            host = "127.0.0.1"
        if ":" in host:
            self.address_family = socket.AF_INET6
        try:
            super().__init__((host, parts.port or DEFAULT_PORT), handler)
        except OSError as error:
            raise DevToolError(
                f"cannot listen on {host}:{parts.port}: {error.strerror or error}; "
                "choose another port"
            ) from None


def send_json(
    handler: BaseHTTPRequestHandler,
    status: int,
    document: object,
    headers: dict[str, str] | None = None,
) -> None:
    """Answer with a JSON document that no cache keeps."""
    body = json.dumps(document).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Cache-Control", "no-store")
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)
