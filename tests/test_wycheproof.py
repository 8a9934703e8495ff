"""The generated signature-verification layer against Project Wycheproof's test vectors.

One project is baked with every supported algorithm allowed; its ``auth.jws`` and
``auth.jwk`` modules are imported and fed the vectors of ``tests/vectors/wycheproof`` (a
copy kept in this repository with its license, see ``tests/vectors/README.md``): the
whole-JWS file through ``parse_jwk`` and ``verify_compact``, and the raw signature files
through ``verify_signature``.

Every ``valid`` vector must verify, every ``invalid`` one must be refused, and nothing
may raise anything but the layer's own ``InvalidToken``. ``acceptable`` goes either way.
Two rules of ours are stricter than the vectors and are applied (and counted) explicitly:

* HMAC is never accepted, so every HS256 vector (and every vector of an ``oct`` key)
  must be refused, ``valid`` or not.
* A key is held to the ``alg`` its JWK declares (RFC 7517 4.4, RFC 8725 3.1: one key,
  one algorithm). The RFC 7520 groups declare ``PS256`` for a key used with ``PS384``,
  and the unregistered ``ES521`` for a P-521 key, so those ``valid`` vectors must be
  refused too.

The whole-JWS file's base64 edge cases are HS256 tokens, refused for their algorithm
before any decoding; their payload segments are therefore also signed again with the
file's own ES256 key, and must verify exactly when they are canonical base64url.

Counts (checked, valid, invalid, acceptable, skipped) are printed per file (see -rA).
Set WYCHEPROOF_VECTORS to a directory holding the vector files to use another copy;
without the files there the tests are skipped, unless CI is set, when they fail.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from cookiecutter.main import cookiecutter
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from template_helpers import TEMPLATE_DIR, isolated_config

# The copy kept in this repository, so a clone needs nothing beside it.
SHIPPED_VECTORS_DIR = Path(__file__).resolve().parent / "vectors" / "wycheproof"
VECTORS_DIR = Path(os.environ.get("WYCHEPROOF_VECTORS", SHIPPED_VECTORS_DIR))

ALL_ALGORITHMS = "RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512,EdDSA"
ACCEPTED = frozenset(ALL_ALGORITHMS.split(","))
# A package name no other test bakes, so its modules never clash in sys.modules.
PROJECT_NAME = "Vector Check"
PACKAGE = "vector_check"

JWS_FILE = "json_web_signature_test.json"


@dataclass(frozen=True)
class SignatureFile:
    """A raw signature file: its JOSE algorithm and the group parameters that match it."""

    algorithm: str
    group_type: str
    parameters: dict[str, Any]
    key_type: type
    curve: str | None = None


SIGNATURE_FILES = {
    "ecdsa_secp256r1_sha256_p1363_test.json": SignatureFile(
        "ES256", "EcdsaP1363Verify", {"sha": "SHA-256"}, ec.EllipticCurvePublicKey, "secp256r1"
    ),
    "ecdsa_secp384r1_sha384_p1363_test.json": SignatureFile(
        "ES384", "EcdsaP1363Verify", {"sha": "SHA-384"}, ec.EllipticCurvePublicKey, "secp384r1"
    ),
    "ecdsa_secp521r1_sha512_p1363_test.json": SignatureFile(
        "ES512", "EcdsaP1363Verify", {"sha": "SHA-512"}, ec.EllipticCurvePublicKey, "secp521r1"
    ),
    "rsa_signature_2048_sha256_test.json": SignatureFile(
        "RS256", "RsassaPkcs1Verify", {"sha": "SHA-256"}, rsa.RSAPublicKey
    ),
    "rsa_signature_3072_sha256_test.json": SignatureFile(
        "RS256", "RsassaPkcs1Verify", {"sha": "SHA-256"}, rsa.RSAPublicKey
    ),
    "rsa_pss_2048_sha256_mgf1_32_test.json": SignatureFile(
        "PS256",
        "RsassaPssVerify",
        {"sha": "SHA-256", "mgf": "MGF1", "mgfSha": "SHA-256", "sLen": 32},
        rsa.RSAPublicKey,
    ),
    "ed25519_test.json": SignatureFile("EdDSA", "EddsaVerify", {}, ed25519.Ed25519PublicKey),
}
# Members of a private JWK that a public one must not carry.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth"})


# -- loading ----------------------------------------------------------------------------


def load_vectors(name: str) -> dict[str, Any]:
    path = VECTORS_DIR / name
    if not path.is_file():
        reason = f"Wycheproof vector file {path} not found (set WYCHEPROOF_VECTORS)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """The baked project's ``auth.jws``, ``auth.jwk`` and ``auth.errors`` modules."""
    out = tmp_path_factory.mktemp("wycheproof-bake")
    config = isolated_config(out)
    project = Path(
        cookiecutter(
            str(TEMPLATE_DIR),
            no_input=True,
            output_dir=str(out),
            config_file=str(config),
            extra_context={
                "project_name": PROJECT_NAME,
                "run_tests": False,
                "algorithms": ALL_ALGORITHMS,
            },
        )
    )
    src = project / "src"
    assert (src / PACKAGE / "auth" / "jws.py").is_file(), f"no {PACKAGE} package in {project}"
    sys.path.insert(0, str(src))
    try:
        modules = {
            name: importlib.import_module(f"{PACKAGE}.auth.{name}")
            for name in ("jws", "jwk", "errors")
        }
        for module in modules.values():
            assert Path(module.__file__).is_relative_to(src), f"{module} not from the bake"
        yield SimpleNamespace(**modules)
    finally:
        sys.path.remove(str(src))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


