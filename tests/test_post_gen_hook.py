"""The post-generation hook: answers file, test run, strict switch, update-tool renders."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from template_helpers import TEMPLATE_DIR, default_context, load_hook

STEP_LINE = re.compile(r"^  .+ \.\.\. .+ \(\d+\.\d s\)$", re.MULTILINE)


@pytest.fixture(scope="module")
def hook(tmp_path_factory: pytest.TempPathFactory):
    return load_hook("post_gen_project", default_context(), tmp_path_factory.mktemp("hook"))


# --- answers file --------------------------------------------------------------------


def test_answers_document_is_public_sorted_and_stable(hook):
    context = {
        **default_context(),
        "_output_dir": "/home/someone/out",
        "_repo_dir": "/tmp/x",
        "_template_version": "9.9.9",
    }
    text = hook.answers_document(context)
    assert text.endswith("}\n")
    document = json.loads(text)
    answers = document["default_context"]
    assert document["template_version"] == "9.9.9"
    assert not [key for key in answers if key.startswith("_")]
    assert list(answers) == sorted(answers)
    assert answers["project_slug"] == "orders-api"
    other = {**context, "_output_dir": "/elsewhere", "_checkout": "main"}
    assert hook.answers_document(other) == text


def test_answers_file_is_a_cookiecutter_config(hook, tmp_path):
    from cookiecutter.config import get_config

    hook.write_answers(tmp_path, {**default_context(), "_template_version": "0.1.0"})
    config = get_config(tmp_path / hook.ANSWERS_FILE)
    assert config["default_context"]["protection_mode"] == "global"


def test_hook_records_the_template_version_of_cookiecutter_json(hook):
    assert hook.CONTEXT["_template_version"] == default_context()["_template_version"]


# --- when to run ---------------------------------------------------------------------


def test_cookiecutter_render_is_not_an_update(hook, tmp_path):
    context = {**default_context(), "_output_dir": str(tmp_path)}
    assert not hook.rendered_by_update_tool(context, tmp_path / "orders-api")


def test_cruft_create_in_a_user_directory_is_not_an_update(hook, tmp_path):
    context = {**default_context(), "_commit": "abc123"}
    del context["_template"]
    assert not hook.rendered_by_update_tool(context, tmp_path / "work" / "orders-api")


def test_cruft_render_in_a_fresh_temporary_directory_is_an_update(hook):
    context = {**default_context(), "_commit": "abc123"}
    with tempfile.TemporaryDirectory() as scratch:
        assert hook.rendered_by_update_tool(context, Path(scratch) / "orders-api")


@pytest.mark.parametrize(
    ("run_tests", "environ", "skipped"),
    [
        (True, {}, False),
        (False, {}, True),
        ("no", {}, True),
        (True, {"JWT_API_TEMPLATE_SKIP_TESTS": "1"}, True),
        (True, {"JWT_API_TEMPLATE_SKIP_TESTS": "0"}, False),
    ],
)
def test_skip_reason(hook, run_tests, environ, skipped):
    context = {**default_context(), "run_tests": run_tests}
    assert (hook.skip_reason(context, environ) is not None) == skipped


def test_requirement_names_from_pyproject(hook, tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["flask>=3", "PyJWT[crypto] >=2.8"]\n'
        '[project.optional-dependencies]\ntest = ["pytest>=8", "flask"]\n',
        encoding="utf-8",
    )
    assert hook.requirement_names(tmp_path) == ["flask", "PyJWT", "pytest"]
    assert hook.requirement_names(tmp_path / "missing") == list(hook.FALLBACK_REQUIREMENTS)


def test_main_without_tests_writes_answers_and_says_how_to_run_them(
    hook, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    code = hook.main({**default_context(), "run_tests": False}, {})
    assert code == 0
    assert (tmp_path / hook.ANSWERS_FILE).is_file()
    out = capsys.readouterr().out
    assert out.startswith("Tests not run (run_tests is no). Run them with: cd ")


def test_main_never_shows_a_traceback(hook, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(hook, "write_answers", lambda *_: 1 / 0)
    assert hook.main(default_context(), {}) == 0
    assert hook.main(default_context(), {"JWT_API_TEMPLATE_STRICT": "1"}) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert "ZeroDivisionError" in captured.out


# --- real generations through the cookiecutter command --------------------------------


def _tree_is_clean(project: Path) -> None:
    leftovers = [p for p in project.rglob("*") if p.name in ("__pycache__", ".pytest_cache")]
    assert leftovers == []


def test_default_generation_runs_the_tests_with_this_python(cli):
    result = cli("--no-input")
    assert result.returncode == 0, result.stdout + result.stderr
    project = cli.output / "orders-api"
    assert "all found" in result.stdout
    assert "All tests passed" in result.stdout
    assert len(STEP_LINE.findall(result.stdout)) >= 2, result.stdout
    assert (project / ".template-answers.json").is_file()
    assert not (project / ".venv").exists()
    _tree_is_clean(project)


def test_skip_switch(cli):
    result = cli("--no-input", env={"JWT_API_TEMPLATE_SKIP_TESTS": "1"})
    assert result.returncode == 0
    assert "Tests not run (JWT_API_TEMPLATE_SKIP_TESTS is set)" in result.stdout
    assert "running the tests" not in result.stdout


@pytest.fixture
def failing_template(tmp_path: Path) -> Path:
    """A copy of the template whose generated suite is one passing and one failing test."""
    copy = tmp_path / "template"
    shutil.copytree(
        TEMPLATE_DIR,
        copy,
        symlinks=False,
        ignore=shutil.ignore_patterns(".git", ".venv", "node_modules", "__pycache__", "tests"),
    )
    tests = copy / "{{cookiecutter.project_slug}}" / "tests"
    shutil.rmtree(tests, ignore_errors=True)
    tests.mkdir()
    (tests / "test_ok.py").write_text("def test_ok():\n    assert True\n", encoding="utf-8")
    (tests / "test_zz_broken.py").write_text(
        "def test_broken():\n    assert 1 + 1 == 3\n", encoding="utf-8"
    )
    return copy


def test_failing_tests_keep_the_project_and_say_how_to_rerun(cli, failing_template):
    result = cli("--no-input", template=failing_template)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Tests FAILED (1 failed, 1 passed)" in result.stdout
    assert "  FAILED tests/test_zz_broken.py::test_broken" in result.stdout
    rerun = next(line for line in result.stdout.splitlines() if line.startswith("Rerun them"))
    assert rerun.endswith("-m pytest tests/test_zz_broken.py::test_broken")
    assert (cli.output / "orders-api" / "src").is_dir()


def test_strict_switch_fails_the_generation(cli, failing_template):
    result = cli(
        "--no-input",
        "--keep-project-on-failure",
        template=failing_template,
        env={"JWT_API_TEMPLATE_STRICT": "1"},
    )
    assert result.returncode != 0
    assert "JWT_API_TEMPLATE_STRICT is set: failing the generation." in result.stderr
    assert (cli.output / "orders-api").is_dir()
    shutil.rmtree(cli.output / "orders-api")
    removed = cli("--no-input", template=failing_template, env={"JWT_API_TEMPLATE_STRICT": "1"})
    assert removed.returncode != 0
    assert not (cli.output / "orders-api").exists()


def _offline_env(tmp_path: Path, *, with_uv: bool) -> dict[str, str]:
    """No package index and an empty cache: an install can only fail."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if with_uv:
        os.symlink(uv, bin_dir / "uv")
    return {
        "PATH": os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"]),
        "JWT_API_TEMPLATE_TEST_ENV": "venv",
        "UV_OFFLINE": "1",
        "UV_NO_CONFIG": "1",
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": "",
        "PIP_CONFIG_FILE": os.devnull,
    }


