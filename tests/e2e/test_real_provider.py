"""End-to-end: a generated API checks access tokens issued by a real OpenID provider.

The provider is the certified ``oidc-provider`` package, run by ``provider.mjs`` beside
this file on 127.0.0.1. The test bakes the template with that provider's issuer (the JWKS
endpoint is found by discovery), serves the baked project under gunicorn, gets tokens
with the client_credentials grant and a resource indicator, and calls the API with them.

Needs Node.js and ``npm ci`` run in tests/e2e. Without them the tests are skipped, unless
the ``CI`` environment variable is set: CI must run them, so there they fail instead.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

pytestmark = pytest.mark.e2e

E2E_DIR = Path(__file__).resolve().parent
TEMPLATE_DIR = E2E_DIR.parent.parent
PROVIDER_SCRIPT = E2E_DIR / "provider.mjs"

HOST = "127.0.0.1"
AUDIENCE = "https://orders.example.test"
OTHER_AUDIENCE = "https://billing.example.test"
REQUIRED_SCOPE = "read"
ALGORITHMS = ("RS256", "PS256", "ES256")

CLIENT_ID = "orders-e2e"
CLIENT_SECRET = "orders-e2e-secret-for-tests-only"
# provider.mjs: client "<base>-<alg>" gets tokens signed with <alg> and this role claim.
ROLE_BY_ALG = {"RS256": "reader", "PS256": "auditor", "ES256": "operator"}

# Short key set cache times so that rotation shows within seconds.
JWKS_CACHE_SECONDS = 2
JWKS_MIN_REFRESH_SECONDS = 1

HTTP_TIMEOUT = 10
START_TIMEOUT = 30
STOP_TIMEOUT = 5


# --------------------------------------------------------------------------- prerequisites


def _missing_prerequisite() -> str | None:
    if shutil.which("node") is None:
        return "Node.js (`node`) is not on PATH"
    if not (E2E_DIR / "node_modules" / "oidc-provider" / "package.json").is_file():
        return "tests/e2e/node_modules is missing: run `npm ci` in tests/e2e"
    for module in ("gunicorn", "cookiecutter"):
        if importlib.util.find_spec(module) is None:
            return f"the Python package {module!r} is not installed"
    return None


@pytest.fixture(scope="module", autouse=True)
def _prerequisites():
    reason = _missing_prerequisite()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"end-to-end test cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"end-to-end test skipped: {reason}")


# --------------------------------------------------------------------------- helpers


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _stop_process(proc: subprocess.Popen | None) -> None:
    """Stops a process started in its own session, with its children."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=STOP_TIMEOUT)


def _private_jwk(alg: str, kid: str) -> dict:
    if alg.startswith("ES"):
        key = ec.generate_private_key(ec.SECP256R1())
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(key, as_dict=True)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key, as_dict=True)
    # PyJWT marks private RSA JWKs `key_ops: ["sign"]`; the published public key would
    # keep that and be unfit for verifying, so leave it out and state `use` instead.
    jwk.pop("key_ops", None)
    jwk.update(kid=kid, alg=alg, use="sig")
    return jwk


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: object

    def describe(self) -> str:
        return f"HTTP {self.status} {self.headers.get('www-authenticate', '')} {self.body!r}"


def _request(method: str, url: str, *, headers=None, data: bytes | None = None) -> Response:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as resp:
            status, raw, resp_headers = resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as err:
        status, raw, resp_headers = err.code, err.read(), err.headers
    headers_lower = {k.lower(): v for k, v in resp_headers.items()}
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    return Response(status, headers_lower, body)


# --------------------------------------------------------------------------- processes


