#!/usr/bin/env python3
"""What one bearer-token check costs, side by side with the usual Python peers.

In one run this script:

1. bakes a fresh project from this template (or takes ``--project PATH``), then measures
   in ``--processes`` fresh processes one after the other (3 by default; their rounds
   are pooled), each doing steps 2 and 3;
2. serves one JWKS over 127.0.0.1 (an RS256 key for everybody, plus ES256 and EdDSA keys
   for the generated project's extra rows);
3. builds one Flask app per contender, all answering ``GET /api/data`` with the same body,
   and times requests through Flask's test client, contenders interleaved over repeated
   rounds, each round's per-request mean kept, medians reported:

   - ``flask floor``: the same route with no protection;
   - ``crypto floor``: base64url decode, JSON parse and one ``cryptography`` verify of
     the same token, no Flask at all;
   - ``flask-of-oil``, Authlib's RFC 9068 ``ResourceProtector``, the PyJWT
     ``PyJWKClient`` + ``jwt.decode`` recipe, and the generated project;
   - each protected contender *warm* (one token repeated) and *cold* (a token that app
     has never seen, on every request);

4. optionally (``--throughput``, on by default) serves the generated app with
   ``gunicorn -w 2`` on 127.0.0.1 and loads it with ``wrk`` for a bounded time, the
   protected route with one repeated token against ``/health``.

Run it from the template repository with the packages of ``benchmarks/requirements.txt``:

    python benchmarks/token_check.py                 # full run, about four minutes
    python benchmarks/token_check.py --quick         # one process, few rounds: smoke test
    python benchmarks/token_check.py --profile       # also profile the app and PyJWT
    python benchmarks/token_check.py --parts         # only the pieces of a cold check
    python benchmarks/token_check.py --write-readme  # put the table in benchmarks/README.md
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import cProfile
import importlib
import io
import json
import os
import platform
import pstats
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import wraps
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from flask import Flask, abort, g, jsonify, request

TEMPLATE = Path(__file__).resolve().parent.parent
README = Path(__file__).resolve().parent / "README.md"
AUDIENCE = "api.example.com"
SCOPE = "read write"
REQUIRED_SCOPE = "read"
ROUTE = "/api/data"
RESULTS_START = "<!-- results:start -->"
RESULTS_END = "<!-- results:end -->"


#: Per-request times are CPU time of the measuring thread by default: on a shared, busy
#: machine wall time mostly measures the other processes. ``--wall`` switches to wall time.
clock = time.thread_time


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- keys, tokens and the JWKS server ------------------------------------------------------


@dataclass
class Signer:
    """One private key, its public JWK and a way to mint tokens with it."""

    alg: str
    kid: str
    private: Any
    public: Any
    jwk: dict[str, Any]

    @classmethod
    def generate(cls, alg: str) -> Signer:
        if alg == "RS256":
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
        elif alg == "ES256":
            private = ec.generate_private_key(ec.SECP256R1())
            jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
        else:
            private = ed25519.Ed25519PrivateKey.generate()
            jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(private.public_key()))
        kid = f"bench-{alg.lower()}"
        jwk.update(kid=kid, use="sig", alg=alg)
        return cls(alg, kid, private, private.public_key(), jwk)

    def mint(self, issuer: str, **extra: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": AUDIENCE,
            "sub": "user-42",
            "client_id": "bench-client",
            "iat": now,
            "exp": now + 3600,
            "jti": uuid.uuid4().hex,
            "scope": SCOPE,
            "role": "admin",
            **extra,
        }
        headers = {"kid": self.kid, "typ": "at+jwt"}
        return jwt.encode(claims, self.private, algorithm=self.alg, headers=headers)


class JwksServer:
    """Serves key sets over 127.0.0.1 and counts the fetches of each path."""

    def __init__(self, documents: dict[str, dict[str, Any]]) -> None:
        self.documents = {path: json.dumps(doc).encode() for path, doc in documents.items()}
        self.fetches: dict[str, int] = dict.fromkeys(documents, 0)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = server.documents.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                server.fetches[self.path] += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return self.base + path

    def total_fetches(self) -> int:
        return sum(self.fetches.values())

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# -- contenders --------------------------------------------------------------------------


OPEN_ROUTE = "/bench/open"
OPEN_CLAIMS = {"sub": "user-42", "scope": SCOPE, "role": "admin"}


def body_for(claims: Any) -> Any:
    role, scope = claims.get("role"), claims.get("scope")
    return jsonify(
        message=f"Data for user role '{role}' and scope '{scope}'",
        subject=claims.get("sub"),
        scope=scope,
        role=role,
    )


def flask_floor_app() -> Flask:
    app = Flask("flask_floor")

    @app.get(ROUTE)
    def data() -> Any:
        return body_for(OPEN_CLAIMS)

    return app


def flask_of_oil_app(jwks_url: str, issuer: str) -> Flask:
    from flask_of_oil import OAuthFilter

    app = Flask("flask_of_oil")
    oauth = OAuthFilter(verify_ssl=True)
    oauth.configure_with_jwt(jwks_url, issuer, AUDIENCE, scopes=[REQUIRED_SCOPE])

    @app.get(ROUTE)
    @oauth.protect([REQUIRED_SCOPE])
    def data() -> Any:
        return body_for(request.claims)  # type: ignore[attr-defined]

    return app


def authlib_app(jwks_url: str, issuer: str) -> Flask:
    from authlib.integrations.flask_oauth2 import ResourceProtector, current_token
    from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
    from joserfc.jwk import KeySet

    class Validator(JWTBearerTokenValidator):
        """The documented subclass: ``get_jwks`` with a five-minute cache of the key set."""

        def __init__(self) -> None:
            super().__init__(issuer=issuer, resource_server=AUDIENCE)
            self._keys: Any = None
            self._fetched_at = 0.0

        def get_jwks(self) -> Any:
            if self._keys is None or time.monotonic() - self._fetched_at > 300:
                with urlopen(jwks_url, timeout=5) as response:
                    self._keys = KeySet.import_key_set(json.load(response))
                self._fetched_at = time.monotonic()
            return self._keys

    require_oauth = ResourceProtector()
    require_oauth.register_token_validator(Validator())
    app = Flask("authlib")

    @app.get(ROUTE)
    @require_oauth(REQUIRED_SCOPE)
    def data() -> Any:
        return body_for(current_token)

    return app


def pyjwt_app(jwks_url: str, issuer: str) -> Flask:
    jwks_client = jwt.PyJWKClient(jwks_url)  # caches the key set for 300 s by default

    def require_token(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def protected(*args: Any, **kwargs: Any) -> Any:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token:
                abort(401)
            try:
                key = jwks_client.get_signing_key_from_jwt(token)
                claims = jwt.decode(
                    token,
                    key.key,
                    algorithms=["RS256"],
                    audience=AUDIENCE,
                    issuer=issuer,
                    options={"require": ["exp", "iss", "aud", "sub"]},
                )
            except jwt.PyJWTError:
                abort(401)
            if REQUIRED_SCOPE not in str(claims.get("scope", "")).split():
                abort(403)
            g.claims = claims
            return view(*args, **kwargs)

        return protected

    app = Flask("pyjwt")

    @app.get(ROUTE)
    @require_token
    def data() -> Any:
        return body_for(g.claims)

    return app


def generated_app(package: Any, jwks_url: str, issuer: str, algorithms: str) -> Flask:
    environ = {
        "OAUTH_ISSUER": issuer,
        "OAUTH_AUDIENCE": AUDIENCE,
        "OAUTH_JWKS_URI": jwks_url,
        "OAUTH_ALGORITHMS": algorithms,
        "OAUTH_REQUIRED_SCOPE": REQUIRED_SCOPE,
    }
    app = package.create_app(environ=environ)

    # The same app's floor: an open route with the floor's body, so that what the app does
    # on every request besides the token check (request ids, the global filter) can be told apart.
    def bench_open() -> Any:
        return body_for(OPEN_CLAIMS)

    auth = importlib.import_module(package.__name__ + ".auth")
    if hasattr(auth, "public"):  # global mode: every route is protected unless public
        bench_open = auth.public(bench_open)
    app.add_url_rule(OPEN_ROUTE, "bench_open", bench_open)
    return app


def bare_check_app(package: Any, jwks_url: str, issuer: str, public: Any) -> Flask:
    """The generated app with its token check cut down to the least any check must do.

    The header is read as the app reads it, a token seen before is a dict lookup, a new
    one costs exactly the crypto floor, and the view gets ``current_token`` as usual.
    Nothing else is checked (no claims, no key set, no expiry), so this is a yardstick,
    not a validator: what the app's own structure (request ids, the filter or decorator,
    the view) costs around the crypto, i.e. the lowest overhead the generated project's
    real check could reach.
    """
    app = generated_app(package, jwks_url, issuer, "RS256")
    bearer = importlib.import_module(package.__name__ + ".auth.bearer")
    access_token = importlib.import_module(package.__name__ + ".auth.access_token")
    current = importlib.import_module(package.__name__ + ".auth.current")
    check = crypto_floor("RS256", public)
    seen: dict[str, Any] = {}

    def authorize(*requirements: Any) -> Any:
        raw = bearer.bearer_token(request)
        token = seen.get(raw)
        if token is None:
            claims = check(raw)
            token = seen[raw] = access_token.AccessToken(claims, *access_token.scopes_of(claims))
        current.set_current_token(token)
        return token

    app.extensions["oauth"].authorize = authorize
    return app


def b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def crypto_floor(alg: str, public: Any) -> Callable[[str], None]:
    """Decode, parse and verify one token with nothing else around it."""
    sha256 = hashes.SHA256()
    pkcs1 = padding.PKCS1v15()
    ecdsa = ec.ECDSA(sha256)

    def check(token: str) -> Any:
        header_segment, payload_segment, signature_segment = token.split(".")
        json.loads(b64url(header_segment))
        claims = json.loads(b64url(payload_segment))
        signature = b64url(signature_segment)
        message = f"{header_segment}.{payload_segment}".encode()
        if alg == "RS256":
            public.verify(signature, message, pkcs1, sha256)
        elif alg == "ES256":
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            public.verify(encode_dss_signature(r, s), message, ecdsa)
        else:
            public.verify(signature, message)
        return claims

    return check


def crypto_route_app(alg: str, public: Any) -> Flask:
    """The crypto floor inside a request: what decode, parse and verify cost among Flask's
    own work, where the CPU caches are colder than in a tight loop. No other check."""
    app = Flask(f"crypto_route_{alg}")
    check = crypto_floor(alg, public)

    @app.get(ROUTE)
    def data() -> Any:
        return body_for(check(request.headers["Authorization"][7:]))

    return app


# -- measuring ---------------------------------------------------------------------------


@dataclass
class Contender:
    name: str
    alg: str
    kind: str  # "flask", "crypto", "peer" or "ours"
    #: temperature -> function timing ``count`` requests of round ``index``, in seconds
    runs: dict[str, Callable[[int, int], float]] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)


def client_run(
    app: Flask, headers_for: Callable[[int, int], list[dict[str, str]]], route: str = ROUTE
) -> Any:
    client = app.test_client()

    def run(index: int, count: int) -> float:
        headers = headers_for(index, count)
        get = client.get
        failures = 0
        start = clock()
        for header in headers:
            if get(route, headers=header).status_code != 200:
                failures += 1
        elapsed = clock() - start
        if failures:
            raise SystemExit(f"{app.name}: {failures} of {count} requests were not 200")
        return elapsed

    return run


def function_run(check: Callable[[str], None], token: str) -> Any:
    def run(index: int, count: int) -> float:
        start = clock()
        for _ in range(count):
            check(token)
        return clock() - start

    return run


class TokenPool:
    """Tokens per algorithm: one warm token, and a disjoint slice of fresh ones per round."""

    def __init__(self, signer: Signer, issuer: str, rounds: int, count: int) -> None:
        self.warm = {"Authorization": "Bearer " + signer.mint(issuer)}
        self.count = count
        total = (rounds + 1) * count  # round 0 is the untimed warm-up
        self.cold = [{"Authorization": "Bearer " + signer.mint(issuer)} for _ in range(total)]

    def warm_headers(self, index: int, count: int) -> list[dict[str, str]]:
        return [self.warm] * count

    def cold_headers(self, index: int, count: int) -> list[dict[str, str]]:
        return self.cold[index * self.count : index * self.count + count]


def warm_up(contenders: list[Contender], count: int) -> None:
    """Round 0, untimed: loads key sets, imports lazily imported modules, fills caches."""
    for contender in contenders:
        for temp, run in contender.runs.items():
            run(0, count)
            contender.samples[temp] = []


def measure(contenders: list[Contender], rounds: int, count: int) -> None:
    """Rounds 1..N: every (contender, temperature) once per round, in a shuffled order."""
    jobs = [(c, temp) for c in contenders for temp in c.runs]
    for index in range(1, rounds + 1):
        random.shuffle(jobs)
        for contender, temp in jobs:
            elapsed = contender.runs[temp](index, count)
            contender.samples[temp].append(elapsed / count * 1e6)
        if index % max(1, rounds // 5) == 0 or index == rounds:
            progress(f"round {index}/{rounds} done")


# -- throughput --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(
    project: Path, environ: dict[str, str], workers: int, log: Path
) -> Iterator[tuple[str, int]]:
    """The app as it ships (its own gunicorn.conf.py, if any), with ``workers`` workers."""
    port = free_port()
    env = {**os.environ, **environ, "PYTHONPATH": str(project / "src")}
    command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}"]
    command += ["wsgi:app"]
    output = log.open("w")
    process = subprocess.Popen(command, cwd=project, env=env, stdout=output, stderr=output)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urlopen(base + "/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        output.close()


def wrk(url: str, seconds: float, connections: int, token: str | None = None) -> tuple[float, int]:
    """Requests per second and the number of requests of one bounded ``wrk`` run."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise SystemExit(f"wrk saw {non_2xx.group(1)} error responses from {url}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    count = re.search(r"(\d+) requests in", output)
    if not rate or not count:
        raise SystemExit(f"could not read wrk's output:\n{output}")
    return float(rate.group(1)), int(count.group(1))


