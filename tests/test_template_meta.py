"""The template repository keeps its pieces in step: versions, prompts, docs, CI script."""

from __future__ import annotations

import os
import re
import tomllib

from template_helpers import COOKIECUTTER_JSON, TEMPLATE_DIR

ROOT = TEMPLATE_DIR
PUBLIC_KEYS = [key for key in COOKIECUTTER_JSON if not key.startswith("_")]


def _read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def test_template_version_matches_pyproject_and_changelog():
    version = tomllib.loads(_read("pyproject.toml"))["project"]["version"]
    assert COOKIECUTTER_JSON["_template_version"] == version
    assert re.search(rf"^## {re.escape(version)}\b", _read("CHANGELOG.md"), re.MULTILINE)


def test_every_question_has_a_prompt():
    prompts = COOKIECUTTER_JSON["__prompts__"]
    assert [key for key in PUBLIC_KEYS if key not in prompts] == []
    for choice in COOKIECUTTER_JSON["protection_mode"]:
        assert choice in prompts["protection_mode"]


def test_readme_lists_every_question_and_switch():
    readme = _read("README.md")
    for key in PUBLIC_KEYS:
        assert f"| `{key}` |" in readme, key
    for name in (
        "JWT_API_TEMPLATE_STRICT",
        "JWT_API_TEMPLATE_SKIP_TESTS",
        "JWT_API_TEMPLATE_TEST_ENV",
        ".template-answers.json",
    ):
        assert name in readme, name
        assert name in _read("hooks/post_gen_project.py"), name


def test_readme_test_command_is_what_ci_runs():
    readme = _read("README.md")
    ci = _read(".ci/run")
    assert "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/pytest" in (
        readme
    )
    assert "-m venv .venv" in ci
    assert "pip install" in ci and "-e '.[test]'" in ci
    assert ".venv/bin/pytest" in ci


def test_ci_script_is_strict_bash_and_executable():
    path = ROOT / ".ci" / "run"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert os.access(path, os.X_OK)
