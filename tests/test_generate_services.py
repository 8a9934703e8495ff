"""generate_services.py: answer sets checked up front, real bakes, a summary table."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from template_helpers import TEMPLATE_DIR, isolated_config, run_isolated

SCRIPT = TEMPLATE_DIR / "generate_services.py"
# Left out of template copies: only at the top (the generated project has tests/ too).
TOP_LEVEL_SKIPPED = {".git", ".venv", "tests", "benchmarks", "docs"}
CACHES = shutil.ignore_patterns("node_modules", "__pycache__", ".*_cache", "*.egg-info")
# A one-test suite for the generated project: fails only for the service named Broken API.
TINY_SUITE = """\
def test_answers_file_written():
    import json, pathlib
    answers = json.loads(pathlib.Path(".template-answers.json").read_text())
    assert answers["default_context"]["project_name"] == "{{ cookiecutter.project_name }}"


def test_not_broken():
    assert "{{ cookiecutter.project_name }}" != "Broken API", "broken on purpose"
"""


def run_script(*args: str, cwd: Path, env: dict[str, str] | None = None, python_args=()):
    """Run generate_services.py as a user would, isolated from the user's cookiecutter config."""
    command = [sys.executable, *python_args, str(SCRIPT), *args]
    return run_isolated(command, cwd, isolated_config(cwd), env)


def table_rows(stdout: str) -> dict[str, list[str]]:
    """The summary table's rows by service, cells split on runs of two spaces or more."""
    lines = stdout.splitlines()
    header = ["service", "mode", "format", "tests", "seconds"]
    start = next(i for i, line in enumerate(lines) if line.split() == header)
    rows = {}
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        cells = [cell.strip() for cell in line.split("  ") if cell.strip()]
        rows[cells[0]] = cells
    return rows


