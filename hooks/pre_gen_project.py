"""Check every answer before anything is rendered.

Cookiecutter renders this file with Jinja, then runs it. Answers enter only through
`tojson` inside raw triple-quoted strings and are decoded with `json.loads`, so quotes,
backslashes, newlines or template markers in an answer cannot change this code (`tojson`
escapes every single quote, so the raw string cannot be closed early).

All bad answers are reported at once, one line each, followed by a command to run
again. Exit status 1 makes cookiecutter stop and remove the project directory.

For tools: when JWT_API_TEMPLATE_RESULT_FILE names a file, the verdict is also written
there as JSON (see `result_document`), so no tool has to read the sentences above.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import keyword
import os
import re
import shlex
import shutil
import sys
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

# Keep the triple single quotes: tojson escapes ' but not the " of JSON strings.
# fmt: off
ANSWERS: dict[str, object] = {
    "project_name": json.loads(r'''{{ cookiecutter.project_name | tojson }}'''),
    "project_slug": json.loads(r'''{{ cookiecutter.project_slug | tojson }}'''),
    "package_name": json.loads(r'''{{ cookiecutter.package_name | tojson }}'''),
    "issuer": json.loads(r'''{{ cookiecutter.issuer | tojson }}'''),
    "audience": json.loads(r'''{{ cookiecutter.audience | tojson }}'''),
    "jwks_uri": json.loads(r'''{{ cookiecutter.jwks_uri | tojson }}'''),
    "protection_mode": json.loads(r'''{{ cookiecutter.protection_mode | tojson }}'''),
    "algorithms": json.loads(r'''{{ cookiecutter.algorithms | tojson }}'''),
    "required_scope": json.loads(r'''{{ cookiecutter.required_scope | tojson }}'''),
    "run_tests": json.loads(r'''{{ cookiecutter.run_tests | tojson }}'''),
}
# Asked only by template versions that have the opaque-token mode.
_TOKEN_FORMAT = json.loads(r'''{{ cookiecutter.token_format | default(none) | tojson }}''')
if _TOKEN_FORMAT is not None:
    ANSWERS["token_format"] = _TOKEN_FORMAT
_PROOF_OF_POSSESSION = json.loads(r'''{{ cookiecutter.proof_of_possession | default(none) | tojson }}''')
if _PROOF_OF_POSSESSION is not None:
    ANSWERS["proof_of_possession"] = _PROOF_OF_POSSESSION
TEMPLATE = json.loads(r'''{{ cookiecutter._template | default("") | tojson }}''')
OUTPUT_DIR = json.loads(r'''{{ cookiecutter._output_dir | default("") | tojson }}''')
CHECKOUT = json.loads(r'''{{ cookiecutter._checkout | default(none) | tojson }}''')
# fmt: on

RESULT_ENV = "JWT_API_TEMPLATE_RESULT_FILE"

PROTECTION_MODES = ("global", "decorator")
TOKEN_FORMATS = ("jwt", "opaque")
PROOFS_OF_POSSESSION = ("none", "dpop")
ALGORITHMS = (
    "RS256", "RS384", "RS512",
    "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512",
    "EdDSA",
)  # fmt: skip

# Import names the generated project or its tests depend on, or files at its root that
# a package of the same name would shadow.
RESERVED_PACKAGE_NAMES = frozenset(
    {
        "app", "blinker", "certifi", "cffi", "click", "conftest", "cryptography",
        "flask", "gunicorn", "idna", "iniconfig", "itsdangerous", "jinja2", "jwt",
        "markupsafe", "packaging", "pluggy", "pycparser", "pytest", "requests",
        "setup", "src", "tests", "urllib3", "werkzeug", "wsgi",
    }
)  # fmt: skip

SLUG_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
PACKAGE_RE = re.compile(r"[a-z][a-z0-9_]*")
# RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN_RE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
# Printable ASCII without space, quotes, backslash, backtick and angle brackets.
URL_CHARS_RE = re.compile(r"[\x21\x23-\x26\x28-\x3b\x3d\x3f-\x5b\x5d-\x5f\x61-\x7e]+")
HOSTNAME_RE = re.compile(
    r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.?"
)
BOOLEAN_WORDS = {"1", "true", "t", "yes", "y", "on", "0", "false", "f", "no", "n", "off"}

MAX_REPR = 60


def _has_control(value: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value)


def check_project_name(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "a non-empty name, e.g. Orders API"
    if _has_control(value) or '"' in value or "\\" in value or len(value) > 80:
        return "at most 80 characters, no control characters, double quotes or backslashes"
    if value != value.strip():
        return "a name without leading or trailing spaces"
    return None


def check_project_slug(value: object) -> str | None:
    if isinstance(value, str) and SLUG_RE.fullmatch(value) and len(value) <= 64:
        return None
    return (
        "lowercase letters, digits and single hyphens, starting with a letter and not "
        "ending with a hyphen, at most 64 characters, e.g. orders-api"
    )


def check_package_name(value: object) -> str | None:
    allowed = "a lowercase Python identifier (letters, digits, underscores; starts with a letter), e.g. orders_api"
    if not isinstance(value, str) or not PACKAGE_RE.fullmatch(value) or len(value) > 64:
        return allowed
    if keyword.iskeyword(value):
        return f"is a Python keyword; allowed: {allowed}"
    if value in sys.stdlib_module_names or value in RESERVED_PACKAGE_NAMES:
        return f"is taken by the standard library, a dependency or a root file; allowed: {allowed}"
    return None


def _url_problem(value: str, *, allow_query: bool) -> str | None:
    """Return what is wrong with `value` as an issuer or JWKS URL, or None.

    The generated project's `settings.url_problem` applies the same rule at startup
    (tests/url_cases.json holds the cases both must agree on). An issuer is an identifier
    that takes no query (RFC 8414 section 2), a JWKS URI may carry one.
    """
    if not value:
        return "is empty"
    if not URL_CHARS_RE.fullmatch(value):
        return "has spaces, quotes, backslashes, angle brackets or non-ASCII characters"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError for a bad port
    except ValueError as exc:
        return f"is malformed ({exc})"
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return "is not an absolute http(s) URL"
    if "@" in parts.netloc:
        return "has a user name or password"
    if "#" in value:
        return "has a fragment (#...)"
    if not allow_query and "?" in value:
        return "has a query (?...)"
    host = parts.hostname or ""
    loopback = _is_loopback(host)
    if not loopback and not HOSTNAME_RE.fullmatch(host):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return "has an invalid host"
    if parts.scheme == "http" and not loopback:
        return "is http:// on a host that is not loopback"
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address in ipaddress.ip_network("127.0.0.0/8")
    return address == ipaddress.IPv6Address("::1")


URL_RULE = (
    "an https:// URL (http:// only for localhost, 127.0.0.0/8 or [::1]) "
    "without user info{query} or fragment, e.g. https://login.example.com/"
)


def check_issuer(value: object) -> str | None:
    allowed = URL_RULE.format(query=", query")
    if not isinstance(value, str) or not value:
        return allowed
    problem = _url_problem(value, allow_query=False)
    return None if problem is None else f"{problem}; allowed: {allowed}"


def check_jwks_uri(value: object) -> str | None:
    allowed = "empty (discovery from the issuer) or " + URL_RULE.format(query="")
    if value == "":
        return None
    if not isinstance(value, str):
        return allowed
    problem = _url_problem(value, allow_query=True)
    return None if problem is None else f"{problem}; allowed: {allowed}"


def check_audience(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return "a non-empty value, e.g. api.example.com"
    if any(ch.isspace() for ch in value) or _has_control(value) or set("\"'`\\") & set(value):
        return "a value without spaces, control characters, quotes or backslashes"
    return None


def check_protection_mode(value: object) -> str | None:
    return None if value in PROTECTION_MODES else "one of " + ", ".join(PROTECTION_MODES)


def check_token_format(value: object) -> str | None:
    return None if value in TOKEN_FORMATS else "one of " + ", ".join(TOKEN_FORMATS)


def check_proof_of_possession(value: object) -> str | None:
    return None if value in PROOFS_OF_POSSESSION else "one of " + ", ".join(PROOFS_OF_POSSESSION)


def check_algorithms(value: object) -> str | None:
    allowed = "comma-separated, no spaces, no duplicates, each one of " + ", ".join(ALGORITHMS)
    if not isinstance(value, str) or not value:
        return allowed
    names = value.split(",")
    unknown = [name for name in names if name not in ALGORITHMS]
    if unknown:
        return f"{', '.join(repr(n) for n in unknown)} not supported; allowed: {allowed}"
    if len(set(names)) != len(names):
        return f"has duplicates; allowed: {allowed}"
    return None


def check_required_scope(value: object) -> str | None:
    if isinstance(value, str) and SCOPE_TOKEN_RE.fullmatch(value):
        return None
    return (
        'one OAuth scope token: printable ASCII without spaces, " or \\, e.g. read or orders:read'
    )


def check_run_tests(value: object) -> str | None:
    if isinstance(value, bool) or (isinstance(value, str) and value.lower() in BOOLEAN_WORDS):
        return None
    return "yes or no"


CHECKS: dict[str, Callable[[object], str | None]] = {
    "project_name": check_project_name,
    "project_slug": check_project_slug,
    "package_name": check_package_name,
    "issuer": check_issuer,
    "audience": check_audience,
    "jwks_uri": check_jwks_uri,
    "protection_mode": check_protection_mode,
    "algorithms": check_algorithms,
    "required_scope": check_required_scope,
    "run_tests": check_run_tests,
    "token_format": check_token_format,
    "proof_of_possession": check_proof_of_possession,
}


def short_repr(value: object, limit: int = MAX_REPR) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def find_problems(answers: dict[str, object]) -> list[tuple[str, object, str]]:
    """Return (key, value, what is allowed) for every bad answer, in prompt order."""
    problems = []
    for key, check in CHECKS.items():
        if key not in answers:
            continue
        allowed = check(answers[key])
        if allowed is not None:
            problems.append((key, answers[key], allowed))
    return problems


def cookiecutter_command(
    executable: str = sys.executable, environ: Mapping[str, str] = os.environ
) -> list[str]:
    """The cookiecutter running this hook, as the user can type it again.

    Cookiecutter runs its hooks with its own Python. The `cookiecutter` script that pip
    installs beside that Python is the one that ran (or an equivalent of it); the short
    name is enough when `cookiecutter` on PATH is that script, else its full path is
    given. Without such a script (`python -m cookiecutter`, the Python API) the module is
    run with that Python.
    """
    script = Path(executable).with_name("cookiecutter.exe" if os.name == "nt" else "cookiecutter")
    if not script.is_file():
        return [executable, "-m", "cookiecutter"]
    on_path = shutil.which("cookiecutter", path=environ.get("PATH", os.defpath))
    if on_path and Path(on_path).resolve() == script.resolve():
        return ["cookiecutter"]
    return [str(script)]


def rerun_command(
    answers: dict[str, object],
    bad: set[str],
    template: str,
    runner: list[str] | None = None,
    output_dir: str = "",
    checkout: str | None = None,
) -> str:
    """A command that repeats the good answers and marks the bad ones to fix."""
    args = [*(runner or ["cookiecutter"]), template or "<template>", "--no-input"]
    if checkout:
        args += ["--checkout", checkout]
    if output_dir:
        args += ["--output-dir", output_dir]
    for key, value in answers.items():
        if isinstance(value, bool):
            value = "yes" if value else "no"
        text = "<fix me>" if key in bad else str(value)
        args.append(f"{key}={text}")
    return shlex.join(args)


def explain(allowed: str) -> str:
    """A check's answer as one phrase that always says what is allowed."""
    return allowed if "allowed: " in allowed else f"allowed: {allowed}"


