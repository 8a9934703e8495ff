"""Same answers, same tree; a project regenerates from its saved answers; cruft updates."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from template_helpers import TEMPLATE_DIR, BakedProject, bake

ANSWERS = {"project_name": "Billing API", "protection_mode": "decorator", "algorithms": "ES256"}


def _tree(project: BakedProject) -> dict[str, bytes]:
    return {str(path): (project.path / path).read_bytes() for path in project.files()}


def test_same_answers_give_byte_identical_trees(cookies):
    first = bake(cookies, **ANSWERS)
    second = bake(cookies, **ANSWERS)
    assert first.path != second.path
    assert _tree(first) == _tree(second)


def test_regenerates_from_saved_answers(cookies, cli):
    original = bake(cookies, **ANSWERS)
    answers_file = original.path / ".template-answers.json"
    result = cli("--no-input", "--config-file", str(answers_file))
    assert result.returncode == 0, result.stderr
    again = BakedProject(cli.output / original.path.name)
    assert _tree(again) == _tree(original)


def _git(cwd: Path, *args: str) -> str:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
    )
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def _cruft(cwd: Path, *args: str, env: dict[str, str] | None = None):
    command = [str(Path(sys.executable).with_name("cruft")), *args]
    return subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_cruft_create_update_keeps_user_edits_and_skips_tests(tmp_path):
    """cruft renders old and new template in temporary directories: no test runs there."""
    template = tmp_path / "template"
    shutil.copytree(
        TEMPLATE_DIR,
        template,
        ignore=shutil.ignore_patterns(".git", ".venv", "node_modules", "__pycache__", "tests"),
    )
    _git(template, "init", "-q", "-b", "main")
    _git(template, "add", "-A")
    _git(template, "commit", "-qm", "v1")

    work = tmp_path / "work"
    work.mkdir()
    created = _cruft(work, "create", "--no-input", str(template), "--extra-context",
                     json.dumps({"run_tests": True}))  # fmt: skip
    assert created.returncode == 0, created.stdout + created.stderr
    assert "Running the tests of orders-api" in created.stdout
    project = work / "orders-api"
    assert json.loads((project / ".template-answers.json").read_text())["template_version"]

    _git(project, "init", "-q", "-b", "main")
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nOur own note.\n")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "generated")

    added = template / "{{cookiecutter.project_slug}}" / "CONTRIBUTING.md"
    added.write_text("Contributions to {{ cookiecutter.project_name }} welcome.\n")
    _git(template, "add", "-A")
    _git(template, "commit", "-qm", "v2")

    checked = _cruft(project, "check")
    assert checked.returncode != 0  # out of date
    updated = _cruft(project, "update", "--skip-apply-ask", "--allow-untracked-files")
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "Running the tests" not in updated.stdout + updated.stderr
    assert (project / "CONTRIBUTING.md").read_text() == "Contributions to Orders API welcome.\n"
    assert "Our own note." in readme.read_text()
    assert _cruft(project, "check").returncode == 0