@pytest.mark.parametrize(
    "with_uv", [True, pytest.param(False, marks=pytest.mark.slow)], ids=["uv", "pip"]
)
def test_no_network_and_no_deps_says_so_and_how_to_run_later(cli, tmp_path, with_uv):
    env = _offline_env(tmp_path, with_uv=with_uv)
    result_file = tmp_path / "result.json"
    result = cli("--no-input", env={**env, "JWT_API_TEMPLATE_RESULT_FILE": str(result_file)})
    assert result.returncode == 0, result.stdout + result.stderr
    tool = "uv" if with_uv else "venv + pip"
    assert f"creating .venv ({tool}) ... done" in result.stdout
    not_run = [line for line in result.stdout.splitlines() if line.startswith("Tests not run")]
    assert len(not_run) == 1
    assert "could not install the test dependencies" in not_run[0]
    assert "Run them later with: cd " in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    document = _result(result_file)
    assert (document["ok"], document["tests"]) == (False, "not run")
    assert document["detail"].startswith("could not install the test dependencies")
    strict = cli("--no-input", "-f", env={**env, "JWT_API_TEMPLATE_STRICT": "1"})
    assert strict.returncode != 0


@pytest.mark.slow
def test_bare_machine_path_installs_into_the_project_venv(cli):
    """The path taken where this Python lacks the dependencies (needs the package index)."""
    result = cli("--no-input", env={"JWT_API_TEMPLATE_TEST_ENV": "venv"})
    if "could not install the test dependencies" in result.stdout:
        pytest.skip("no package index reachable")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All tests passed" in result.stdout, result.stdout
    project = cli.output / "orders-api"
    assert (project / ".venv").is_dir()
    # What the README says this path leaves besides .venv: the editable install's record.
    assert sorted(path.name for path in (project / "src").iterdir()) == [
        "orders_api",
        "orders_api.egg-info",
    ]


