"""Fixtures for the template's tests; the helpers live in template_helpers.py."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from template_helpers import (
    MATRIX,
    TEMPLATE_DIR,
    BakedProject,
    bake,
    isolated_config,
    run_isolated,
)


@pytest.fixture(scope="session", params=MATRIX)
def baked(request: pytest.FixtureRequest, cookies_session: Any) -> BakedProject:
    """One project per combination of the matrix, shared by the tests of that combination."""
    return bake(cookies_session, **request.param)


@pytest.fixture
def cli(tmp_path: Path):
    """Run the cookiecutter command on the template, isolated from the user's config."""
    config = isolated_config(tmp_path)
    output = tmp_path / "out"
    output.mkdir()

    def run(*args: str, env: dict[str, str] | None = None, template: Path = TEMPLATE_DIR):
        command = [sys.executable, "-m", "cookiecutter", str(template), *args]
        return run_isolated(command, output, config, env)

    run.output = output  # type: ignore[attr-defined]
    return run