class OpenIDProvider:
    """provider.mjs on a fixed port; restartable with another key set.

    ``secret`` is every client's secret there; ``token_prefix`` marks its opaque tokens.
    """

    def __init__(
        self, port: int, workdir: Path, *, secret: str = CLIENT_SECRET, token_prefix: str = ""
    ):
        self.port = port
        self.workdir = workdir
        self.secret = secret
        self.token_prefix = token_prefix
        self.issuer = f"http://{HOST}:{port}"
        self.log = workdir / "provider.log"
        self.proc: subprocess.Popen | None = None
        self._starts = 0

    def start(self, keys: list[dict], *, sign_kid: str | None = None) -> None:
        assert self.proc is None or self.proc.poll() is not None, "provider already running"
        self._starts += 1
        jwks_path = self.workdir / f"provider-keys-{self._starts}.json"
        jwks_path.write_text(json.dumps({"keys": keys}))
        args = ["node", str(PROVIDER_SCRIPT), "--port", str(self.port), "--jwks", str(jwks_path)]
        if sign_kid:
            args += ["--sign-kid", sign_kid]
        if self.token_prefix:
            args += ["--token-prefix", self.token_prefix]
        env = {
            **os.environ,
            "E2E_CLIENT_ID": CLIENT_ID,
            "E2E_CLIENT_SECRET": self.secret,
        }
        offset = self.log.stat().st_size if self.log.exists() else 0
        self.proc = _spawn(args, E2E_DIR, env, self.log)

        def says_ready() -> bool:
            with self.log.open("rb") as log:
                log.seek(offset)
                return b"OIDC-PROVIDER READY" in log.read()

        if not _wait_until_ready(self.proc, says_ready):
            self.stop()
            pytest.fail(f"the OpenID provider did not start:\n{_tail(self.log)}", pytrace=False)

    def stop(self) -> None:
        _stop_process(self.proc)

    def restart(self, keys: list[dict], *, sign_kid: str | None = None) -> None:
        self.stop()
        self.start(keys, sign_kid=sign_kid)

    def token(self, client_id: str, scope: str, resource: str = AUDIENCE) -> str:
        form = urllib.parse.urlencode(
            {"grant_type": "client_credentials", "scope": scope, "resource": resource}
        ).encode()
        basic = base64.b64encode(f"{client_id}:{self.secret}".encode()).decode()
        resp = _request(
            "POST",
            f"{self.issuer}/token",
            data=form,
            headers={
                "Authorization": f"Basic {basic}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        assert resp.status == 200, f"token request failed: {resp.describe()}\n{_tail(self.log)}"
        assert resp.body["token_type"].lower() == "bearer"
        return resp.body["access_token"]


class BakedApi:
    """A generated project, installed with pip, served by gunicorn on 127.0.0.1."""

    def __init__(self, project_dir: Path, workdir: Path, env: dict[str, str] | None = None):
        self.project_dir = project_dir
        self.extra_env = env or {}
        self.site = _install(project_dir, workdir / f"site-{project_dir.parent.name}")
        self.port = _free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.log = workdir / f"api-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, **settings: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OAUTH_")}
        env.update(
            OAUTH_JWKS_CACHE_SECONDS=str(JWKS_CACHE_SECONDS),
            OAUTH_JWKS_MIN_REFRESH_SECONDS=str(JWKS_MIN_REFRESH_SECONDS),
            OAUTH_HTTP_TIMEOUT_SECONDS="3",
            PYTHONUNBUFFERED="1",
            PYTHONPATH=str(self.site),
            **settings,
        )
        env.update(self.extra_env)
        args = [
            sys.executable, "-m", "gunicorn",
            "--chdir", str(self.project_dir),
            "--bind", f"{HOST}:{self.port}",
            "--workers", "1",
            "--timeout", "30",
            "--graceful-timeout", "2",
            "wsgi:app",
        ]  # fmt: skip
        self.proc = _spawn(args, self.project_dir, env, self.log)

        def answers_health() -> bool:
            try:
                return _request("GET", f"{self.base_url}/health").status == 200
            except OSError:
                return False

        if not _wait_until_ready(self.proc, answers_health):
            self.stop()
            pytest.fail(f"the generated API did not start:\n{_tail(self.log)}", pytrace=False)

    def stop(self) -> None:
        _stop_process(self.proc)

    def get(self, path: str, token: str | None = None) -> Response:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return _request("GET", f"{self.base_url}{path}", headers=headers)

    def expect(self, resp: Response, status: int) -> None:
        assert resp.status == status, (
            f"expected HTTP {status}, got {resp.describe()}\napi log:\n{_tail(self.log)}"
        )


