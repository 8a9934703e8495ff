#!/usr/bin/env python3
"""Generate several services from this template, one answer set each, and test them.

    python generate_services.py services.yaml --output-dir ../services

The file lists answer sets, as JSON or YAML (YAML needs PyYAML):

    [{"project_name": "Orders API", "protection_mode": "global"},
     {"project_name": "Billing API", "protection_mode": "decorator"}]

or the same list under a `services` key. Keys are the questions of `cookiecutter.json`;
an unknown key (cookiecutter itself would silently ignore a misspelled one) stops the
run. Every answer set is checked first (keys, choices, the template's own answer checks,
clashing or existing project directories), and nothing is generated unless all pass.

Each service is then generated with cookiecutter's Python API, unattended, and its tests
run by the template's post-generation step (as `cookiecutter --no-input` does, in strict
mode so a failure is seen; a project whose tests fail is kept). The hooks report to this
script through their exit status and the JSON file named by JWT_API_TEMPLATE_RESULT_FILE
(see the hooks' `result_document` and `new_result`); their printed sentences are for
people only. A table closes the run: service, protection mode, token format, tests,
seconds. Exit status: 0 when every service was generated and its tests passed or were
not asked for, 1 when any failed, 2 for unusable input.

Needs only cookiecutter (and PyYAML for YAML files).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    from cookiecutter.config import get_user_config
    from cookiecutter.exceptions import CookiecutterException, FailedHookException
    from cookiecutter.generate import generate_context
    from cookiecutter.main import cookiecutter
    from cookiecutter.prompt import prompt_for_config
    from cookiecutter.repository import determine_repo_dir, is_repo_url
    from cookiecutter.utils import create_env_with_context
except ImportError:  # pragma: no cover - reported in main()
    cookiecutter = None  # type: ignore[assignment]

HERE = Path(__file__).resolve().parent
STRICT_ENV = "JWT_API_TEMPLATE_STRICT"
SKIP_ENV = "JWT_API_TEMPLATE_SKIP_TESTS"
RESULT_ENV = "JWT_API_TEMPLATE_RESULT_FILE"  # where the hooks write their JSON result
SCALARS = (str, bool, int, float)
HOOK_TIMEOUT = 120
MAX_REPR = 60


class InputError(Exception):
    """The answers file or the template cannot be used; nothing was generated."""


@dataclass
class Service:
    """One answer set, as given, and what the template makes of it."""

    number: int
    answers: dict[str, Any]
    context: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        name = self.answers.get("project_name")
        return f"service {self.number} ({name})" if name else f"service {self.number}"

    @property
    def slug(self) -> str:
        return str(self.context.get("project_slug") or f"service-{self.number}")

    @property
    def mode(self) -> str:
        return str(self.context.get("protection_mode", "?"))

    @property
    def token_format(self) -> str:
        return str(self.context.get("token_format", "?"))


@dataclass
class Outcome:
    service: str
    mode: str
    token_format: str
    tests: str  # passed, failed, not run, error
    detail: str
    seconds: float
    ok: bool


# --- reading the answers file ---------------------------------------------------------


def load_answer_sets(path: Path) -> list[dict[str, Any]]:
    """Read a JSON or YAML list of answer sets (or `{"services": [...]}`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        data = _load_yaml(text, path)
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            if path.suffix.lower() == ".json":
                raise InputError(f"{path} is not valid JSON: {exc}") from exc
            data = _load_yaml(text, path)
    if isinstance(data, dict):
        extra = sorted(set(data) - {"services"})
        if "services" not in data or extra:
            raise InputError(
                f'{path}: expected a list of answer sets or {{"services": [...]}}, '
                f"found keys {', '.join(map(repr, sorted(data)))}"
            )
        data = data["services"]
    if not isinstance(data, list) or not data:
        raise InputError(f"{path}: expected a non-empty list of answer sets")
    for number, entry in enumerate(data, 1):
        if not isinstance(entry, dict):
            raise InputError(
                f"{path}: service {number} is {type(entry).__name__}, expected a mapping "
                "of question to answer"
            )
    return data


def _load_yaml(text: str, path: Path) -> Any:
    try:
        import yaml
    except ImportError as exc:
        raise InputError(
            f"{path} is YAML, which needs PyYAML: pip install pyyaml (or use a .json file)"
        ) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{path} is not valid YAML: {exc}") from exc


# --- the template ---------------------------------------------------------------------


def local_template(template: str, checkout: str | None, workdir: Path) -> Path:
    """A directory holding the template, cloned into `workdir` when needed.

    cookiecutter ignores `checkout` for a local directory; a local git repository is
    therefore cloned (as `git+file://`) when a checkout is asked for.
    """
    config = get_user_config()
    if checkout and Path(template).is_dir() and not is_repo_url(template):
        template = "git+" + Path(template).resolve().as_uri()
    try:
        repo_dir, _ = determine_repo_dir(
            template=template,
            abbreviations=config["abbreviations"],
            clone_to_dir=workdir,
            checkout=checkout,
            no_input=True,
        )
    except (CookiecutterException, subprocess.CalledProcessError, OSError) as exc:
        where = f"{template} at {checkout}" if checkout else template
        raise InputError(f"cannot use the template {where}: {exc}") from exc
    return Path(repo_dir)


def template_questions(repo_dir: Path) -> dict[str, Any]:
    try:
        questions = json.loads((repo_dir / "cookiecutter.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read {repo_dir / 'cookiecutter.json'}: {exc}") from exc
    return {key: value for key, value in questions.items() if not key.startswith("_")}


# --- checking -------------------------------------------------------------------------


def check_keys(service: Service, questions: dict[str, Any]) -> None:
    for key, value in service.answers.items():
        if not isinstance(key, str) or key not in questions:
            hint = difflib.get_close_matches(str(key), list(questions), n=1)
            also = f"; did you mean {hint[0]!r}?" if hint else ""
            service.problems.append(
                f"unknown key {key!r}{also} (questions: {', '.join(questions)})"
            )
        elif not isinstance(value, SCALARS):
            service.problems.append(
                f"{key}: expected a string, number or yes/no, got {type(value).__name__}"
            )


def check_choices(service: Service, questions: dict[str, Any]) -> None:
    """A choice answer must be one of the question's choices; a near miss gets a hint."""
    for key, value in service.answers.items():
        choices = questions.get(key)
        if not isinstance(choices, list) or value in choices:
            continue
        named = [str(choice) for choice in choices]
        hint = difflib.get_close_matches(str(value), named, n=1) or [
            choice for choice in named if choice.lower() == str(value).lower()
        ]
        also = f"; did you mean {hint[0]!r}?" if hint else ""
        service.problems.append(f"{key}={value!r} is not one of {', '.join(named)}{also}")


def render_context(service: Service, repo_dir: Path, template: str) -> None:
    """The context cookiecutter would render with for these answers, unattended."""
    try:
        context = generate_context(
            context_file=str(repo_dir / "cookiecutter.json"),
            default_context=get_user_config()["default_context"],
            extra_context=service.answers,
        )
        rendered = dict(prompt_for_config(context, no_input=True))
    except Exception as exc:  # noqa: BLE001 -- cookiecutter raises several kinds
        service.problems.append(str(exc) or repr(exc))
        return
    rendered["_template"] = template
    service.context = rendered


def read_result(path: Path, hook: str) -> dict[str, Any] | None:
    """The JSON result `hook` wrote to `path`, or None when it wrote none."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("hook") != hook:
        return None
    return document


def short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= MAX_REPR else text[: MAX_REPR - 4] + "...'"


def run_answer_checks(service: Service, repo_dir: Path, workdir: Path) -> None:
    """Run the template's pre-generation hook on these answers, as cookiecutter would."""
    hook = repo_dir / "hooks" / "pre_gen_project.py"
    if not hook.is_file():
        return
    full_context = {"cookiecutter": service.context}
    try:
        env = create_env_with_context(full_context)
        source = env.from_string(hook.read_text(encoding="utf-8")).render(**full_context)
    except Exception as exc:  # noqa: BLE001 -- a template error, reported per service
        service.problems.append(f"the answer checks could not be prepared: {exc}")
        return
    script = workdir / f"pre_gen_{service.number}.py"
    script.write_text(source, encoding="utf-8")
    result_file = workdir / f"pre_gen_{service.number}.json"
    # The hook's sentences (and its advice to rerun cookiecutter) are not shown: the
    # problems come from its JSON result, in this script's own words.
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=workdir,
        env={**os.environ, RESULT_ENV: str(result_file)},
        capture_output=True,
        text=True,
        timeout=HOOK_TIMEOUT,
        check=False,
    )
    if result.returncode == 0:
        return
    document = read_result(result_file, "pre_gen_project") or {}
    problems = document.get("problems") or []
    service.problems.extend(
        f"{p.get('key')}={short_repr(p.get('value'))}: {p.get('problem')}" for p in problems
    )
    if not problems:
        # A template without JSON results, or a check that broke: show its last words.
        lines = [line.strip() for line in (result.stderr + result.stdout).splitlines()]
        error = document.get("error")
        service.problems.append(
            f"the answer checks failed: {error or next((x for x in reversed(lines) if x), '')}"
        )


def check_services(
    services: list[Service], repo_dir: Path, template: str, output_dir: Path, workdir: Path
) -> None:
    questions = template_questions(repo_dir)
    for service in services:
        check_keys(service, questions)
        if not service.problems:
            check_choices(service, questions)
        if service.problems:
            continue
        render_context(service, repo_dir, template)
        if not service.problems:
            run_answer_checks(service, repo_dir, workdir)
    seen: dict[str, Service] = {}
    for service in services:
        if not service.context:
            continue
        slug = service.slug
        if slug in seen:
            service.problems.append(
                f"project_slug {slug!r} is also {seen[slug].label}'s; give each service its own"
            )
        else:
            seen[slug] = service
        if (output_dir / slug).exists():
            service.problems.append(
                f"{output_dir / slug} already exists; remove it or choose another --output-dir"
            )


# --- generating -----------------------------------------------------------------------


def read_outcome(document: dict[str, Any] | None, hook_failed: bool) -> tuple[str, str, bool]:
    """(tests, detail, ok) from the post-generation step's JSON result."""
    if document is None:
        if hook_failed:
            return "error", "the template's hooks failed", False
        return "not run", "the template reported no test run", True
    tests = str(document.get("tests", "error"))
    detail = str(document.get("detail", ""))
    ok = document.get("ok") is True and not hook_failed
    if tests == "skipped":  # not wanted: run_tests=no, --no-tests
        return "not run", detail, ok
    if tests in ("passed", "failed", "not run"):
        return tests, detail, ok
    return "error", detail or "the post-generation step failed", False


def generate(
    service: Service, repo_dir: Path, output_dir: Path, run_tests: bool, workdir: Path
) -> Outcome:
    started = time.monotonic()
    result_file = workdir / f"post_gen_{service.number}.json"
    switches = {STRICT_ENV: "1", RESULT_ENV: str(result_file)}
    if not run_tests:
        switches[SKIP_ENV] = "1"
    saved = {name: os.environ.get(name) for name in switches}
    os.environ.update(switches)
    hook_failed = False
    error = ""
    try:
        cookiecutter(
            str(repo_dir),
            no_input=True,
            extra_context=service.answers,
            output_dir=str(output_dir),
            keep_project_on_failure=True,
        )
    except FailedHookException:
        hook_failed = True
    except (CookiecutterException, OSError) as exc:
        error = str(exc) or repr(exc)
    finally:
        sys.stdout.flush()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    seconds = time.monotonic() - started
    if error:
        return Outcome(
            service.slug, service.mode, service.token_format, "error", error, seconds, False
        )
    tests, detail, ok = read_outcome(read_result(result_file, "post_gen_project"), hook_failed)
    return Outcome(service.slug, service.mode, service.token_format, tests, detail, seconds, ok)


def table(outcomes: list[Outcome]) -> str:
    rows = [("service", "mode", "format", "tests", "seconds")]
    for outcome in outcomes:
        tests = f"{outcome.tests} ({outcome.detail})" if outcome.detail else outcome.tests
        seconds = f"{outcome.seconds:.1f}"
        rows.append((outcome.service, outcome.mode, outcome.token_format, tests, seconds))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[4].rjust(7)]).rstrip())
    lines.insert(1, "  ".join("-" * width for width in [*widths, 7]))
    return "\n".join(lines)


