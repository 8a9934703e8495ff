"""``flask auth dev-issuer`` and ``flask auth token``: local tokens the API really accepts."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
from flask import Flask

from {{ cookiecutter.package_name }}.auth import dev_issuer
from {{ cookiecutter.package_name }}.settings import SUPPORTED_ALGORITHMS, Settings

from support import wait_until

PROJECT = Path(__file__).resolve().parent.parent

# Runs the real command in its own process, with the instance folder of the test.
SERVE = """
import sys

from flask.cli import FlaskGroup

from {{ cookiecutter.package_name }} import create_app


def make_app():
    app = create_app()
    app.instance_path = sys.argv[1]
    return app


FlaskGroup(create_app=make_app).main(["auth", "dev-issuer"], prog_name="flask")
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:
            return response.status == 200
    except OSError:
        return False


@dataclass
class RunningIssuer:
    issuer: str
    instance_path: Path
    process: subprocess.Popen[bytes]

    def output(self) -> str:
        return (self.process.stdout.read() or b"").decode()  # type: ignore[union-attr]


@pytest.fixture
def running_issuer(tmp_path: Path) -> Iterator[RunningIssuer]:
    issuer = f"http://127.0.0.1:{free_port()}"
    instance_path = tmp_path / "instance"
    env = {name: value for name, value in os.environ.items() if not name.startswith("OAUTH_")}
    env["OAUTH_ISSUER"] = issuer
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT / "src"), env.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(instance_path)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        metadata = f"{issuer}/.well-known/openid-configuration"
        started = wait_until(lambda: process.poll() is not None or answers(metadata), timeout=20)
        os.set_blocking(process.stdout.fileno(), False)  # type: ignore[union-attr]
        running = RunningIssuer(issuer, instance_path, process)
        assert started and process.poll() is None, running.output()
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def test_the_api_accepts_a_minted_token_through_discovery(
    running_issuer: RunningIssuer, make_app: Callable[..., Flask], configured_settings: Settings
):
    exports = (
        f"export OAUTH_ISSUER={running_issuer.issuer} OAUTH_JWKS_URI={running_issuer.issuer}/jwks"
    )
    assert exports in running_issuer.output()
    # Only the issuer points at the dev issuer: the key set is found through its metadata.
    app = make_app(
        configured_settings,
        issuer=running_issuer.issuer,
        jwks_uri="",
        http_timeout_seconds=2,
        strict_rfc9068=True,
    )
    app.instance_path = str(running_issuer.instance_path)
    scope = configured_settings.required_scope
    args = ["auth", "token", "--scope", f"{scope} extra", "--claim", "role=admin"]
    args += ["--claim", 'groups=["a", "b"]', "--expires", "10m", "--subject", "alice"]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    token = result.output.strip()

    response = app.test_client().get("/api/data", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["subject"], body["role"], body["scope"]) == ("alice", "admin", f"{scope} extra")
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == configured_settings.algorithms[0]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 600
    assert claims["groups"] == ["a", "b"]
    assert claims["client_id"] and claims["jti"]
    assert claims["aud"] == configured_settings.audience


@pytest.mark.parametrize("command", ["dev-issuer", "token"])
@pytest.mark.parametrize(
    "issuer",
    ["https://login.example.com/oauth", "https://127.0.0.1:8443", "http://127.0.0.1/"],
    ids=["remote", "https-loopback", "no-port"],
)
def test_refuses_an_issuer_it_cannot_stand_in_for(
    make_app: Callable[..., Flask], settings: Settings, tmp_path: Path, command: str, issuer: str
):
    app = make_app(settings, issuer=issuer)
    app.instance_path = str(tmp_path / "instance")

    result = app.test_cli_runner().invoke(args=["auth", command])

    assert result.exit_code == 1
    assert f"OAUTH_ISSUER=http://127.0.0.1:{dev_issuer.DEFAULT_PORT}" in result.output
    assert not (tmp_path / "instance").exists(), "no key is made for a refused issuer"


@pytest.mark.parametrize("algorithm", SUPPORTED_ALGORITHMS)
def test_the_key_is_kept_private_and_reused(tmp_path: Path, algorithm: str):
    instance_path = tmp_path / "instance"
    key = dev_issuer.load_or_create_key(instance_path, algorithm)
    again = dev_issuer.load_or_create_key(instance_path, algorithm)

    assert again.kid == key.kid
    assert (instance_path / ".gitignore").read_text() == "*\n"
    if os.name == "posix":
        assert stat.S_IMODE(key.path.stat().st_mode) == 0o600
    token = key.sign({"sub": "alice"})
    public = jwt.PyJWK(json.loads(json.dumps(key.public_jwk())))
    assert jwt.decode(token, public.key, algorithms=[algorithm]) == {"sub": "alice"}
    assert jwt.get_unverified_header(token)["kid"] == key.kid


def test_a_key_of_another_type_is_not_used(tmp_path: Path):
    rsa_key = dev_issuer.load_or_create_key(tmp_path, "RS256")
    (tmp_path / "dev-issuer-p256.pem").write_bytes(rsa_key.path.read_bytes())

    with pytest.raises(dev_issuer.DevIssuerError, match="delete it"):
        dev_issuer.load_or_create_key(tmp_path, "ES256")


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("10m", 600), ("2h", 7200), ("1d", 86400)]
)
def test_durations(text: str, seconds: int):
    assert dev_issuer.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "-5m", "10 minutes", "8d", "1.5h"])
def test_bad_durations(text: str):
    with pytest.raises(ValueError):
        dev_issuer.parse_duration(text)


def test_claims_are_json_when_they_can_be():
    assert dev_issuer.parse_claim("role=admin") == ("role", "admin")
    assert dev_issuer.parse_claim("admin=true") == ("admin", True)
    assert dev_issuer.parse_claim("level=3") == ("level", 3)
    assert dev_issuer.parse_claim("note=a=b") == ("note", "a=b")
    with pytest.raises(ValueError):
        dev_issuer.parse_claim("role")