def report(
    problems: list[tuple[str, object, str]],
    answers: dict[str, object],
    template: str,
    runner: list[str] | None = None,
) -> str:
    count = len(problems)
    lines = [f"Cannot generate the project: {count} answer{'s' if count > 1 else ''} not allowed."]
    for key, value, allowed in problems:
        lines.append(f"  {key}={short_repr(value)}: {explain(allowed)}")
    lines.append("Nothing was generated. Run again with corrected answers, for example:")
    bad = {key for key, _, _ in problems}
    lines.append("  " + rerun_command(answers, bad, template, runner, OUTPUT_DIR, CHECKOUT))
    return "\n".join(lines)


def result_document(problems: list[tuple[str, object, str]]) -> dict[str, object]:
    """The verdict for tools: {"hook", "ok", "problems": [{"key", "value", "problem"}]}.

    Each problem's `value` is the answer as given; `problem` is the phrase the report
    shows after it (it always says what is allowed).
    """
    return {
        "hook": "pre_gen_project",
        "ok": not problems,
        "problems": [
            {"key": key, "value": value, "problem": explain(allowed)}
            for key, value, allowed in problems
        ],
    }


def write_result(document: dict[str, object], environ: Mapping[str, str] = os.environ) -> None:
    """Write `document` as JSON to the file named by JWT_API_TEMPLATE_RESULT_FILE, if set.

    Written beside the target, then renamed over it, so a reader never sees half a file.
    """
    target = environ.get(RESULT_ENV, "")
    if not target:
        return
    partial = f"{target}.partial"
    with open(partial, "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    os.replace(partial, target)


def main() -> int:
    try:
        problems = find_problems(ANSWERS)
        write_result(result_document(problems))
        if not problems:
            return 0
        print(report(problems, ANSWERS, TEMPLATE, cookiecutter_command()), file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 -- never show a traceback of ours
        print(f"Cannot generate the project: checking the answers failed: {exc!r}", file=sys.stderr)
        with contextlib.suppress(Exception):
            write_result({"hook": "pre_gen_project", "ok": False, "error": repr(exc)})
    return 1


if __name__ == "__main__":
    sys.exit(main())