# -- reporting --------------------------------------------------------------------------


@dataclass
class Report:
    name: str
    counts: Counter[str] = field(default_factory=Counter)
    mismatches: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def record(self, test: dict[str, Any], expected: str, got: str, count: bool = True) -> None:
        """``expected`` is 'verified', 'refused' or 'either'; ``got`` what happened."""
        if count:
            self.counts["checked"] += 1
            self.counts[test["result"]] += 1
        if expected == "either" or got == expected:
            return
        self.mismatches.append(
            f"tcId {test['tcId']} ({test['comment'] or '-'}; flags {test.get('flags') or []}; "
            f"result {test['result']}): expected {expected}, got {got}"
        )

    def skip_group(self, group: dict[str, Any], why: str) -> None:
        self.counts["skipped groups"] += 1
        self.counts["skipped"] += len(group["tests"])
        self.notes.append(f"skipped {len(group['tests'])} tests of a group: {why}")

    def summary(self) -> str:
        order = ("checked", "valid", "invalid", "acceptable", "skipped", "skipped groups")
        extra = sorted(set(self.counts) - set(order))
        parts = [f"{key}={self.counts[key]}" for key in (*order, *extra)]
        return f"{self.name}: " + ", ".join(parts)

    def check(self) -> None:
        print(self.summary())
        for note in self.notes:
            print(f"  {note}")
        assert self.counts["checked"] > 0, f"{self.name}: no vector was checked"
        assert not self.mismatches, (
            f"{self.summary()}\n{len(self.mismatches)} mismatches:\n  "
            + "\n  ".join(self.mismatches)
        )


def outcome(call: Callable[[], Any], refusal: type[Exception]) -> tuple[str, Any]:
    """('verified', value), ('refused', None) or ('raised X: ...', None)."""
    try:
        return "verified", call()
    except refusal:
        return "refused", None
    except Exception as error:  # noqa: BLE001 - any other exception is the finding
        return f"raised {type(error).__name__}: {error}", None


def expected_for(result: str) -> str:
    return {"valid": "verified", "invalid": "refused", "acceptable": "either"}[result]


# -- whole JWS --------------------------------------------------------------------------