def _wait_until_ready(proc: subprocess.Popen, ready: Callable[[], bool]) -> bool:
    """Poll ``ready`` until it says yes, the process exits or START_TIMEOUT passes."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        if ready():
            return True
        time.sleep(0.05)
    return False


def _spawn(args: list[str], cwd: Path, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Start a server process in its own session, its output appended to ``log_path``."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )


def _bake(output_dir: Path, issuer: str, protection_mode: str) -> Path:
    from cookiecutter.main import cookiecutter

    project = cookiecutter(
        str(TEMPLATE_DIR),
        no_input=True,
        output_dir=str(output_dir),
        default_config=True,
        extra_context={
            "project_name": "Orders API",
            "issuer": issuer,
            "audience": AUDIENCE,
            "jwks_uri": "",
            "protection_mode": protection_mode,
            "algorithms": ",".join(ALGORITHMS),
            "required_scope": REQUIRED_SCOPE,
            "run_tests": False,
        },
    )
    return Path(project)


def _install(project: Path, target: Path) -> Path:
    """Install the baked project as a user would (``pip install``), into ``target``.

    Dependencies come from this environment (they are the template's test extra), so the
    install needs no network; the API then runs from the installed package, not from src/.
    """
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-deps", "--no-build-isolation", "--target", str(target), str(project),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"pip install of the baked project failed:\n{result.stderr}"
    return target


def _initial_keys(generation: int = 1) -> list[dict]:
    return [_private_jwk(alg, f"{alg.lower()}-{generation}") for alg in ALGORITHMS]


def _kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def _scopes(value) -> set[str]:
    if isinstance(value, str):
        return set(value.split())
    return set(value or ())


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("provider")
    instance = OpenIDProvider(_free_port(), workdir)
    try:
        instance.start(_initial_keys())
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="module", params=["global", "decorator"])
def api(request, provider, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"api-{request.param}")
    project = _bake(workdir / "out", provider.issuer, request.param)
    instance = BakedApi(project, workdir)
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()


# --------------------------------------------------------------------------- tests


def test_provider_publishes_discovery_and_keys(provider):
    meta = _request("GET", f"{provider.issuer}/.well-known/openid-configuration")
    assert meta.status == 200
    assert meta.body["issuer"] == provider.issuer
    keys = _request("GET", meta.body["jwks_uri"])
    assert keys.status == 200
    published = {key["kid"]: key for key in keys.body["keys"]}
    assert set(published) == {"rs256-1", "ps256-1", "es256-1"}
    assert all("d" not in key for key in published.values()), "private parts published"


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_provider_tokens_are_rfc9068_jwts(provider, alg):
    """What the API is given: checked here with PyJWT alone, apart from the template."""
    token = provider.token(f"{CLIENT_ID}-{alg.lower()}", "read")
    jwks = jwt.PyJWKClient(f"{provider.issuer}/jwks", cache_keys=False, timeout=HTTP_TIMEOUT)
    claims = jwt.decode(
        token,
        jwks.get_signing_key_from_jwt(token).key,
        algorithms=[alg],
        audience=AUDIENCE,
        issuer=provider.issuer,
    )
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    assert claims["sub"] == claims["client_id"] == f"{CLIENT_ID}-{alg.lower()}"
    assert claims["scope"] == "read"
    assert {"iat", "exp", "jti"} <= set(claims)


def test_health_needs_no_token(api):
    resp = api.get("/health")
    api.expect(resp, 200)
    assert resp.body == {"status": "ok"}


def test_request_without_token_is_challenged(api):
    resp = api.get("/api/data")
    api.expect(resp, 401)
    assert resp.body["code"] == "invalid_token"
    challenge = resp.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer")
    assert "error=" not in challenge


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_provider_token_is_accepted(api, provider, alg):
    client_id = f"{CLIENT_ID}-{alg.lower()}"
    token = provider.token(client_id, "read write")
    header = jwt.get_unverified_header(token)
    assert header["alg"] == alg
    assert header["typ"] == "at+jwt"
    assert header["kid"] == f"{alg.lower()}-1"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == provider.issuer
    assert claims["aud"] == AUDIENCE

    resp = api.get("/api/data", token)
    api.expect(resp, 200)
    assert resp.body["subject"] == client_id == claims["sub"]
    assert REQUIRED_SCOPE in _scopes(resp.body["scope"])
    assert "write" in _scopes(resp.body["scope"])
    assert resp.body["role"] == ROLE_BY_ALG[alg] == claims["role"]
    assert resp.body["message"]


def test_token_without_required_scope_is_forbidden(api, provider):
    token = provider.token(f"{CLIENT_ID}-rs256", "write")
    assert jwt.decode(token, options={"verify_signature": False})["scope"] == "write"
    resp = api.get("/api/data", token)
    api.expect(resp, 403)
    assert resp.body["code"] == "insufficient_scope"
    challenge = resp.headers.get("www-authenticate", "")
    assert 'error="insufficient_scope"' in challenge
    assert REQUIRED_SCOPE in challenge


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_token_for_another_audience_is_refused(api, provider, alg):
    token = provider.token(f"{CLIENT_ID}-{alg.lower()}", "read", resource=OTHER_AUDIENCE)
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == OTHER_AUDIENCE
    resp = api.get("/api/data", token)
    api.expect(resp, 401)
    assert resp.body["code"] == "invalid_token"
    assert 'error="invalid_token"' in resp.headers.get("www-authenticate", "")
    assert token not in json.dumps(resp.body)


def test_tampered_provider_token_is_refused(api, provider):
    token = provider.token(f"{CLIENT_ID}-es256", "read")
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    resp = api.get("/api/data", f"{header}.{forged}.{signature}")
    api.expect(resp, 401)
    assert resp.body["code"] == "invalid_token"


def _poll(api: BakedApi, token: str, status: int, seconds: float) -> Response:
    """Calls the API until it answers ``status`` or ``seconds`` pass; returns the last answer."""
    deadline = time.monotonic() + seconds
    while True:
        resp = api.get("/api/data", token)
        if resp.status == status or time.monotonic() >= deadline:
            return resp
        time.sleep(0.25)


def test_signing_key_rotation_needs_no_restart(tmp_path):
    """The provider publishes a new key beside the old one and signs with it, then drops
    the old key; the API follows both steps without a restart."""
    provider = OpenIDProvider(_free_port(), tmp_path)
    api = None
    try:
        old_keys = _initial_keys(1)
        provider.start(old_keys)
        api = BakedApi(_bake(tmp_path / "out", provider.issuer, "global"), tmp_path)
        api.start()

        client_id = f"{CLIENT_ID}-rs256"
        old_token = provider.token(client_id, "read")
        assert _kid(old_token) == "rs256-1"
        api.expect(api.get("/api/data", old_token), 200)

        # Step 1: a new RS256 key, listed first so the provider signs with it; the old
        # one stays published.
        new_rsa = _private_jwk("RS256", "rs256-2")
        provider.restart([new_rsa, *old_keys])
        new_token = provider.token(client_id, "read")
        assert _kid(new_token) == "rs256-2"
        # The last key set fetch may be less than the refresh cooldown ago.
        time.sleep(JWKS_MIN_REFRESH_SECONDS + 0.2)
        resp = _poll(api, new_token, 200, JWKS_CACHE_SECONDS + JWKS_MIN_REFRESH_SECONDS + 5)
        api.expect(resp, 200)
        api.expect(api.get("/api/data", old_token), 200)

        # Step 2: the old RS256 key is withdrawn.
        provider.restart([new_rsa, *old_keys[1:]])
        published = _request("GET", f"{provider.issuer}/jwks").body["keys"]
        assert "rs256-1" not in {key["kid"] for key in published}
        time.sleep(JWKS_CACHE_SECONDS + 0.2)
        api.expect(api.get("/api/data", new_token), 200)
        resp = _poll(api, old_token, 401, JWKS_CACHE_SECONDS + JWKS_MIN_REFRESH_SECONDS + 5)
        api.expect(resp, 401)
        assert resp.body["code"] == "invalid_token"

        # Tokens of the new key, and of the keys that stayed, keep working.
        api.expect(api.get("/api/data", new_token), 200)
        api.expect(api.get("/api/data", provider.token(client_id, "read")), 200)
        api.expect(api.get("/api/data", provider.token(f"{CLIENT_ID}-es256", "read")), 200)
    finally:
        if api is not None:
            api.stop()
        provider.stop()