# --- what a person and a tool learn after generation -----------------------------------

NEXT_STEP_LABELS = ("Project: ", "Run it:  ", "Read:    ")


def _next_steps(stdout: str) -> list[str]:
    lines = stdout.rstrip("\n").splitlines()[-3:]
    assert [line[: len(label)] for line, label in zip(lines, NEXT_STEP_LABELS, strict=True)] == [
        *NEXT_STEP_LABELS
    ], stdout
    return [line[len(label) :] for line, label in zip(lines, NEXT_STEP_LABELS, strict=True)]


def test_generation_ends_with_three_lines_of_next_steps(cli):
    result = cli("--no-input", env={"JWT_API_TEMPLATE_SKIP_TESTS": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    project = cli.output / "orders-api"
    where, run, read = _next_steps(result.stdout)
    assert Path(where) == project
    assert run.startswith(f"cd {shlex.quote(str(project))} && python3 -m venv .venv && ")
    assert run.endswith(" install -e . && .venv/bin/flask run")
    assert Path(read.split(" (")[0]) == project / "README.md"
    assert (project / "README.md").is_file()


def test_next_steps_use_the_venv_the_test_run_made(hook, tmp_path):
    project = tmp_path / "my project"
    lines = hook.next_steps(project, has_venv=True)
    assert len(lines) == 3
    assert lines[1] == f"Run it:  cd {shlex.quote(str(project))} && .venv/bin/flask run"
    opaque = hook.next_steps(project, has_venv=True, token_format="opaque")
    assert "OAUTH_INTROSPECTION_URI" in opaque[1] and "\n" not in "".join(opaque)


@pytest.mark.parametrize(
    ("issuer", "warned"),
    [
        ("https://login.example.com/oauth/v2/oauth-anonymous", True),
        ("https://example.org", True),
        ("https://idp.example/realms/a", True),
        ("https://login.example.com./", True),
        ("https://login.acme.com/oauth", False),
        ("https://example.com.acme.com/", False),
        ("https://notexample.com/", False),
        ("http://127.0.0.1:8765", False),
    ],
)
def test_issuer_warning_while_the_issuer_is_an_example(hook, issuer, warned):
    warning = hook.issuer_warning({**default_context(), "issuer": issuer})
    assert (warning is not None) == warned
    if warning:
        assert "\n" not in warning and issuer in warning and "OAUTH_ISSUER" in warning


def test_the_default_issuer_is_warned_about_in_one_line(cli):
    env = {"JWT_API_TEMPLATE_SKIP_TESTS": "1"}
    default = cli("--no-input", env=env)
    assert default.returncode == 0, default.stderr
    warnings = [line for line in default.stderr.splitlines() if line.startswith("Warning: ")]
    assert len(warnings) == 1, default.stderr
    assert "https://login.example.com/oauth/v2/oauth-anonymous" in warnings[0]
    real = cli("--no-input", "project_slug=real-api", "issuer=https://login.acme.com/", env=env)
    assert real.returncode == 0, real.stderr
    assert "Warning" not in real.stderr


def _result(path: Path) -> dict:
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["hook"] == "post_gen_project"
    assert not list(path.parent.glob("*.partial"))
    return document


def test_outcome_is_written_as_json_for_tools(cli, tmp_path, failing_template):
    result_file = tmp_path / "result.json"
    env = {"JWT_API_TEMPLATE_RESULT_FILE": str(result_file)}
    skipped = cli("--no-input", "run_tests=no", env=env)
    assert skipped.returncode == 0
    document = _result(result_file)
    assert document["ok"] is True
    assert (document["tests"], document["detail"]) == ("skipped", "run_tests is no")
    assert document["project"] == str(cli.output / "orders-api")
    assert document["warnings"] and "login.example.com" in document["warnings"][0]

    failed = cli("--no-input", "project_slug=failing", template=failing_template, env=env)
    assert failed.returncode == 0
    document = _result(result_file)
    assert document["ok"] is False
    assert (document["tests"], document["detail"]) == ("failed", "1 failed, 1 passed")
    assert document["failures"] == [
        "FAILED tests/test_zz_broken.py::test_broken - assert (1 + 1) == 3"
    ]
    assert [step["step"] for step in document["steps"]][-1] == "running the tests"
    assert all(step["seconds"] >= 0 for step in document["steps"])


def test_main_records_a_failure_of_its_own(hook, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(hook, "write_answers", lambda *_: 1 / 0)
    result_file = tmp_path / "result.json"
    assert hook.main(default_context(), {"JWT_API_TEMPLATE_RESULT_FILE": str(result_file)}) == 0
    document = _result(result_file)
    assert (document["ok"], document["tests"]) == (False, "error")
    assert "ZeroDivisionError" in document["detail"]
