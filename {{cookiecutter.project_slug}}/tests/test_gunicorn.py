"""The API under gunicorn with two workers, over real HTTP, configured by the environment."""

from __future__ import annotations

import importlib
import os
import runpy
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from served import PROJECT, free_port, serving
from support import AuthorizationServer, TokenFactory


def _gunicorn_missing() -> bool:
    try:
        importlib.import_module("gunicorn.app.wsgiapp")
    except ImportError:  # not installed, or a platform gunicorn does not run on
        return True
    return False


needs_gunicorn = pytest.mark.skipif(_gunicorn_missing(), reason="gunicorn is not importable here")


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def gunicorn(
    auth_server: AuthorizationServer, tokens: TokenFactory, tmp_path: Path
) -> Iterator[str]:
    """Base URL of the API served by ``gunicorn -w 2`` from the project's directory."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("OAUTH_")}
    env.update(
        OAUTH_ISSUER=tokens.issuer,
        OAUTH_AUDIENCE=tokens.audience,
        **auth_server.environment(),
        PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT / "src"), env.get("PYTHONPATH")])),
    )
    # -w 2: both workers must accept tokens alike
    command = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"]
    base = f"http://127.0.0.1:{port}"
    with serving(command, env, tmp_path / "gunicorn.log", lambda: _healthy(base)):
        yield base


def _healthy(base: str) -> bool:
    try:
        return get(f"{base}/health")[0] == 200
    except OSError:
        return False


@needs_gunicorn
def test_valid_and_invalid_tokens_over_http(gunicorn: str, tokens: TokenFactory, tmp_path: Path):
    url = f"{gunicorn}/api/data"
    valid = tokens.mint(sub="alice", role="admin")
    # Several calls, so that both workers are likely to answer one.
    for _ in range(4):
        status, body = get(url, tokens.header(valid))
        assert status == 200, body
        assert '"subject":"alice"' in body.replace(" ", "")

    invalid = {
        "expired": tokens.mint(exp=1, iat=0),
        "wrong audience": tokens.mint(aud="someone-else"),
        "never issued": tokens.forge(),
        "garbage": "not-a-token",
    }
    for reason, token in invalid.items():
        status, body = get(url, tokens.header(token))
        assert status == 401, reason
        assert "invalid_token" in body, reason
        assert token not in body, reason

    assert get(url)[0] == 401
    log = (tmp_path / "gunicorn.log").read_text(errors="replace")
    assert '"GET /api/data HTTP/1.1" 200' in log, "the access log is written"
    assert valid not in log and "Bearer" not in log, "a token reached the log"


CONFIG_VARIABLES = (
    "GUNICORN_WORKERS",
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "GUNICORN_BIND",
    "PORT",
    "GUNICORN_TIMEOUT",
)


def read_config(monkeypatch: pytest.MonkeyPatch, **environ: str) -> dict[str, object]:
    for name in CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(PROJECT / "gunicorn.conf.py"))


def test_config_defaults(monkeypatch: pytest.MonkeyPatch):
    config = read_config(monkeypatch)
    assert config["bind"] == ["127.0.0.1:8000"]
    assert 2 <= config["workers"] <= 8
    assert config["accesslog"] == "-"
    assert "%(q)s" not in config["access_log_format"] and "%(r)s" not in config["access_log_format"]
    assert "{i}" not in config["access_log_format"], "no request header is logged"


def test_config_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    config = read_config(monkeypatch, WEB_CONCURRENCY="3", PORT="9000", GUNICORN_THREADS="2")
    assert (config["workers"], config["threads"], config["bind"]) == (3, 2, ["0.0.0.0:9000"])
    config = read_config(
        monkeypatch, GUNICORN_WORKERS="5", WEB_CONCURRENCY="3", GUNICORN_BIND="127.0.0.1:1, [::1]:2"
    )
    assert (config["workers"], config["bind"]) == (5, ["127.0.0.1:1", "[::1]:2"])


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GUNICORN_WORKERS", "0"),
        ("GUNICORN_WORKERS", "two"),
        ("PORT", "70000"),
        ("GUNICORN_TIMEOUT", "-1"),
    ],
)
def test_config_refuses_bad_values(monkeypatch: pytest.MonkeyPatch, name: str, value: str):
    with pytest.raises(SystemExit, match=f"{name}='{value}': expected a whole number"):
        read_config(monkeypatch, **{name: value})
