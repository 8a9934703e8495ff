#!/usr/bin/env python3
"""What a DPoP request costs in a generated project, against the least it could cost.

A DPoP request (RFC 9449) is a token check plus a proof check. This script bakes two
projects from this template, ``proof_of_possession=none`` and ``dpop`` (JWT, global
mode), serves one RS256 JWKS on 127.0.0.1 and times requests through Flask's test client,
contenders interleaved over rounds (each round's per-request mean kept, medians reported):

- ``flask floor``: the route with no protection;
- ``two verifications``: a Flask route doing only what any DPoP check must: decode, parse
  and verify the RS256 access token, decode and parse the proof, verify its ES256 signature
  (its key already built: a client sends the same key every time);
- the ``dpop`` project with ``Authorization: DPoP`` and a fresh proof per request, the token
  seen before (*warm*) or new (*cold*);
- plain bearer tokens, warm and cold, in the ``dpop`` project and in the ``none`` project:
  DPoP support must leave the bearer path's cost unchanged.

    python benchmarks/dpop_check.py                 # about two minutes
    python benchmarks/dpop_check.py --quick         # smoke test
    python benchmarks/dpop_check.py --write-readme  # put the table in benchmarks/README.md

It reuses the keys, JWKS server and round machinery of ``token_check.py`` beside it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from flask import Flask, request

sys.path.insert(0, str(Path(__file__).resolve().parent))
import token_check as bench

API_URL = "http://localhost"
README = Path(__file__).resolve().parent / "README.md"
START, END = "<!-- dpop:start -->", "<!-- dpop:end -->"


class Holder:
    """The client's ES256 key and its proofs."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.public = self.key.public_key()
        self.jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.public, as_dict=True)
        members = {name: self.jwk[name] for name in ("crv", "kty", "x", "y")}
        canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
        self.thumbprint = _b64(hashlib.sha256(canonical).digest())

    def proof(self, token: str) -> str:
        claims = {
            "jti": uuid.uuid4().hex,
            "htm": "GET",
            "htu": f"{API_URL}{bench.ROUTE}",
            "iat": int(time.time()),
            "ath": _b64(hashlib.sha256(token.encode()).digest()),
        }
        headers = {"typ": "dpop+jwt", "jwk": self.jwk}
        return jwt.encode(claims, self.key, algorithm="ES256", headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def two_verifications_app(token_key: Any, proof_key: Any) -> Flask:
    """The floor of a DPoP check: two signatures verified, nothing else checked."""
    app = Flask("two_verifications")
    token_check = bench.crypto_floor("RS256", token_key)
    ecdsa = ec.ECDSA(hashes.SHA256())

    @app.get(bench.ROUTE)
    def data() -> Any:
        claims = token_check(request.headers["Authorization"][5:])
        header, payload, signature = request.headers["DPoP"].split(".")
        json.loads(bench.b64url(header))
        json.loads(bench.b64url(payload))
        raw = bench.b64url(signature)
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        proof_key.verify(der, f"{header}.{payload}".encode(), ecdsa)
        return bench.body_for(claims)

    return app


def bake(pop: str) -> Path:
    from cookiecutter.main import cookiecutter

    output = Path(tempfile.mkdtemp(prefix=f"dpop-check-{pop}-"))
    answers = {"run_tests": "no", "proof_of_possession": pop, "project_slug": f"bench-{pop}"}
    return Path(
        cookiecutter(
            str(bench.TEMPLATE), no_input=True, output_dir=str(output), extra_context=answers
        )
    )


def generated(project: Path, environ: dict[str, str]) -> Flask:
    package = bench.import_generated(project)
    return package.create_app(environ=environ)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.requests = 5, 30
    started = time.monotonic()

    signer = bench.Signer.generate("RS256")
    server = bench.JwksServer({"/rsa.json": {"keys": [signer.jwk]}})
    issuer = server.base
    environ = {
        "OAUTH_ISSUER": issuer,
        "OAUTH_AUDIENCE": bench.AUDIENCE,
        "OAUTH_JWKS_URI": server.url("/rsa.json"),
        "OAUTH_ALGORITHMS": "RS256",
        "OAUTH_REQUIRED_SCOPE": bench.REQUIRED_SCOPE,
        "OAUTH_PUBLIC_URL": API_URL,
    }
    bench.progress("baking the none and dpop projects")
    plain_app = generated(bake("none"), environ)  # packages bench_none and bench_dpop
    dpop_app = generated(bake("dpop"), environ)
    holder = Holder()

    total = (args.rounds + 1) * args.requests
    bench.progress(f"minting {2 * total} tokens")
    bearer_warm = signer.mint(issuer)
    bearer_cold = [signer.mint(issuer) for _ in range(total)]
    bound_warm = signer.mint(issuer, cnf={"jkt": holder.thumbprint})
    bound_cold = [signer.mint(issuer, cnf={"jkt": holder.thumbprint}) for _ in range(total)]

    def bearer(tokens: Callable[[int, int], list[str]]) -> Callable[[int, int], list[dict]]:
        return lambda i, n: [{"Authorization": f"Bearer {t}"} for t in tokens(i, n)]

    def dpop(tokens: Callable[[int, int], list[str]]) -> Callable[[int, int], list[dict]]:
        # Proofs are made just before their round (untimed): each is good once, and fresh.
        return lambda i, n: [
            {"Authorization": f"DPoP {t}", "DPoP": holder.proof(t)} for t in tokens(i, n)
        ]

    def warm(token: str) -> Callable[[int, int], list[str]]:
        return lambda i, n: [token] * n

    def cold(tokens: list[str]) -> Callable[[int, int], list[str]]:
        return lambda i, n: tokens[i * args.requests : i * args.requests + n]

    contenders = [
        bench.Contender("flask floor", "RS256", "flask", {"warm": bench.client_run(
            bench.flask_floor_app(), bearer(warm(bearer_warm)))}),
        bench.Contender("two verifications (token + proof)", "RS256", "floor", {
            "cold": bench.client_run(
                two_verifications_app(signer.public, holder.public), dpop(cold(bound_cold))
            )
        }),
        bench.Contender("dpop project, DPoP", "RS256", "ours", {
            "warm": bench.client_run(dpop_app, dpop(warm(bound_warm))),
            "cold": bench.client_run(dpop_app, dpop(cold(bound_cold))),
        }),
        bench.Contender("dpop project, Bearer", "RS256", "bearer-dpop", {
            "warm": bench.client_run(dpop_app, bearer(warm(bearer_warm))),
            "cold": bench.client_run(dpop_app, bearer(cold(bearer_cold))),
        }),
        bench.Contender("none project, Bearer", "RS256", "bearer-none", {
            "warm": bench.client_run(plain_app, bearer(warm(bearer_warm))),
            "cold": bench.client_run(plain_app, bearer(cold(bearer_cold))),
        }),
    ]  # fmt: skip
    bench.warm_up(contenders, args.requests)
    bench.measure(contenders, args.rounds, args.requests)
    server.stop()

    table = render(contenders, args)
    print()
    print(table)
    elapsed = f"The whole run took {time.monotonic() - started:.0f} s."
    print(elapsed)
    if args.write_readme:
        text = README.read_text(encoding="utf-8")
        block = f"{START}\n{table}\n\n{elapsed}\n{END}"
        README.write_text(re.sub(f"{START}.*?{END}", lambda _: block, text, flags=re.S))
        bench.progress(f"results written to {README}")


def render(contenders: list[bench.Contender], args: argparse.Namespace) -> str:
    by_kind = {c.kind: c for c in contenders}
    flask = by_kind["flask"].samples["warm"]

    def over(kind: str, temp: str) -> float:
        samples = by_kind[kind].samples[temp]
        return bench.median([a - b for a, b in zip(samples, flask, strict=True)])

    floor = over("floor", "cold")
    lines = [
        f"{args.rounds} interleaved rounds of {args.requests} requests, one process; "
        "medians of per-request CPU time, and of the overhead over the Flask floor "
        "taken round by round.",
        "",
        "| contender | warm token, µs | cold token, µs | overhead (cold), µs | over floor's |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| Flask floor (no check) | {bench.median(flask):.1f} | | | |",
        f"| two verifications (token + proof), no other check | | "
        f"{bench.median(by_kind['floor'].samples['cold']):.1f} | {floor:.1f} | 1.00 |",
    ]
    for kind in ("ours", "bearer-dpop", "bearer-none"):
        c = by_kind[kind]
        lines.append(
            f"| {c.name} | {bench.median(c.samples['warm']):.1f} | "
            f"{bench.median(c.samples['cold']):.1f} | {over(kind, 'cold'):.1f} | "
            f"{over(kind, 'cold') / floor:.2f} |"
        )
    dpop_bearer, none_bearer = by_kind["bearer-dpop"], by_kind["bearer-none"]
    lines.append("")
    for temp in ("warm", "cold"):
        ratio = bench.median(dpop_bearer.samples[temp]) / bench.median(none_bearer.samples[temp])
        lines.append(f"Bearer path ({temp}), dpop project over none project: {ratio:.2f}x.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
