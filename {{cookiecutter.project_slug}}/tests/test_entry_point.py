"""``wsgi.py``: what the ``flask`` command and gunicorn get, with and without usable settings.

Serving stops at startup when a setting is unusable; the other ``flask`` commands still
run. Logs are readable text under the ``flask`` command and JSON lines under gunicorn.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import create_unconfigured_app
from {{ cookiecutter.package_name }}.settings import ConfigError

from served import PROJECT, free_port, serving
from support import wait_until
{% if cookiecutter.token_format == "jwt" %}
# Settings that let the API start: the generated answers are enough.
USABLE: dict[str, str] = {}
{%- else %}
# Settings that let the API start: the answers, and an introspection endpoint with credentials.
USABLE = {
    "OAUTH_INTROSPECTION_URI": "http://127.0.0.1:9/introspect",
    "OAUTH_CLIENT_ID": "api",
    "OAUTH_CLIENT_SECRET": "secret",
}
{%- endif %}
# Unusable settings: a malformed value, {% if cookiecutter.token_format == "opaque" %}no introspection endpoint, {% endif %}an empty audience.
UNUSABLE = {"OAUTH_LEEWAY_SECONDS": "soon", "OAUTH_AUDIENCE": ""}
PROBLEMS = ["OAUTH_LEEWAY_SECONDS", "OAUTH_AUDIENCE"]
ANSI = "\x1b["


def environment(settings: dict[str, str]) -> dict[str, str]:
    """This process's environment with only ``settings`` for the API."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("OAUTH_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT / "src"), env.get("PYTHONPATH")]))
    return {**env, **settings}


def flask(*args: str, settings: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess:
    """Run ``flask ARGS`` from the project's directory, as a user types it."""
    return subprocess.run(
        [sys.executable, "-m", "flask", *args],
        cwd=PROJECT,
        env=environment(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def test_help_and_routes_work_without_usable_settings():
    helped = flask("--help", settings=UNUSABLE)
    assert helped.returncode == 0, helped.stderr
    assert "auth" in helped.stdout and "Traceback" not in helped.stderr

    routes = flask("routes", settings=UNUSABLE)
    assert routes.returncode == 0, routes.stderr
    assert "/api/data" in routes.stdout and "/health" in routes.stdout


def test_auth_commands_list_every_problem_without_a_traceback():
    assert "token" in flask("auth", "--help", settings=UNUSABLE).stdout

    result = flask("auth", "token", settings=UNUSABLE)

    assert result.returncode == 1
    assert all(problem in result.stderr for problem in PROBLEMS), result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "serve",
    [
        ["-m", "flask", "run", "--port", "0"],
        ["-c", "import wsgi"],  # as gunicorn and any WSGI server load it
    ],
    ids=["flask-run", "wsgi-server"],
)
def test_serving_stops_at_startup_with_one_line_per_problem(serve: list[str]):
    result = subprocess.run(
        [sys.executable, *serve],
        cwd=PROJECT,
        env=environment(UNUSABLE),
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("Configuration error: ")
    for problem in PROBLEMS:
        assert sum(problem in line for line in lines) == 1, result.stderr
    assert "Running on" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("path", ["/health", "/api/data", "/.well-known/oauth-protected-resource"])
def test_an_app_without_settings_answers_no_request(path: str):
    app = create_unconfigured_app(ConfigError(["OAUTH_AUDIENCE is set but empty"]))

    response = app.test_client().get(path, headers={"Authorization": "Bearer anything"})

    assert response.status_code == 500
    assert response.get_json()["code"] == "server_error"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.fixture
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Base URL and log file of the API served by ``request.param`` (a command)."""
    port = free_port()
    command = [sys.executable, "-m", *(arg.format(port=port) for arg in request.param)]
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with serving(command, environment(USABLE), log, lambda: status_of(f"{base}/health") == 200):
        yield base, log


@pytest.mark.parametrize(
    "served", [["flask", "run", "--port", "{port}"]], indirect=True, ids=["flask-run"]
)
def test_flask_run_logs_readable_lines(served: tuple[str, Path]):
    base, log = served
    assert status_of(f"{base}/api/data") == 401

    text = log.read_text()
    assert f"Running on http://127.0.0.1:{base.rsplit(':', 1)[1]}" in text
    assert ANSI not in text, "terminal colours in a file"
    refusal = next(line for line in text.splitlines() if "access refused" in line)
    assert "request_id=" in refusal and "status=401" in refusal
    assert not any(line.startswith("{") for line in text.splitlines()), text


@pytest.mark.skipif(sys.platform == "win32", reason="gunicorn does not run on Windows")
@pytest.mark.parametrize(
    "served",
    [["gunicorn", "-w", "1", "-b", "127.0.0.1:{port}", "wsgi:app"]],
    indirect=True,
    ids=["gunicorn"],
)
def test_gunicorn_logs_json_lines(served: tuple[str, Path]):
    base, log = served
    assert status_of(f"{base}/api/data") == 401
    assert wait_until(lambda: "access refused" in log.read_text())

    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    refusal = next(record for record in records if record["message"] == "access refused")
    assert refusal["status"] == 401 and refusal["request_id"] and refusal["level"] == "INFO"