# --- command line ---------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Generate several services from one file of answer sets (JSON or YAML), "
        "run each one's tests, and print a summary table.",
    )
    parser.add_argument("answers", type=Path, help="JSON or YAML file: a list of answer sets")
    parser.add_argument(
        "-o", "--output-dir", type=Path, default=Path("."),
        help="where the projects are created (default: the current directory)",
    )  # fmt: skip
    parser.add_argument(
        "--template", default=str(HERE),
        help="template directory, git URL or abbreviation (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument("--checkout", help="branch, tag or commit of the template to use")
    parser.add_argument(
        "--no-tests", action="store_true",
        help="do not run the generated tests (the saved answers are unchanged)",
    )  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if cookiecutter is None:
        print("generate_services.py needs cookiecutter: pip install cookiecutter", file=sys.stderr)
        return 2
    output_dir = args.output_dir.resolve()
    with tempfile.TemporaryDirectory(prefix="generate-services-") as work:
        workdir = Path(work)
        try:
            sets = load_answer_sets(args.answers)
            repo_dir = local_template(args.template, args.checkout, workdir)
            services = [Service(number, answers) for number, answers in enumerate(sets, 1)]
            check_services(services, repo_dir, args.template, output_dir, workdir)
        except InputError as exc:
            print(f"Nothing was generated: {exc}", file=sys.stderr)
            return 2
        bad = [service for service in services if service.problems]
        if bad:
            count = sum(len(service.problems) for service in bad)
            print(
                f"Nothing was generated: {count} problem{'s' if count > 1 else ''} "
                f"in {args.answers}:",
                file=sys.stderr,
            )
            for service in bad:
                for problem in service.problems:
                    print(f"  {service.label}: {problem}", file=sys.stderr)
            return 2

        output_dir.mkdir(parents=True, exist_ok=True)
        total = len(services)
        tests_note = "tests not run (--no-tests)" if args.no_tests else "with their tests"
        print(f"Generating {total} service{'s' if total > 1 else ''} into {output_dir}, "
              f"{tests_note}", flush=True)  # fmt: skip
        outcomes = []
        for index, service in enumerate(services, 1):
            print(f"[{index}/{total}] {service.slug} ({service.mode}, {service.token_format}) ...",
                  flush=True)  # fmt: skip
            outcome = generate(service, repo_dir, output_dir, not args.no_tests, workdir)
            outcomes.append(outcome)
            detail = f" ({outcome.detail})" if outcome.detail else ""
            print(f"[{index}/{total}] {service.slug}: tests {outcome.tests}{detail}, "
                  f"{outcome.seconds:.1f} s", flush=True)  # fmt: skip

    print()
    print(table(outcomes))
    failed = [outcome for outcome in outcomes if not outcome.ok]
    if failed:
        print(f"\n{len(failed)} of {total} failed: {', '.join(o.service for o in failed)} "
              f"(projects kept in {output_dir})")  # fmt: skip
        return 1
    print(f"\nAll {total} generated in {output_dir}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
