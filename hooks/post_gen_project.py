"""Record the answers in the new project, then run its tests when asked to.

Cookiecutter renders this file with Jinja and runs it in the new project's directory.
The context enters only through `tojson` inside a raw triple-quoted string (`tojson`
escapes every single quote, so no answer can end that string early).

Environment switches (all optional):
  JWT_API_TEMPLATE_STRICT=1      a failing or impossible test run exits 1, so the command
                                 that generates the project fails (cookiecutter then
                                 removes the project unless --keep-project-on-failure).
  JWT_API_TEMPLATE_SKIP_TESTS=1  never run the tests (as run_tests=no does).
  JWT_API_TEMPLATE_TEST_ENV      auto (default): this Python when it has the test
                                 dependencies, else a new .venv; venv: always a new .venv;
                                 current: always this Python.
  JWT_API_TEMPLATE_RESULT_FILE   a file to write the outcome to as JSON, for tools (see
                                 `new_result`); the sentences printed are for people.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Keep the triple single quotes: tojson escapes ' but not the " of JSON strings.
# fmt: off
CONTEXT: dict[str, object] = json.loads(r'''{{ cookiecutter | tojson }}''')
# fmt: on

ANSWERS_FILE = ".template-answers.json"
STRICT_ENV = "JWT_API_TEMPLATE_STRICT"
SKIP_ENV = "JWT_API_TEMPLATE_SKIP_TESTS"
TEST_ENV_ENV = "JWT_API_TEMPLATE_TEST_ENV"
RESULT_ENV = "JWT_API_TEMPLATE_RESULT_FILE"
TRUE_WORDS = {"1", "true", "t", "yes", "y", "on"}
# Needed to run the generated tests when the project's pyproject.toml cannot be read.
FALLBACK_REQUIREMENTS = ("flask", "pyjwt", "cryptography", "pytest")
INSTALL_TIMEOUT = 600
TEST_TIMEOUT = 600
MAX_LISTED_FAILURES = 15
# Domains reserved for examples (RFC 2606): an issuer there is the placeholder default.
EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org", "example")


class StepFailed(Exception):
    """A step of the test run could not be done; the message says why in one line."""


# --- answers -------------------------------------------------------------------------


def public_answers(context: dict[str, object]) -> dict[str, object]:
    """The answers a user gave or accepted; private keys (`_...`) hold machine paths."""
    return {key: value for key, value in context.items() if not key.startswith("_")}


def answers_document(context: dict[str, object]) -> str:
    """The answers file: a cookiecutter config file, so it can regenerate the project.

    `default_context` is what `cookiecutter --config-file` reads; a question added to the
    template later takes its default instead of prompting. Same answers, same bytes.
    """
    document = {
        "default_context": public_answers(context),
        "template_version": context.get("_template_version", "unknown"),
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_answers(project: Path, context: dict[str, object]) -> None:
    with open(project / ANSWERS_FILE, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(answers_document(context))


# --- when to run ---------------------------------------------------------------------


def env_flag(name: str, environ: Mapping[str, str]) -> bool:
    return environ.get(name, "").strip().lower() in TRUE_WORDS


def truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in TRUE_WORDS
    return bool(value)


def rendered_by_update_tool(context: dict[str, object], project: Path) -> bool:
    """Is this a throwaway render made by cruft (update, diff) rather than a new project?

    cruft calls cookiecutter's `generate_files` itself: its context has `_commit` but
    none of the `_output_dir` that the cookiecutter command adds. For `cruft create`
    the project lands where the user asked; for update and diff it lands in a fresh
    `tempfile.TemporaryDirectory()` whose contents are moved or compared afterwards.
    """
    if "_commit" not in context or "_output_dir" in context:
        return False
    parent = project.resolve().parent
    temp_root = Path(tempfile.gettempdir()).resolve()
    return parent.parent == temp_root and parent.name.startswith("tmp")


def skip_reason(context: dict[str, object], environ: Mapping[str, str]) -> str | None:
    if not truthy(context.get("run_tests", True)):
        return "run_tests is no"
    if env_flag(SKIP_ENV, environ):
        return f"{SKIP_ENV} is set"
    return None


# --- steps ---------------------------------------------------------------------------


class Progress:
    """Prints one line per step with the step's time, flushed at once."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.steps: list[dict[str, Any]] = []  # {"step", "result", "seconds"}, for tools
        self._current = ""

    def step(self, text: str) -> float:
        print(f"  {text} ...", end="", flush=True)
        self._current = text
        return time.monotonic()

    def done(self, since: float, result: str = "done") -> None:
        seconds = time.monotonic() - since
        print(f" {result} ({seconds:.1f} s)", flush=True)
        self.steps.append({"step": self._current, "result": result, "seconds": seconds})

    def total(self) -> float:
        return time.monotonic() - self.started