def workers_cpu(master: int) -> float:
    """CPU seconds (user + system) used so far by the gunicorn master's worker processes."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    ticks = 0
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def throughput(
    project: Path, environ: dict[str, str], token: str, seconds: float, pairs: int
) -> dict[str, Any]:
    """req/s of /health and of the protected route, in ``pairs`` back-to-back pairs.

    Each pair runs both routes one after the other (the order flips from pair to pair), so
    the two runs of a pair share the machine's load; the ratio reported is the median of
    the pairs' ratios. The workers' CPU time per request is read from /proc as well: on a
    machine busy with other work it tells the routes' cost apart better than req/s does.
    """
    log = Path(tempfile.mkdtemp(prefix="token-check-gunicorn-")) / "gunicorn.log"
    progress(f"gunicorn output: {log}")
    runs: dict[str, list[tuple[float, float]]] = {"/health": [], ROUTE: []}
    with gunicorn(project, environ, workers=2, log=log) as (base, master):
        warm_up = Request(base + ROUTE, headers={"Authorization": f"Bearer {token}"})
        for _ in range(20):  # every worker loads its key set before the clock starts
            with urlopen(warm_up, timeout=5) as response:
                assert response.status == 200
        for index in range(pairs):
            order = [("/health", None), (ROUTE, token)]
            for path, credential in order if index % 2 == 0 else order[::-1]:
                cpu = workers_cpu(master)
                rate, count = wrk(base + path, seconds, 8, credential)
                cpu_per_request = (workers_cpu(master) - cpu) / count * 1e6
                runs[path].append((rate, cpu_per_request))
                progress(
                    f"wrk {path} {rate:.0f} req/s, workers' CPU {cpu_per_request:.0f} µs/request"
                    f" (pair {index + 1}/{pairs})"
                )
    health, protected = runs["/health"], runs[ROUTE]
    return {
        "health": statistics.median(r for r, _ in health),
        "protected": statistics.median(r for r, _ in protected),
        "ratio": statistics.median(p[0] / h[0] for p, h in zip(protected, health, strict=True)),
        "health_cpu": statistics.median(c for _, c in health),
        "protected_cpu": statistics.median(c for _, c in protected),
        "cpu_ratio": statistics.median(h[1] / p[1] for p, h in zip(protected, health, strict=True)),
        "all_health": [r for r, _ in health],
        "all_protected": [r for r, _ in protected],
    }


# -- profiling ---------------------------------------------------------------------------


def profile(name: str, run: Callable[[int, int], float], index: int, count: int) -> str:
    """cProfile of ``count`` requests: the top functions by own time, then the app's own
    functions (its package's files) by cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    run(index, count)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(12)
    stats.sort_stats("cumulative").print_stats(r"/src/[a-z_]+/|/jwt/", 25)
    return f"== profile: {name}, {count} requests ==\n{out.getvalue()}"


def parts(package: Any) -> str:
    """Tight-loop costs of the pieces of a cold RS256 check: PyJWT's and the generated layer's.

    Best of five repeats (not a median: these loops are short and hot, and the minimum is
    the least disturbed by other work). Shows where PyJWT's time goes without cProfile,
    which inflates Python-level calls such as PyJWT's per-character base64url check.
    """
    import timeit

    jws = importlib.import_module(package.__name__ + ".auth.jws")
    signer = Signer.generate("RS256")
    issuer = "https://issuer.example"
    token = signer.mint(issuer)
    header_segment, payload_segment, signature_segment = token.split(".")
    options = {"require": ["exp", "iss", "aud", "sub"]}
    floor = crypto_floor("RS256", signer.public)
    message = f"{header_segment}.{payload_segment}".encode()
    signature = b64url(signature_segment)
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
    rows = [
        ("crypto floor (decode, parse, verify)", lambda: floor(token)),
        (
            "PyJWT: one payload segment, base64url",
            lambda: jwt.api_jws.PyJWS._decode_base64url_segment(payload_segment.encode(), "p"),
        ),
        ("generated: one payload segment, base64url", lambda: jws.b64url_decode(payload_segment)),
        (
            "PyJWT: get_unverified_header (PyJWKClient's kid lookup)",
            lambda: jwt.get_unverified_header(token),
        ),
        (
            "PyJWT: jwt.decode (verify and claims)",
            lambda: jwt.decode(
                token, signer.public, ["RS256"], audience=AUDIENCE, issuer=issuer, options=options
            ),
        ),
        (
            "cryptography: RSAPublicKey.verify",
            lambda: signer.public.verify(signature, message, pkcs1, sha256),
        ),
        (
            "generated: RS256 signature check",
            lambda: jws.verify_signature(signer.public, "RS256", message, signature),
        ),
    ]
    lines = ["| piece (tight loop, best of 5) | µs |", "| --- | ---: |"]
    for label, call in rows:
        best = min(timeit.repeat(call, number=2000, repeat=5)) / 2000 * 1e6
        lines.append(f"| {label} | {best:.1f} |")
    return "\n".join(lines)


# -- report ------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


class Results:
    """Medians and ratios from the samples; overheads are paired round by round."""

    def __init__(self, contenders: list[Contender]) -> None:
        self.contenders = contenders
        self.flask = self.one("flask").samples["warm"]
        self.own = self.one("own").samples["warm"]
        self.crypto = {c.alg: median(c.samples["warm"]) for c in contenders if c.kind == "crypto"}
        #: the crypto floor as it costs inside a request (fresh tokens), over the Flask floor
        self.in_route = {c.alg: self.overhead(c, "cold") for c in contenders if c.kind == "route"}
        peers = [c for c in contenders if c.kind == "peer"]
        self.best_peer = {
            temp: min((self.overhead(c, temp) for c in peers), default=None)
            for temp in ("warm", "cold")
        }

    def one(self, kind: str) -> Contender:
        return next(c for c in self.contenders if c.kind == kind)

    def ours(self, alg: str) -> Contender:
        return next(c for c in self.contenders if c.kind == "ours" and c.alg == alg)

    def overhead(self, contender: Contender, temp: str, floor: list[float] | None = None) -> float:
        base = self.flask if floor is None else floor
        return median([a - b for a, b in zip(contender.samples[temp], base, strict=True)])

    def ratio(self, contender: Contender, temp: str, floor: list[float] | None = None) -> float:
        return self.overhead(contender, temp, floor) / self.crypto[contender.alg]


def render(
    results: Results,
    rounds: int,
    count: int,
    fetches: int,
    tput: dict[str, Any] | None,
    processes: int = 1,
) -> str:
    r = results
    lines = [
        "| contender | alg | warm µs/req | cold µs/req | warm overhead µs | cold overhead µs"
        " | warm ovh / crypto | cold ovh / crypto | cold ovh vs best peer |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    labels = {
        "flask": "Flask floor (test client, unprotected route)",
        "own": "generated app, open route (same body)",
        "crypto": "crypto floor (no Flask)",
        "route": "crypto floor inside a Flask route",
    }
    for c in r.contenders:
        if c.kind == "route":
            cold, oc = median(c.samples["cold"]), r.overhead(c, "cold")
            lines.append(f"| {labels[c.kind]} | {c.alg} | | {cold:.1f} | | {oc:.1f} | | | |")
            continue
        warm = median(c.samples["warm"])
        if c.kind in labels:
            own = f"{r.overhead(c, 'warm'):.1f}" if c.kind == "own" else ""
            lines.append(f"| {labels[c.kind]} | {c.alg} | {warm:.1f} | | {own} | | | | |")
            continue
        ow, oc = r.overhead(c, "warm"), r.overhead(c, "cold")
        vs_peer = ""
        if c.alg == "RS256" and r.best_peer["cold"]:
            vs_peer = f"{oc / r.best_peer['cold']:.2f}x"
        lines.append(
            f"| {c.name} | {c.alg} | {warm:.1f} | {median(c.samples['cold']):.1f} | {ow:.1f}"
            f" | {oc:.1f} | {r.ratio(c, 'warm'):.2f}x | {r.ratio(c, 'cold'):.2f}x | {vs_peer} |"
        )
    lines += [
        "",
        "The generated project's token check alone, against its own open route (same app,"
        " same body; this removes the request-id middleware and filter that every route runs):",
        "",
        "| generated project | warm auth µs | cold auth µs | warm / crypto | cold / crypto"
        " | cold / crypto floor inside a route |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in r.contenders:
        if c.kind == "ours":
            warm, cold = r.overhead(c, "warm", r.own), r.overhead(c, "cold", r.own)
            in_route = r.in_route.get(c.alg)
            lines.append(
                f"| {c.alg} | {warm:.1f} | {cold:.1f}"
                f" | {r.ratio(c, 'warm', r.own):.2f}x | {r.ratio(c, 'cold', r.own):.2f}x"
                f" | {f'{cold / in_route:.2f}x' if in_route else ''} |"
            )
    lines += [
        "",
        f"Medians of {rounds} interleaved rounds of {count} requests each"
        f" ({processes} measuring process{'es' if processes > 1 else ''}, rounds pooled)."
        " Overhead is the"
        " contender's time minus the floor's, paired round by round; it is divided by the"
        " crypto floor of the row's algorithm. JWKS fetches during the timed rounds, all apps"
        f" together: {fetches}.",
    ]
    if tput:
        ratio = tput["ratio"]
        lines += [
            "",
            "| gunicorn -w 2, wrk -t1 -c8 | req/s (median) | runs | workers' CPU µs/request |",
            "| --- | ---: | --- | ---: |",
            f"| GET /health (unprotected) | {tput['health']:.0f} |"
            f" {', '.join(f'{v:.0f}' for v in tput['all_health'])} | {tput['health_cpu']:.0f} |",
            f"| GET {ROUTE} (one repeated RS256 token) | {tput['protected']:.0f} |"
            f" {', '.join(f'{v:.0f}' for v in tput['all_protected'])}"
            f" | {tput['protected_cpu']:.0f} |",
            f"| protected / unprotected (median of the pairs) | {ratio:.2f} | target >= 0.85"
            f" | {tput['cpu_ratio']:.2f} |",
            "",
            "The last column's ratio is the unprotected route's CPU per request over the"
            " protected route's: the throughput ratio that CPU cost alone predicts.",
        ]
    return "\n".join(lines)


def verdict(results: Results, tput: dict[str, Any] | None) -> list[str]:
    """The issue's targets, for the RS256 row; met or not is judged over the Flask floor."""
    ours = results.ours("RS256")
    lines = []
    for temp, target in (("cold", 2.0), ("warm", 0.3)):
        over_flask = results.ratio(ours, temp)
        over_own = results.ratio(ours, temp, results.own)
        met = "met" if over_flask <= target else "NOT met"
        line = (
            f"{temp}: overhead / crypto floor {over_flask:.2f} over the Flask floor,"
            f" {over_own:.2f} for the check alone"
        )
        in_route = results.in_route.get("RS256")
        if temp == "cold" and in_route:
            check_alone = results.overhead(ours, "cold", results.own)
            line += f", {check_alone / in_route:.2f} of the crypto floor inside a route"
        bare = next((c for c in results.contenders if c.kind == "bare"), None)
        if bare:
            line += (
                f"; the same app with the crypto floor as its only check:"
                f" {results.ratio(bare, temp):.2f}"
            )
        lines.append(f"{line} (target <= {target:g}): {met}")
    if tput:
        ratio = tput["ratio"]
        met = "met" if ratio >= 0.85 else "NOT met"
        lines.append(
            f"throughput protected / unprotected {ratio:.2f} (target >= 0.85): {met};"
            f" by the workers' CPU per request {tput['cpu_ratio']:.2f}"
        )
    return lines


def write_readme(table: str, command: str) -> None:
    text = README.read_text()
    stamp = (
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores"
        f" ({platform.machine()}, Python {platform.python_version()}) with:\n\n"
        f"    {command}\n"
    )
    block = f"{RESULTS_START}\n{stamp}\n{table}\n{RESULTS_END}"
    if RESULTS_START in text:
        text = re.sub(
            re.escape(RESULTS_START) + ".*?" + re.escape(RESULTS_END),
            lambda _: block,
            text,
            flags=re.S,
        )
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    README.write_text(text)


# -- main --------------------------------------------------------------------------------


def bake(mode: str) -> Path:
    from cookiecutter.main import cookiecutter

    output = Path(tempfile.mkdtemp(prefix="token-check-"))
    answers = {"run_tests": "no", "protection_mode": mode}
    return Path(
        cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(output), extra_context=answers)
    )


def import_generated(project: Path) -> Any:
    src = project / "src"
    packages = [p for p in src.iterdir() if (p / "__init__.py").exists()]
    if len(packages) != 1:
        raise SystemExit(f"expected one package under {src}, found {packages}")
    sys.path.insert(0, str(src))
    return importlib.import_module(packages[0].name)


def measure_here(args: argparse.Namespace, project: Path) -> tuple[list[Contender], int]:
    """One measuring process: its own keys, JWKS server and apps; the interleaved rounds."""
    package = import_generated(project)
    progress(f"generated project: {project} (package {package.__name__})")

    signers = {alg: Signer.generate(alg) for alg in ("RS256", "ES256", "EdDSA")}
    server = JwksServer(
        {
            "/rsa.json": {"keys": [signers["RS256"].jwk]},
            "/all.json": {"keys": [s.jwk for s in signers.values()]},
        }
    )
    issuer = server.base
    progress(f"JWKS server on {server.base}; minting tokens")
    pools = {
        alg: TokenPool(signer, issuer, args.rounds, args.requests)
        for alg, signer in signers.items()
    }
    rsa_jwks, all_jwks = server.url("/rsa.json"), server.url("/all.json")

    contenders: list[Contender] = []

    def add(name: str, alg: str, kind: str, app: Flask, cold: bool = True) -> None:
        pool = pools[alg]
        runs = {"warm": client_run(app, pool.warm_headers)}
        if cold:
            runs["cold"] = client_run(app, pool.cold_headers)
        contenders.append(Contender(name, alg, kind, runs))

    add("flask floor", "RS256", "flask", flask_floor_app(), cold=False)
    for alg, signer in signers.items():
        warm_token = pools[alg].warm["Authorization"].split()[1]
        run = function_run(crypto_floor(alg, signer.public), warm_token)
        contenders.append(
            Contender(
                f"crypto floor {alg}" if alg != "RS256" else "crypto floor",
                alg,
                "crypto",
                {"warm": run},
            )
        )
    for alg, signer in signers.items():
        app = crypto_route_app(alg, signer.public)
        runs = {"cold": client_run(app, pools[alg].cold_headers)}
        contenders.append(Contender(f"crypto floor in a route {alg}", alg, "route", runs))
    peer_builders = [
        ("flask-of-oil", flask_of_oil_app),
        ("Authlib RFC 9068 ResourceProtector", authlib_app),
        ("PyJWT PyJWKClient + jwt.decode", pyjwt_app),
    ]
    for name, build in peer_builders:
        try:
            add(name, "RS256", "peer", build(rsa_jwks, issuer))
        except ImportError as error:
            progress(f"skipping {name}: {error}")
    ours = generated_app(package, rsa_jwks, issuer, "RS256")
    open_run = client_run(ours, pools["RS256"].warm_headers, OPEN_ROUTE)
    contenders.append(
        Contender("generated project, open route", "RS256", "own", {"warm": open_run})
    )
    add("generated project", "RS256", "ours", ours)
    extra = generated_app(package, all_jwks, issuer, "RS256,ES256,EdDSA")
    add("generated project", "ES256", "ours", extra)
    add("generated project", "EdDSA", "ours", extra)
    bare = bare_check_app(package, rsa_jwks, issuer, signers["RS256"].public)
    add("generated app, crypto floor as its only check", "RS256", "bare", bare)

    progress(
        f"measuring {len(contenders)} contenders: {args.rounds} rounds of {args.requests}"
        " requests, interleaved"
    )
    measure_started = time.monotonic()
    warm_up(contenders, args.requests)
    fetches_before = server.total_fetches()  # count only the timed rounds' fetches
    measure(contenders, args.rounds, args.requests)
    fetches = server.total_fetches() - fetches_before
    progress(f"measured in {time.monotonic() - measure_started:.0f}s")

    if args.profile:
        ours_rs = next(c for c in contenders if c.name == "generated project" and c.alg == "RS256")
        count = args.requests
        print(profile("generated project, warm", ours_rs.runs["warm"], 1, count))
        # fresh tokens: a slice no app has seen (minted now, same signer)
        fresh = TokenPool(signers["RS256"], issuer, 0, count)
        app = generated_app(package, rsa_jwks, issuer, "RS256")
        app.test_client().get(ROUTE, headers=fresh.warm)  # load the key set
        print(profile("generated project, cold", client_run(app, fresh.cold_headers), 0, count))
        peer = pyjwt_app(rsa_jwks, issuer)
        peer.test_client().get(ROUTE, headers=fresh.warm)  # load its key set
        print(profile("PyJWT recipe, cold", client_run(peer, fresh.cold_headers), 0, count))
    server.stop()
    return contenders, fetches


def measure_in_processes(args: argparse.Namespace, project: Path) -> tuple[list[Contender], int]:
    """``--processes`` fresh measuring processes, one after the other; their rounds pooled.

    A process's memory layout and hash seeds shift its timings as a whole; pooling the
    rounds of several processes keeps one lucky or unlucky layout from deciding a ratio.
    Every process runs the same contenders in the same order, so round *i* of every
    contender still comes from the same moment and the pairing of overheads holds.
    """
    pooled: list[Contender] = []
    fetches = 0
    for index in range(args.processes):
        progress(f"measuring process {index + 1}/{args.processes}")
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            command = [sys.executable, __file__, "--project", str(project), "--processes", "1"]
            command += ["--rounds", str(args.rounds), "--requests", str(args.requests)]
            command += ["--no-throughput", "--samples-out", out.name]
            command += ["--wall"] if args.wall else []
            subprocess.run(command, check=True)
            result = json.loads(Path(out.name).read_text())
        fetches += result["fetches"]
        for position, entry in enumerate(result["contenders"]):
            if index == 0:
                pooled.append(Contender(entry["name"], entry["alg"], entry["kind"]))
                pooled[-1].samples = {temp: [] for temp in entry["samples"]}
            contender = pooled[position]
            for temp, values in entry["samples"].items():
                contender.samples[temp].extend(values)
    return pooled, fetches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", type=Path, help="a baked project (default: bake one)")
    parser.add_argument("--mode", default="global", choices=["global", "decorator"])
    parser.add_argument("--processes", type=int, default=3, help="measuring processes")
    parser.add_argument("--rounds", type=int, default=100, help="rounds per process")
    parser.add_argument("--requests", type=int, default=40, help="requests per round")
    parser.add_argument("--quick", action="store_true", help="1 process, 5 rounds, 2 s of wrk")
    parser.add_argument("--no-throughput", dest="throughput", action="store_false")
    parser.add_argument("--seconds", type=float, default=5, help="length of each wrk run")
    parser.add_argument("--pairs", type=int, default=4, help="wrk runs per route")
    parser.add_argument("--profile", action="store_true", help="profile the generated app")
    parser.add_argument(
        "--parts", action="store_true", help="only time the pieces of a cold check, then stop"
    )
    parser.add_argument("--wall", action="store_true", help="wall time instead of CPU time")
    parser.add_argument("--write-readme", action="store_true")
    parser.add_argument("--samples-out", type=Path, help=argparse.SUPPRESS)  # measuring child
    args = parser.parse_args()
    if args.wall:
        global clock
        clock = time.perf_counter
    if args.quick:
        args.processes, args.rounds, args.requests, args.seconds, args.pairs = 1, 5, 50, 2, 1
    if args.profile:
        args.processes = 1  # the profile is printed by the measuring process itself
    started = time.monotonic()
    command = "python benchmarks/token_check.py " + " ".join(sys.argv[1:])

    project = args.project
    if project is None:
        progress(f"baking a fresh project ({args.mode} mode)")
        project = bake(args.mode)
    project = project.resolve()
    if args.parts:
        print(parts(import_generated(project)))
        return

    if args.processes > 1:
        contenders, fetches = measure_in_processes(args, project)
    else:
        contenders, fetches = measure_here(args, project)
    if args.samples_out:
        entries = [
            {"name": c.name, "alg": c.alg, "kind": c.kind, "samples": c.samples} for c in contenders
        ]
        args.samples_out.write_text(json.dumps({"contenders": entries, "fetches": fetches}))
        return

    tput = None
    if args.throughput:
        if shutil.which("wrk") is None:
            progress("wrk not found (Debian: apt-get install wrk); skipping throughput")
        else:
            progress(f"throughput: gunicorn -w 2 + wrk, {args.seconds:g}s per run")
            signer = Signer.generate("RS256")
            server = JwksServer({"/rsa.json": {"keys": [signer.jwk]}})
            environ = {
                "OAUTH_ISSUER": server.base,
                "OAUTH_AUDIENCE": AUDIENCE,
                "OAUTH_JWKS_URI": server.url("/rsa.json"),
                "OAUTH_ALGORITHMS": "RS256",
                "OAUTH_REQUIRED_SCOPE": REQUIRED_SCOPE,
            }
            tput = throughput(project, environ, signer.mint(server.base), args.seconds, args.pairs)
            server.stop()

    results = Results(contenders)
    rounds = args.rounds * args.processes
    table = render(results, rounds, args.requests, fetches, tput, args.processes)
    print()
    print(table)
    print()
    verdicts = verdict(results, tput)
    for line in verdicts:
        print(line)
    elapsed = f"The whole run took {time.monotonic() - started:.0f} s."
    print(elapsed)
    if args.write_readme:
        targets = "\n".join(f"- {line}" for line in verdicts)
        write_readme(f"{table}\n\nTargets of this run:\n\n{targets}\n\n{elapsed}", command.strip())
        progress(f"results written to {README}")


if __name__ == "__main__":
    main()
