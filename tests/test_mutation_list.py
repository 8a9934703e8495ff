"""The mutation list (mutation/*.toml) is valid and follows the generated code.

The full mutation check (``mutation/run.py``, run by ``.ci/run``) takes minutes; these
tests take seconds and catch what breaks it most often: a snippet that no longer occurs
exactly once after the code changed, a duplicate id, a module nobody mutates.
"""

from __future__ import annotations

import ast
import datetime
import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from template_helpers import TEMPLATE_DIR, BakedProject, bake

MUTATION_DIR = TEMPLATE_DIR / "mutation"

# The list keeps at least this many mutants (issue: 150 or more).
MINIMUM_MUTANTS = 150

# Modules that no mutant names yet, each as "<file>", or "<file> in <bakes>" for a file
# whose text differs between projects (one entry per version). The test below fails when
# one of them gets a mutant, so this set only shrinks.
NOT_YET_MUTATED: set[str] = set()


def load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutation_run", MUTATION_DIR / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


run = load_runner()


@functools.cache
def mutants() -> list[Any]:
    """The list as the check reads it; CheckFailed says what is wrong with it."""
    return run.load_mutants(MUTATION_DIR)


@pytest.fixture(scope="module")
def bakes(cookies_session: Any) -> dict[str, BakedProject]:
    """Every project the check runs on: the default three and any other a mutant names."""
    named = {name for mutant in mutants() for name in mutant.bakes}
    names = [name for name in run.BAKES if name in named or name in run.CHECKED_BAKES]
    return {name: bake(cookies_session, **run.BAKES[name]) for name in names}


def package(project: BakedProject) -> Path:
    return project.path / "src" / project.context["package_name"]


def test_the_list_is_valid_with_unique_ids() -> None:
    ids = [mutant.id for mutant in mutants()]
    assert len(ids) == len(set(ids))
    for mutant in mutants():
        assert mutant.rule.strip() and mutant.bakes and mutant.find != mutant.replace


def test_there_are_enough_mutants() -> None:
    assert len(mutants()) >= MINIMUM_MUTANTS


def test_every_snippet_occurs_exactly_once(bakes: dict[str, BakedProject]) -> None:
    problems = [
        problem
        for mutant in mutants()
        for name in mutant.bakes
        for problem in run.snippet_problems(mutant, name, package(bakes[name]))
    ]
    assert problems == []


def modules_with_code(project: BakedProject) -> dict[str, str]:
    """auth/*.py, settings.py and errors.py that define a function or class: path -> text."""
    root = package(project)
    paths = [*sorted((root / "auth").glob("*.py")), root / "settings.py", root / "errors.py"]
    found = {}
    for path in paths:
        text = path.read_text(encoding="utf-8")
        definitions = (ast.FunctionDef, ast.ClassDef)
        if any(isinstance(node, definitions) for node in ast.parse(text).body):
            found[str(path.relative_to(root))] = text
    return found


def test_every_module_is_named_by_a_mutant(bakes: dict[str, BakedProject]) -> None:
    """Each version of each module (it may differ between projects) has a mutant."""
    versions: dict[tuple[str, str], list[str]] = {}  # (file, text) -> bakes with that text
    for name in run.CHECKED_BAKES:
        for file, text in modules_with_code(bakes[name]).items():
            versions.setdefault((file, text), []).append(name)
    files = [file for file, _ in versions]
    unmutated = set()
    for (file, _), names in versions.items():
        if not any(mutant.file == file and set(mutant.bakes) & set(names) for mutant in mutants()):
            unmutated.add(file if files.count(file) == 1 else f"{file} in {'+'.join(names)}")
    assert unmutated - NOT_YET_MUTATED == set(), "modules no mutant names"
    assert NOT_YET_MUTATED - unmutated == set(), "now mutated: remove from NOT_YET_MUTATED"


# -- the runner's own rules ------------------------------------------------------------


def write_list(directory: Path, text: str) -> Path:
    directory.mkdir()
    (directory / "a.toml").write_text(text, encoding="utf-8")
    return directory


ENTRY = """
[[mutant]]
id = "{id}"
rule = "a rule"
file = "settings.py"
bakes = {bakes}
find = 'x'
replace = 'y'
security = {security}
"""


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            [{"id": "same", "bakes": '["global-jwt"]'}, {"id": "same", "bakes": '["global-jwt"]'}],
            "id already used",
        ),
        ([{"id": "a", "bakes": '["global-rust"]'}], "bakes must be distinct names"),
        ([{"id": "a", "bakes": "[]"}], "bakes must be distinct names"),
        ([{"id": "Not_Kebab", "bakes": '["global-jwt"]'}], "kebab-case"),
        ([{"id": "a", "bakes": '["global-jwt"]', "security": '"yes"'}], "'security' is missing"),
    ],
)
def test_an_invalid_list_is_refused(tmp_path: Path, entries: list[dict], message: str) -> None:
    text = "".join(ENTRY.format(**{"security": "true", **entry}) for entry in entries)
    with pytest.raises(run.CheckFailed, match=message):
        run.load_mutants(write_list(tmp_path / "list", text))


def test_an_entry_without_a_required_key_is_refused(tmp_path: Path) -> None:
    text = ENTRY.format(id="a", bakes='["global-jwt"]', security="true")
    text = text.replace('rule = "a rule"\n', "")
    with pytest.raises(run.CheckFailed, match="'rule' is missing"):
        run.load_mutants(write_list(tmp_path / "list", text))


def test_a_snippet_must_occur_once_and_still_compile(tmp_path: Path) -> None:
    (tmp_path / "auth").mkdir()
    (tmp_path / "auth" / "m.py").write_text("a = 1\nb = 1\nc = 2\n", encoding="utf-8")

    def problems(find: str, replace: str) -> list[str]:
        mutant = run.Mutant("m", "r", "auth/m.py", ("global-jwt",), find, replace, True, "")
        return run.snippet_problems(mutant, "global-jwt", tmp_path)

    assert problems("c = 2", "c = 3") == []
    assert problems("d = 4", "d = 5") == [
        "snippet of mutant m no longer matches auth/m.py in global-jwt"
    ]
    assert "matches 2 times" in problems("= 1", "= 0")[0]
    assert "breaks auth/m.py" in problems("c = 2", "c = (")[0]


def test_the_readme_block_is_rewritten_in_place(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        f"intro\n{run.README_START}\nold score\n{run.README_END}\nrest\n", encoding="utf-8"
    )
    results = [
        run.Result("a", "global-jwt", "settings.py", True, "r", "killed", 1.0, ""),
        run.Result("b", "global-jwt", "settings.py", False, "r", "survived", 1.0, ""),
        run.Result("a", "global-opaque", "settings.py", True, "r", "timeout", 1.0, ""),
    ]
    run.rewrite_readme(results, readme)
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("intro\n") and text.endswith(f"{run.README_END}\nrest\n")
    assert "old score" not in text and datetime.date.today().isoformat() in text
    assert "| `global-jwt` | 2 | 1 | 50 % | 1 of 1 |" in text
    assert "| `global-opaque` | 1 | 1 | 100 % | 1 of 1 |" in text
    assert "| **all** | 3 | 2 | 67 % | 2 of 2 |" in text
    assert "2 mutants, 3 runs" in text and "Surviving: `b` (global-jwt)." in text