def requirement_names(project: Path) -> list[str]:
    """Distribution names the tests need: the project's dependencies and `test` extra."""
    try:
        import tomllib

        data = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
        meta = data["project"]
        requirements = list(meta.get("dependencies", []))
        requirements += meta.get("optional-dependencies", {}).get("test", [])
    except Exception:  # noqa: BLE001 -- any problem: fall back to the known list
        return list(FALLBACK_REQUIREMENTS)
    names = []
    for requirement in requirements:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        if match and match.group(1) not in names:
            names.append(match.group(1))
    return names or list(FALLBACK_REQUIREMENTS)


def missing_distributions(names: list[str]) -> list[str]:
    missing = []
    for name in names:
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def venv_python(venv: Path) -> Path:
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def find_uv() -> list[str] | None:
    found = shutil.which("uv")
    return [found] if found else None


def run_quiet(command: list[str], cwd: Path, timeout: int) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise StepFailed(f"{shlex.join(command)} took longer than {timeout} s") from exc
    except OSError as exc:
        raise StepFailed(f"could not run {command[0]}: {exc.strerror or exc}") from exc


def last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


def make_venv(project: Path, progress: Progress) -> Path:
    """Create the project's .venv and install the project with its test extra."""
    venv = project / ".venv"
    python = venv_python(venv)
    uv = find_uv()
    tool = "uv" if uv else "venv + pip"
    since = progress.step(f"creating .venv ({tool})")
    if uv:
        command = [*uv, "venv", "--quiet", "--python", sys.executable, str(venv)]
    else:
        command = [sys.executable, "-m", "venv", str(venv)]
    result = run_quiet(command, project, INSTALL_TIMEOUT)
    if result.returncode != 0:
        progress.done(since, "failed")
        raise StepFailed(f"could not create .venv: {last_line(result.stderr + result.stdout)}")
    progress.done(since)

    since = progress.step("installing the project and its test extra")
    if uv:
        command = [*uv, "pip", "install", "--quiet", "--python", str(python), "-e", ".[test]"]
    else:
        command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        command += ["-e", ".[test]"]
    result = run_quiet(command, project, INSTALL_TIMEOUT)
    if result.returncode != 0:
        progress.done(since, "failed")
        raise StepFailed(
            "could not install the test dependencies (no network and none at hand?): "
            + last_line(result.stderr + result.stdout)
        )
    progress.done(since)
    return python


def choose_python(project: Path, progress: Progress, mode: str) -> tuple[str, bool]:
    """Return (python to run the tests with, whether it is the project's own .venv)."""
    if mode == "current":
        return sys.executable, False
    if mode != "venv":
        since = progress.step("looking for the test dependencies in this Python")
        missing = missing_distributions(requirement_names(project))
        if not missing:
            progress.done(since, "all found")
            return sys.executable, False
        progress.done(since, "missing " + ", ".join(missing))
    return str(make_venv(project, progress)), True


def parallel_args(python: str) -> list[str]:
    """``-n N`` for pytest-xdist when that Python has it and there is more than one core.

    The suite waits on servers and subprocesses for part of its time, so even two workers
    shorten the run; without xdist the tests run one after another, as ``pytest`` would.
    """
    cores = os.cpu_count() or 1
    if cores < 2:
        return []
    probe = [python, "-c", "import xdist"]
    if subprocess.run(probe, capture_output=True, check=False, timeout=60).returncode != 0:
        return []
    return ["-p", "xdist", "-n", str(min(cores, 4))]