def lenient_b64(segment: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None


def lenient_header(token: str) -> dict[str, Any]:
    """The header as the vector's author meant it, for choosing the expectation only."""
    raw = lenient_b64(token.split(".")[0])
    try:
        header = json.loads(raw) if raw is not None else None
    except ValueError:
        return {}
    return header if isinstance(header, dict) else {}


def group_jwk(group: dict[str, Any]) -> dict[str, Any]:
    if "public" in group:
        return group["public"]
    return {k: v for k, v in group["private"].items() if k not in PRIVATE_MEMBERS}


def check_jws_file(layer: SimpleNamespace, data: dict[str, Any], report: Report) -> None:
    InvalidToken = layer.errors.InvalidToken
    for group in data["testGroups"]:
        if group.get("type") != "JsonWebSignature":
            report.skip_group(group, f"type {group.get('type')!r}")
            continue
        jwk = group_jwk(group)
        try:
            key = layer.jwk.parse_jwk(jwk, ACCEPTED)
        except layer.jwk.UnusableKey as reason:
            key = None
            report.counts["keys refused"] += 1
            report.notes.append(f"key {jwk.get('kty')}/{jwk.get('alg')} refused: {reason}")
        except Exception as error:  # noqa: BLE001
            key = None
            report.mismatches.append(
                f"group {group.get('comment')}: parse_jwk raised {type(error).__name__}: {error}"
            )

        def resolve(header: dict[str, Any], key: Any = key) -> Any:
            if key is None or header["alg"] not in key.algorithms:
                raise InvalidToken("no key fits")
            return key

        for test in group["tests"]:
            jws = test["jws"]
            expected = expected_for(test["result"])
            if not isinstance(jws, str) or jws.lstrip().startswith("{"):
                # JSON serialization: out of scope, so it must be refused.
                jws = jws if isinstance(jws, str) else json.dumps(jws)
                report.counts["json serialization"] += 1
                expected = "refused"
            else:
                alg = lenient_header(jws).get("alg")
                declared = jwk.get("alg")
                if jwk.get("kty") == "oct" or (isinstance(alg, str) and alg.startswith("HS")):
                    report.counts["hmac (all refused)"] += 1
                    expected = "refused"
                elif test["result"] == "valid" and declared is not None and declared != alg:
                    report.counts["declared alg mismatch"] += 1
                    report.notes.append(
                        f"tcId {test['tcId']}: key declares {declared}, token uses {alg}; "
                        "must be refused"
                    )
                    expected = "refused"
            got, value = outcome(
                lambda jws=jws, resolve=resolve: layer.jws.verify_compact(jws, resolve, ACCEPTED),
                InvalidToken,
            )
            if got == "verified":
                header, payload, used = value
                segments = jws.split(".")
                if used is not key or payload != lenient_b64(segments[1]):
                    got = "verified, but with the wrong key or payload"
                elif header.get("alg") not in ACCEPTED:
                    got = f"verified with alg {header.get('alg')!r}"
            report.record(test, expected, got)


def canonical_b64url(segment: str) -> bool:
    """RFC 7515 section 2: unpadded base64url, canonical (RFC 4648 3.5: unused bits zero)."""
    decoded = lenient_b64(segment)
    if decoded is None or not segment.isascii():
        return False
    return base64.urlsafe_b64encode(decoded).rstrip(b"=").decode("ascii") == segment


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def es256_signer(jwk: dict[str, Any]) -> Callable[[str], str]:
    """Signs a payload segment with a private ES256 JWK; returns the compact JWS."""
    scalar = int.from_bytes(lenient_b64(jwk["d"]) or b"", "big")
    private = ec.derive_private_key(scalar, ec.SECP256R1())
    header = {"alg": "ES256", "kid": jwk.get("kid")}
    header_segment = b64url(json.dumps(header, separators=(",", ":")).encode())

    def sign(payload_segment: str) -> str:
        signing_input = f"{header_segment}.{payload_segment}".encode()
        r, s = decode_dss_signature(private.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"{header_segment}.{payload_segment}.{b64url(signature)}"

    return sign


def check_payload_encodings(layer: SimpleNamespace, data: dict[str, Any], report: Report) -> None:
    """The base64 cases are HS256 tokens, refused for their algorithm before any decoding.

    To check the decoding itself, each case's payload segment is signed again with the
    file's ES256 key: a canonical segment must verify, any other must be refused.
    """
    private_jwk = next(
        (
            group["private"]
            for group in data["testGroups"]
            if group.get("private", {}).get("kty") == "EC"
            and group["private"].get("alg") == "ES256"
        ),
        None,
    )
    if private_jwk is None:
        report.mismatches.append("no ES256 private key in the file to carry base64 cases over")
        return
    sign = es256_signer(private_jwk)
    public_jwk = {k: v for k, v in private_jwk.items() if k not in PRIVATE_MEMBERS}
    key = layer.jwk.parse_jwk(public_jwk, ACCEPTED)
    for group in data["testGroups"]:
        if group.get("comment") != "base64":
            continue
        for test in group["tests"]:
            parts = test["jws"].split(".")
            if len(parts) != 3:
                continue
            token = sign(parts[1])
            expected = "verified" if canonical_b64url(parts[1]) else "refused"
            got, _ = outcome(
                lambda token=token: layer.jws.verify_compact(token, lambda _h: key, ACCEPTED),
                layer.errors.InvalidToken,
            )
            report.counts["base64 payloads re-signed with ES256"] += 1
            report.record(
                {**test, "comment": f"{test['comment']}, payload re-signed with ES256"},
                expected,
                got,
                count=False,
            )


# -- raw signatures ---------------------------------------------------------------------


def group_public_key(group: dict[str, Any]) -> Any:
    if "publicKeyDer" in group:
        return serialization.load_der_public_key(bytes.fromhex(group["publicKeyDer"]))
    return serialization.load_pem_public_key(group["publicKeyPem"].encode("ascii"))


def check_signature_file(
    layer: SimpleNamespace, name: str, data: dict[str, Any], report: Report
) -> None:
    spec = SIGNATURE_FILES[name]
    algorithm, group_type, curve = spec.algorithm, spec.group_type, spec.curve
    for group in data["testGroups"]:
        # Only groups with exactly the JOSE algorithm's parameters are in scope.
        if group.get("type") != group_type:
            report.skip_group(group, f"type {group.get('type')!r}, not {group_type}")
            continue
        wrong = {k: group.get(k) for k, v in spec.parameters.items() if group.get(k) != v}
        if wrong:
            report.skip_group(group, f"parameters {wrong} are not those of {algorithm}")
            continue
        try:
            key = group_public_key(group)
        except (ValueError, TypeError) as error:
            report.skip_group(group, f"cryptography cannot load its key: {error}")
            continue
        if not isinstance(key, spec.key_type) or (curve and key.curve.name != curve):
            report.skip_group(group, f"key {type(key).__name__} does not fit {algorithm}")
            continue
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
            report.skip_group(group, f"RSA key of {key.key_size} bits")
            continue
        for test in group["tests"]:
            message, signature = bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"])
            got, value = outcome(
                lambda k=key, m=message, s=signature: layer.jws.verify_signature(
                    k, algorithm, m, s
                ),
                layer.errors.InvalidToken,
            )
            if got == "verified":
                got = {True: "verified", False: "refused"}.get(value, f"returned {value!r}")
            elif got == "refused":
                got = "raised InvalidToken (should return False)"
            report.record(test, expected_for(test["result"]), got)


# -- tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [JWS_FILE, *SIGNATURE_FILES])
def test_wycheproof_vectors(layer: SimpleNamespace, name: str) -> None:
    data = load_vectors(name)
    report = Report(name)
    if name == JWS_FILE:
        check_jws_file(layer, data, report)
        check_payload_encodings(layer, data, report)
    else:
        check_signature_file(layer, name, data, report)
    report.check()


def test_vectors_ship_with_the_template() -> None:
    """Every file the tests read is in this repository, with the license it came under."""
    expected = {JWS_FILE, *SIGNATURE_FILES, "LICENSE"}
    assert expected <= {path.name for path in SHIPPED_VECTORS_DIR.iterdir()}
    assert "Apache License" in (SHIPPED_VECTORS_DIR / "LICENSE").read_text(encoding="utf-8")
    for name in (JWS_FILE, *SIGNATURE_FILES):
        assert json.loads((SHIPPED_VECTORS_DIR / name).read_text(encoding="utf-8"))["testGroups"]
    if "WYCHEPROOF_VECTORS" not in os.environ:
        assert VECTORS_DIR == SHIPPED_VECTORS_DIR


def test_layer_module_is_the_baked_one(layer: SimpleNamespace) -> None:
    """Guard against checking another copy of the package than the one just baked."""
    assert layer.jws.__name__ == f"{PACKAGE}.auth.jws"
    assert isinstance(layer.jws, ModuleType) and isinstance(layer.jwk, ModuleType)
    assert ACCEPTED <= layer.jws.ALGORITHMS
