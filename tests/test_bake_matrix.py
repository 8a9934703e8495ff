"""Every protection mode with several algorithm sets: generates cleanly, passes its checks.

The `baked` fixture (conftest.py) makes one project per combination of the matrix.
"""

from __future__ import annotations

import json
import re
import sys

import pytest

from template_helpers import START_ENVIRONMENT, BakedProject

JINJA_MARKERS = re.compile(r"\{\{|\{%|\{#")

# Names that belong to one protection mode and must not appear in a project of the other:
# (pattern, where) with `where` a path prefix under the project ("" for everywhere;
# "{package}" is the package directory). A request filter for logging is fine in decorator
# mode, so `before_request` is looked for in the auth package only.
OTHER_MODE_NAMES = {
    # Both modes share @require_token and current_token; only global mode has a filter
    # and @public, only decorator mode wraps views.
    "global": [(r"\bwraps\b", "src/{package}/auth/")],
    "decorator": [
        (r"\bprotect_all_routes\b", ""),
        (r"@public\b", ""),
        (r"@requires\b", ""),
        (r"\bbefore_request\b", "src/{package}/auth/"),
    ],
}


def test_generates_the_project(baked: BakedProject):
    assert baked.path.name == baked.context["project_slug"]
    for name in ("pyproject.toml", "README.md", "wsgi.py", ".template-answers.json"):
        assert baked.has_file(name), name
    package = baked.path / "src" / baked.context["package_name"]
    assert (package / "__init__.py").is_file()


def test_answers_file_holds_the_answers(baked: BakedProject):
    saved = json.loads(baked.read(".template-answers.json"))["default_context"]
    for key, value in saved.items():
        assert baked.context[key] == value, key
    assert saved["algorithms"] == baked.context["algorithms"]


def test_no_unrendered_jinja(baked: BakedProject):
    leftovers = []
    for relative in baked.files():
        if JINJA_MARKERS.search(str(relative)):
            leftovers.append(f"{relative} (file name)")
        try:
            text = baked.read(str(relative))
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if JINJA_MARKERS.search(line):
                leftovers.append(f"{relative}:{number}: {line.strip()}")
    assert leftovers == []


def test_no_empty_or_stray_files(baked: BakedProject):
    """Conditional file names render to a directory path when their condition is false."""
    for relative in baked.files():
        assert relative.name.strip(), relative
        assert relative.name != "protection.py" or relative.parent.name == "auth"


def test_ruff_check(baked: BakedProject):
    result = baked.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."])
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format(baked: BakedProject):
    result = baked.run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."])
    assert result.returncode == 0, result.stdout + result.stderr


def test_other_mode_names_are_absent(baked: BakedProject):
    mode = baked.context["protection_mode"]
    package = baked.context["package_name"]
    rules = [(re.compile(p), where.format(package=package)) for p, where in OTHER_MODE_NAMES[mode]]
    found = []
    for relative in baked.files():
        try:
            text = baked.read(str(relative))
        except UnicodeDecodeError:
            continue
        found += [
            f"{relative}: {pattern.pattern}"
            for pattern, where in rules
            if relative.as_posix().startswith(where) and pattern.search(text)
        ]
    assert found == [], f"{mode} mode project mentions the other mode"


# Names that belong to one token format and must not appear in a project of the other.
OTHER_FORMAT_NAMES = {
    "jwt": [r"\bintrospect", r"\bIntrospectionValidator\b", r"OAUTH_CLIENT_SECRET"],
    "opaque": [r"\bjwks\b", r"\bKeySetCache\b", r"\bverify_compact\b", r"\bSigningKey\b"],
}


def test_other_format_names_are_absent(baked: BakedProject):
    token_format = baked.context["token_format"]
    patterns = [re.compile(p, re.IGNORECASE) for p in OTHER_FORMAT_NAMES[token_format]]
    found = []
    for relative in baked.files():
        if relative.name in (".template-answers.json", "CHANGELOG.md"):
            continue  # the answers name every question, the jwks_uri one included
        try:
            text = baked.read(str(relative))
        except UnicodeDecodeError:
            continue
        found += [f"{relative}: {p.pattern}" for p in patterns if p.search(text)]
    assert found == [], f"{token_format} project mentions the other format"


def test_dpop_code_only_when_asked(baked: BakedProject):
    """DPoP modules and settings are in a project only for ``dpop``; the Redis client also
    for ``opaque``."""
    dpop = baked.context.get("proof_of_possession") == "dpop"
    package = f"src/{baked.context['package_name']}"
    assert baked.has_file(f"{package}/auth/dpop.py") is dpop
    assert baked.has_file(f"{package}/auth/replay_cache.py") is dpop
    assert baked.has_file("tests/test_dpop.py") is dpop
    # Redis: the replay cache (dpop) and the shared introspection answers (opaque).
    shared = dpop or baked.context["token_format"] == "opaque"
    assert baked.has_file(f"{package}/auth/redis_store.py") is shared
    assert baked.has_file("tests/redis_server.py") is shared
    assert ('"redis' in baked.read("pyproject.toml")) is shared
    if dpop:
        return
    mentions = []
    for relative in baked.files():
        if relative.parts[0] == "tests" or relative.name == ".template-answers.json":
            continue  # tests may name DPoP tokens to refuse; the answers name every question
        try:
            text = baked.read(str(relative))
        except UnicodeDecodeError:
            continue
        if re.search(r"dpop|replay_cache", text, re.IGNORECASE):
            mentions.append(str(relative))
    assert mentions == []


# Code of the other format that could hide in a shared module: JWT projects never post a
# form (introspection does), opaque projects never make conditional requests (key sets do).
DEAD_CODE_OF_OTHER_FORMAT = {
    "jwt": [r"\bpost_form\b", r"\burlencode\b"],
    "opaque": [r"If-None-Match", r"\bETag\b", r"\b_max_age\b", r"\betag\b"],
}


def test_no_code_of_the_other_format(baked: BakedProject):
    token_format = baked.context["token_format"]
    patterns = [re.compile(p) for p in DEAD_CODE_OF_OTHER_FORMAT[token_format]]
    package = f"src/{baked.context['package_name']}/"
    found = []
    for relative in baked.files():
        if relative.as_posix().startswith(package) and relative.suffix == ".py":
            text = baked.read(str(relative))
            found += [f"{relative}: {p.pattern}" for p in patterns if p.search(text)]
    assert found == [], f"{token_format} project carries code of the other format"


def test_table_covers_every_format():
    from template_helpers import TOKEN_FORMATS

    assert set(OTHER_FORMAT_NAMES) == set(TOKEN_FORMATS)


def test_table_covers_every_mode():
    from template_helpers import PROTECTION_MODES

    assert set(OTHER_MODE_NAMES) == set(PROTECTION_MODES)


def test_generated_suite_passes(baked: BakedProject):
    result = baked.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"])
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    assert passed >= 25, summary


@pytest.mark.parametrize("module", ["wsgi"])
def test_app_imports_and_serves_health(baked: BakedProject, module):
    code = (
        f"import {module}; c = {module}.app.test_client(); r = c.get('/health');"
        "print(r.status_code, r.get_json())"
    )
    env = {"PYTHONPATH": "src", **START_ENVIRONMENT[baked.context["token_format"]]}
    result = baked.run([sys.executable, "-c", code], env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "200 {'status': 'ok'}"