SUMMARY_RE = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)")


def run_tests(python: str, project: Path, progress: Progress) -> tuple[bool, str, list[str]]:
    """Run the suite; return (passed, counts such as "2 failed, 10 passed", failing lines)."""
    since = progress.step("running the tests")
    command = [python, "-m", "pytest", "-rfE", "-p", "no:cacheprovider", *parallel_args(python)]
    # The generated suite needs no plugin: loading whatever the interpreter has installed
    # (cookiecutter's own environment may hold many) only costs start-up time.
    environ = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    try:
        result = subprocess.run(
            command, cwd=project, env=environ, capture_output=True, text=True,
            timeout=TEST_TIMEOUT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        progress.done(since, "timed out")
        raise StepFailed(f"the tests took longer than {TEST_TIMEOUT} s") from exc
    output = result.stdout + result.stderr
    counts = ", ".join(f"{n} {word}" for n, word in SUMMARY_RE.findall(last_line(result.stdout)))
    failures = [
        line.strip()
        for line in result.stdout.splitlines()
        if line.startswith(("FAILED ", "ERROR "))
    ]
    if result.returncode == 0:
        progress.done(since, counts or "passed")
        return True, counts, []
    if result.returncode == 5:
        progress.done(since, "no tests collected")
        return False, "no tests collected", failures
    progress.done(since, counts or f"failed (pytest exit {result.returncode})")
    if not failures:
        failures = [line for line in output.splitlines() if line.strip()][-10:]
    return False, counts, failures


def rerun_hint(project: Path, python: str, in_venv: bool, failures: list[str]) -> str:
    runner = str(venv_python(Path(".venv"))) if in_venv else python
    node_ids = [line.split()[1] for line in failures if line.startswith(("FAILED ", "ERROR "))]
    node_ids = [node for node in node_ids if "::" in node or node.endswith(".py")]
    command = [runner, "-m", "pytest"]
    if 0 < len(node_ids) <= MAX_LISTED_FAILURES:
        command += sorted(set(node_ids), key=node_ids.index)
    return f"cd {shlex.quote(str(project))} && {shlex.join(command)}"


def later_hint(project: Path) -> str:
    venv_py = shlex.quote(str(venv_python(Path(".venv"))))
    return (
        f"cd {shlex.quote(str(project))} && python3 -m venv .venv && "
        f"{venv_py} -m pip install -e '.[test]' && {venv_py} -m pytest"
    )


def new_result(project: Path) -> dict[str, Any]:
    """The outcome for tools, written to JWT_API_TEMPLATE_RESULT_FILE when it is set.

    hook      "post_gen_project" (the answer check writes "pre_gen_project" to the same
              file, so a file still saying that means this step never finished)
    ok        the tests passed, or were not wanted; what strict mode turns into the exit
              status
    tests     "passed", "failed", "not run" (wanted but impossible: no dependencies and
              no network), "skipped" (not wanted: run_tests=no, a switch, an update tool)
              or "error" (this step itself failed)
    detail    counts ("1 failed, 212 passed") or the reason, in a few words
    failures  the failing tests, as pytest names them
    steps     {"step", "result", "seconds"} for each step printed
    warnings  the warnings printed, one sentence each
    venv      whether the tests ran in the project's own .venv (made by this step)
    project   where the project is
    """
    return {
        "hook": "post_gen_project",
        "ok": False,
        "tests": "error",
        "detail": "",
        "failures": [],
        "steps": [],
        "warnings": [],
        "venv": False,
        "project": str(project),
    }


def write_result(document: dict[str, Any], environ: Mapping[str, str]) -> None:
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


def check_project(project: Path, environ: Mapping[str, str], result: dict[str, Any]) -> None:
    """Run the generated tests, report them, and record the outcome in `result`."""
    progress = Progress()
    result["steps"] = progress.steps
    mode = environ.get(TEST_ENV_ENV, "auto").strip().lower() or "auto"
    if mode not in ("auto", "venv", "current"):
        print(f"{TEST_ENV_ENV}={mode!r} is not one of auto, venv, current; using auto")
        mode = "auto"
    print(f"Running the tests of {project.name} (skip with run_tests=no):", flush=True)
    try:
        python, in_venv = choose_python(project, progress, mode)
        result["venv"] = in_venv
        passed, counts, failures = run_tests(python, project, progress)
    except StepFailed as exc:
        print(f"Tests not run: {exc}.")
        print(f"Run them later with: {later_hint(project)}")
        result.update(tests="not run", detail=str(exc))
        return
    result["detail"] = counts
    if passed:
        print(f"All tests passed ({progress.total():.1f} s in all).")
        result.update(ok=True, tests="passed")
        return
    result.update(tests="failed", failures=failures)
    print(f"Tests FAILED ({counts or 'see below'}):")
    for line in failures[:MAX_LISTED_FAILURES]:
        print(f"  {line}")
    if len(failures) > MAX_LISTED_FAILURES:
        print(f"  ... and {len(failures) - MAX_LISTED_FAILURES} more")
    print(f"Rerun them with: {rerun_hint(project, python, in_venv, failures)}")
    print(f"The project was kept; set {STRICT_ENV}=1 to make a failure fail generation.")


# --- after generation ----------------------------------------------------------------


def issuer_warning(context: dict[str, object]) -> str | None:
    """A warning while the issuer is still an example address, not a real server."""
    issuer = str(context.get("issuer", ""))
    try:
        host = (urlsplit(issuer).hostname or "").rstrip(".")
    except ValueError:
        return None
    if not any(host == domain or host.endswith("." + domain) for domain in EXAMPLE_DOMAINS):
        return None
    return (
        f"the issuer {issuer} is an example address, not your authorization server: "
        "set OAUTH_ISSUER before serving, or generate again with issuer=<your issuer URL>"
    )


def venv_script(name: str) -> str:
    if os.name == "nt":
        return str(Path(".venv") / "Scripts" / f"{name}.exe")
    return str(Path(".venv") / "bin" / name)


def next_steps(project: Path, has_venv: bool, token_format: object = "jwt") -> list[str]:
    """Three lines: where the project is, how to run it, where to read more."""
    run = f"cd {shlex.quote(str(project))} && "
    if not has_venv:
        run += f"python3 -m venv .venv && {shlex.quote(venv_script('pip'))} install -e . && "
    run += f"{shlex.quote(venv_script('flask'))} run"
    if token_format == "opaque":
        run += "  (after setting OAUTH_INTROSPECTION_URI and the client credentials)"
    return [
        f"Project: {project}",
        f"Run it:  {run}",
        f"Read:    {project / 'README.md'} (calling it, local development, settings)",
    ]


def main(context: dict[str, object] = CONTEXT, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    project = Path.cwd()
    result = new_result(project)
    quiet = False
    try:
        write_answers(project, context)
        quiet = rendered_by_update_tool(context, project)
        reason = "rendered by an update tool" if quiet else skip_reason(context, environ)
        if reason:
            result.update(ok=True, tests="skipped", detail=reason)
            if not quiet:
                print(f"Tests not run ({reason}). Run them with: {later_hint(project)}")
        else:
            check_project(project, environ, result)
        warning = None if quiet else issuer_warning(context)
        if warning:
            result["warnings"].append(warning)
            print(f"Warning: {warning}", file=sys.stderr, flush=True)
    except Exception as exc:  # noqa: BLE001 -- never show a traceback of ours
        print(f"The post-generation step failed: {exc!r}")
        result.update(ok=False, tests="error", detail=repr(exc))
    failing = not result["ok"] and env_flag(STRICT_ENV, environ)
    if not quiet and not failing:
        has_venv = bool(result.get("venv")) and result["tests"] in ("passed", "failed")
        lines = next_steps(project, has_venv, context.get("token_format"))
        print("\n".join(lines), flush=True)
    try:
        write_result(result, environ)
    except OSError as exc:
        print(f"Could not write {RESULT_ENV}={environ.get(RESULT_ENV)!r}: {exc}", file=sys.stderr)
        return 1
    if failing:
        print(f"{STRICT_ENV} is set: failing the generation.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
