"""Helpers for the template's tests: bake the template, load its hooks, run commands.

A module of its own (not conftest.py) so tests can import it by a unique name.

The bake matrix is derived from cookiecutter.json (its protection modes) so a new mode
is tested without touching this file; the algorithm sets are chosen to cover each key
type (RSA, RSA-PSS, EC, OKP) and lists of more than one.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config
from cookiecutter.utils import create_env_with_context

TEMPLATE_DIR = Path(os.environ.get("JWT_API_TEMPLATE_DIR", Path(__file__).parent.parent)).resolve()
HOOKS_DIR = TEMPLATE_DIR / "hooks"
COOKIECUTTER_JSON: dict[str, Any] = json.loads(
    (TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8")
)

PROTECTION_MODES: list[str] = list(COOKIECUTTER_JSON["protection_mode"])
TOKEN_FORMATS: list[str] = list(COOKIECUTTER_JSON["token_format"])
ALGORITHM_SETS = ("RS256", "ES256,EdDSA", "PS256,RS512,ES384")
# JWT projects with several algorithm sets; the other formats do not use algorithms.
MATRIX = [
    pytest.param(
        {"protection_mode": mode, "token_format": "jwt", "algorithms": algorithms},
        id=f"{mode}-{algorithms.replace(',', '+')}",
    )
    for mode, algorithms in itertools.product(PROTECTION_MODES, ALGORITHM_SETS)
] + [
    pytest.param(
        {"protection_mode": mode, "token_format": token_format}, id=f"{mode}-{token_format}"
    )
    for mode, token_format in itertools.product(PROTECTION_MODES, TOKEN_FORMATS)
    if token_format != "jwt"
]
# DPoP in each protection mode and each token format, not in every combination of them.
MATRIX += [
    pytest.param(
        {"protection_mode": mode, "token_format": token_format, "proof_of_possession": "dpop"},
        id=f"{mode}-{token_format}-dpop",
    )
    for mode, token_format in (("global", "jwt"), ("decorator", "opaque"))
]
# What a project needs in its environment to start, per token format.
START_ENVIRONMENT = {
    "jwt": {},
    "opaque": {
        "OAUTH_INTROSPECTION_URI": "http://127.0.0.1:9/introspect",
        "OAUTH_CLIENT_ID": "api",
        "OAUTH_CLIENT_SECRET": "secret",
    },
}

# Where generated code lives; caches and environments are not part of the tree.
IGNORED_PARTS = {".venv", "__pycache__", ".pytest_cache", ".ruff_cache"}
COMMAND_TIMEOUT = 300


def cookiecutter_environ(config: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a cookiecutter run: its own config file, none of our switches."""
    environ = dict(os.environ, COOKIECUTTER_CONFIG=str(config), PYTHONDONTWRITEBYTECODE="1")
    for name in list(environ):
        if name.startswith("JWT_API_TEMPLATE_"):
            del environ[name]
    environ.update(extra or {})
    return environ


def isolated_config(directory: Path) -> Path:
    """A cookiecutter config file keeping clones and replays in ``directory``, not in $HOME."""
    config = directory / "cookiecutter-config.yaml"
    config.write_text(
        f"cookiecutters_dir: {json.dumps(str(directory / 'cookiecutters'))}\n"
        f"replay_dir: {json.dumps(str(directory / 'replay'))}\n",
        encoding="utf-8",
    )
    return config


def run_isolated(
    command: list[str], cwd: Path, config: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` as a user would, with ``config`` as its cookiecutter config."""
    return subprocess.run(
        command,
        cwd=cwd,
        env=cookiecutter_environ(config, env),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


def default_context(**answers: Any) -> dict[str, Any]:
    """The `cookiecutter` context a no-input run with these answers would render with."""
    context = generate_context(
        context_file=str(TEMPLATE_DIR / "cookiecutter.json"), extra_context=answers
    )
    rendered = dict(prompt_for_config(context, no_input=True))
    rendered.setdefault("_template", str(TEMPLATE_DIR))
    return rendered


def render_hook(name: str, context: dict[str, Any]) -> str:
    """Render hooks/<name>.py exactly as cookiecutter does before running it."""
    full_context = {"cookiecutter": context}
    env = create_env_with_context(full_context)
    source = (HOOKS_DIR / f"{name}.py").read_text(encoding="utf-8")
    return env.from_string(source).render(**full_context)


def load_hook(name: str, context: dict[str, Any], directory: Path) -> ModuleType:
    """Render a hook with `context` and import it as a module (its main() not run)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}_{len(list(directory.iterdir()))}.py"
    path.write_text(render_hook(name, context), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class BakedProject:
    """A generated project on disk, with the answers it was made from."""

    path: Path
    context: dict[str, Any] = field(default_factory=dict)

    def has_file(self, relative: str) -> bool:
        return (self.path / relative).is_file()

    def read(self, relative: str) -> str:
        return (self.path / relative).read_text(encoding="utf-8")

    def files(self) -> list[Path]:
        """Relative paths of every generated file, sorted."""
        return sorted(
            path.relative_to(self.path)
            for path in self.path.rglob("*")
            if path.is_file() and not IGNORED_PARTS & set(path.relative_to(self.path).parts)
        )

    def run(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run a command in the project; output captured, no exception on failure."""
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        env.update(kwargs.pop("env", {}))
        return subprocess.run(
            command,
            cwd=self.path,
            env=env,
            capture_output=True,
            text=True,
            timeout=kwargs.pop("timeout", COMMAND_TIMEOUT),
            check=False,
            **kwargs,
        )


def bake(cookies: Any, **answers: Any) -> BakedProject:
    """Bake with pytest-cookies; the generated tests are not run by the hook."""
    answers.setdefault("run_tests", False)
    result = cookies.bake(extra_context=answers, template=str(TEMPLATE_DIR))
    assert result.exception is None, f"bake failed with {answers}: {result.exception!r}"
    assert result.exit_code == 0
    return BakedProject(result.project_path, dict(result.context))