def test_unknown_key_stops_the_run_before_anything_is_generated(tmp_path):
    answers = tmp_path / "services.json"
    answers.write_text(
        json.dumps(
            [
                {"project_name": "Orders API", "protection_mode": "global"},
                {"project_name": "Billing API", "protecton_mode": "decorator"},
            ]
        ),
        encoding="utf-8",
    )
    result = run_script(str(answers), "--output-dir", "out", "--no-tests", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Nothing was generated" in result.stderr
    assert "service 2 (Billing API): unknown key 'protecton_mode'" in result.stderr
    assert "did you mean 'protection_mode'?" in result.stderr
    assert "service 1" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_bad_answers_and_clashing_slugs_are_all_reported(tmp_path):
    (tmp_path / "out" / "taken-api").mkdir(parents=True)
    answers = tmp_path / "services.json"
    answers.write_text(
        json.dumps(
            {
                "services": [
                    {"project_name": "Orders API", "algorithms": "HS256"},
                    {"project_name": "Audit API", "protection_mode": "everything"},
                    {"project_name": "Orders API", "run_tests": False},
                    {"project_name": "Taken API"},
                    {"project_name": "Nested API", "audience": ["a", "b"]},
                    {"project_name": "Typo API", "protection_mode": "decorater"},
                    {"project_name": "Case API", "token_format": "JWT"},
                ]
            }
        ),
        encoding="utf-8",
    )
    result = run_script(str(answers), "-o", "out", cwd=tmp_path)
    assert result.returncode == 2
    errors = result.stderr
    assert "service 1 (Orders API): algorithms='HS256'" in errors  # the template's own check
    assert (
        "service 2 (Audit API): protection_mode='everything' is not one of global, decorator\n"
        in errors
    )
    assert "service 3 (Orders API): project_slug 'orders-api' is also service 1" in errors
    assert "service 4 (Taken API):" in errors and "already exists" in errors
    assert "service 5 (Nested API): audience: expected a string" in errors
    assert (
        "service 6 (Typo API): protection_mode='decorater' is not one of global, decorator; "
        "did you mean 'decorator'?"
    ) in errors
    assert "service 7 (Case API): token_format='JWT' is not one of jwt, opaque; " in errors
    assert "did you mean 'jwt'?" in errors
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["taken-api"]


@pytest.mark.parametrize("shape", ["list", "services"])
def test_unusable_files_are_reported(tmp_path, shape):
    answers = tmp_path / "services.json"
    data: object = [] if shape == "list" else {"service": [{"project_name": "A"}]}
    answers.write_text(json.dumps(data), encoding="utf-8")
    result = run_script(str(answers), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("Nothing was generated:")
    assert "expected a" in result.stderr


def test_yaml_without_pyyaml_says_what_to_install(tmp_path, monkeypatch):
    # cookiecutter itself needs PyYAML, so the script is loaded first, then yaml hidden.
    spec = importlib.util.spec_from_file_location("generate_services_under_test", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look it up there
    spec.loader.exec_module(module)
    answers = tmp_path / "services.yaml"
    answers.write_text("- project_name: Orders API\n", encoding="utf-8")
    assert module.load_answer_sets(answers) == [{"project_name": "Orders API"}]
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(module.InputError, match=r"needs PyYAML: pip install pyyaml"):
        module.load_answer_sets(answers)


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_two_services_from_one_file_give_two_projects_and_a_table(tmp_path, suffix):
    services = [
        {"project_name": "Orders API", "protection_mode": "global"},
        {"project_name": "Billing API", "protection_mode": "decorator", "algorithms": "ES256"},
    ]
    answers = tmp_path / f"services{suffix}"
    if suffix == ".json":
        answers.write_text(json.dumps(services), encoding="utf-8")
    else:
        yaml = pytest.importorskip("yaml")
        answers.write_text(yaml.safe_dump({"services": services}), encoding="utf-8")

    result = run_script(str(answers), "--output-dir", "out", "--no-tests", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "out"
    assert sorted(path.name for path in out.iterdir()) == ["billing-api", "orders-api"]
    saved = json.loads((out / "billing-api" / ".template-answers.json").read_text())
    assert saved["default_context"]["protection_mode"] == "decorator"
    assert saved["default_context"]["algorithms"] == "ES256"
    assert saved["default_context"]["run_tests"] is True  # --no-tests leaves answers alone
    assert "[1/2] orders-api (global, jwt)" in result.stdout
    assert "[2/2] billing-api (decorator, jwt)" in result.stdout
    rows = table_rows(result.stdout)
    assert set(rows) == {"orders-api", "billing-api"}
    assert rows["orders-api"][1:4] == [
        "global",
        "jwt",
        "not run (JWT_API_TEMPLATE_SKIP_TESTS is set)",
    ]
    assert rows["billing-api"][1:3] == ["decorator", "jwt"]
    float(rows["billing-api"][4])


def _ignore_in_copy(directory: str, names: list[str]) -> set[str]:
    ignored = set(CACHES(directory, names))
    if Path(directory) == TEMPLATE_DIR:
        ignored |= TOP_LEVEL_SKIPPED & set(names)
    return ignored


@pytest.fixture
def tiny_template(tmp_path: Path) -> Path:
    """A copy of the template whose generated suite is two quick tests."""
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE_DIR, template, ignore=_ignore_in_copy)
    tests = template / "{{cookiecutter.project_slug}}" / "tests"
    shutil.rmtree(tests)
    tests.mkdir()
    (tests / "test_tiny.py").write_text(TINY_SUITE, encoding="utf-8")
    return template


@pytest.mark.slow
def test_a_failing_service_is_reported_kept_and_fails_the_run(tmp_path, tiny_template):
    answers = tmp_path / "services.json"
    answers.write_text(
        json.dumps(
            [
                {"project_name": "Orders API"},
                {"project_name": "Broken API", "protection_mode": "decorator"},
                {"project_name": "Quiet API", "run_tests": False},
            ]
        ),
        encoding="utf-8",
    )
    result = run_script(str(answers), "-o", "out", "--template", str(tiny_template), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    rows = table_rows(result.stdout)
    assert rows["orders-api"][3] == "passed (2 passed)"
    assert rows["broken-api"][1:4] == ["decorator", "jwt", "failed (1 failed, 1 passed)"]
    assert rows["quiet-api"][3] == "not run (run_tests is no)"
    assert "1 of 3 failed: broken-api" in result.stdout
    # The failing project is kept, with the hook's report of the failing test shown.
    assert (tmp_path / "out" / "broken-api" / ".template-answers.json").is_file()
    assert "test_not_broken" in result.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "broken-api", "orders-api", "quiet-api",
    ]  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_checkout_of_a_local_template_uses_that_version(tmp_path, tiny_template):
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=tiny_template, check=True, capture_output=True,
        )  # fmt: skip

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-qm", "v1")
    git("tag", "v1")
    added = tiny_template / "{{cookiecutter.project_slug}}" / "CONTRIBUTING.md"
    added.write_text("New in v2.\n", encoding="utf-8")
    git("add", "-A")
    git("commit", "-qm", "v2")

    answers = tmp_path / "services.json"
    answers.write_text(json.dumps([{"project_name": "Orders API"}]), encoding="utf-8")
    args = (str(answers), "--template", str(tiny_template), "--no-tests")
    old = run_script(*args, "-o", "old", "--checkout", "v1", cwd=tmp_path)
    assert old.returncode == 0, old.stdout + old.stderr
    assert not (tmp_path / "old" / "orders-api" / "CONTRIBUTING.md").exists()
    new = run_script(*args, "-o", "new", cwd=tmp_path)
    assert new.returncode == 0, new.stdout + new.stderr
    assert (tmp_path / "new" / "orders-api" / "CONTRIBUTING.md").is_file()

    missing = run_script(*args, "-o", "none", "--checkout", "v9", cwd=tmp_path)
    assert missing.returncode == 2
    assert "cannot use the template" in missing.stderr
    assert not (tmp_path / "none").exists()


# A post-generation hook whose sentences say the opposite of its JSON result.
MISLEADING_HOOK = """\
import json, os, sys
print("Tests FAILED (9 failed):")
print("Tests not run: no network.")
print("All tests passed", file=sys.stderr)
with open(os.environ["JWT_API_TEMPLATE_RESULT_FILE"], "w", encoding="utf-8") as handle:
    json.dump({"hook": "post_gen_project", "ok": True, "tests": "passed", "detail": "3 passed"},
              handle)
"""


def test_the_outcome_is_read_from_the_hooks_json_not_their_sentences(tmp_path, tiny_template):
    (tiny_template / "hooks" / "post_gen_project.py").write_text(MISLEADING_HOOK, encoding="utf-8")
    answers = tmp_path / "services.json"
    answers.write_text(json.dumps([{"project_name": "Orders API"}]), encoding="utf-8")
    result = run_script(str(answers), "-o", "out", "--template", str(tiny_template), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert table_rows(result.stdout)["orders-api"][1:4] == ["global", "jwt", "passed (3 passed)"]


def test_a_hook_without_a_result_is_an_error_when_it_fails(tmp_path, tiny_template):
    hook = tiny_template / "hooks" / "post_gen_project.py"
    hook.write_text('print("All tests passed")\nraise SystemExit(1)\n', encoding="utf-8")
    answers = tmp_path / "services.json"
    answers.write_text(json.dumps([{"project_name": "Orders API"}]), encoding="utf-8")
    result = run_script(str(answers), "-o", "out", "--template", str(tiny_template), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert table_rows(result.stdout)["orders-api"][3].startswith("error")
