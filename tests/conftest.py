"""Fixtures for the template's tests; the helpers live in template_helpers.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from template_helpers import (
    COMMAND_TIMEOUT,
    MATRIX,
    TEMPLATE_DIR,
    BakedProject,
    bake,
    cookiecutter_environ,
)


@pytest.fixture(scope="session", params=MATRIX)
def baked(request: pytest.FixtureRequest, cookies_session: Any) -> BakedProject:
    """One project per combination of the matrix, shared by the tests of that combination."""
    return bake(cookies_session, **request.param)


@pytest.fixture
def cli(tmp_path: Path):
    """Run the cookiecutter command on the template, isolated from the user's config."""
    config = tmp_path / "cookiecutter-config.yaml"
    config.write_text(
        f"cookiecutters_dir: {json.dumps(str(tmp_path / 'cookiecutters'))}\n"
        f"replay_dir: {json.dumps(str(tmp_path / 'replay'))}\n",
        encoding="utf-8",
    )
    output = tmp_path / "out"
    output.mkdir()

    def run(*args: str, env: dict[str, str] | None = None, template: Path = TEMPLATE_DIR):
        environ = cookiecutter_environ(config, env)
        return subprocess.run(
            [sys.executable, "-m", "cookiecutter", str(template), *args],
            cwd=output,
            env=environ,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )

    run.output = output  # type: ignore[attr-defined]
    return run
