#!/usr/bin/env python3
"""How long `cookiecutter --no-input` takes, the generated tests included.

Scenarios (each run generates the default project into a fresh directory, with the
post-generation step running the project's tests, as a user's first command does):

  at-hand   this Python, which has cookiecutter and every dependency of the generated
            project: the hook runs the tests with it (target: under 10 s);
  bare-uv   a fresh venv with only cookiecutter, `uv` on PATH: the hook creates the
            project's .venv with uv and installs into it (target: under 60 s);
  bare-pip  the same venv, no `uv` on PATH: `python -m venv` and pip (target: under 60 s).

The bare scenarios start each run with empty pip and uv caches (as on a new machine;
`--warm-cache` keeps one cache across runs instead) and need the network. The venv with
only cookiecutter is made once, before timing. Each scenario runs `--runs` times (default
3); the table shows the median, min and max, and the median of each step the hook
reports (dependency look-up, .venv creation, install, tests); "other" is the rest:
cookiecutter's start-up, the answer checks and the rendering.

    python benchmarks/generation.py                       # all scenarios, 3 runs each
    python benchmarks/generation.py --runs 5 --scenarios at-hand
    python benchmarks/generation.py --write-readme        # also update benchmarks/README.md

Run it with a Python that has the template's test extra (`pip install -e '.[test]'`);
`uv` is taken from PATH, else from beside that Python, else from `--uv`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent.parent
README = Path(__file__).resolve().parent / "README.md"
RESULTS_START = "<!-- generation:start -->"
RESULTS_END = "<!-- generation:end -->"
TARGETS = {"at-hand": 10.0, "bare-uv": 60.0, "bare-pip": 60.0}
DESCRIPTIONS = {
    "at-hand": "dependencies at hand",
    "bare-uv": "bare machine, uv on PATH",
    "bare-pip": "bare machine, no uv",
}
PROJECT_DEPENDENCIES = ("flask", "pyjwt", "cryptography", "gunicorn", "pytest")
# The post-generation step writes its outcome, steps included, to this file as JSON.
RESULT_ENV = "JWT_API_TEMPLATE_RESULT_FILE"
STEP_NAMES = (
    ("looking for the test dependencies", "look-up"),
    ("creating .venv", "venv"),
    ("installing", "install"),
    ("running the tests", "tests"),
)
RUN_TIMEOUT = 900


@dataclass
class Run:
    seconds: float
    steps: dict[str, float]
    passed: bool
    note: str = ""


@dataclass
class Scenario:
    name: str
    runs: list[Run] = field(default_factory=list)
    skipped: str = ""
    tool: str = ""

    def median(self, values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def path_without_uv(path: str) -> str:
    """PATH with every directory holding a `uv` left out."""
    kept = [part for part in path.split(os.pathsep) if part and not shutil.which("uv", path=part)]
    return os.pathsep.join(kept)


def find_uv(given: str | None) -> str | None:
    if given:
        return given if Path(given).is_file() else None
    found = shutil.which("uv")
    if found:
        return found
    beside = Path(sys.executable).with_name("uv.exe" if os.name == "nt" else "uv")
    return str(beside) if beside.is_file() else None


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def base_environment(config_dir: Path) -> dict[str, str]:
    """This process's environment without the template's switches, own cookiecutter config."""
    config = config_dir / "cookiecutter-config.yaml"
    config.write_text(
        f"cookiecutters_dir: {json.dumps(str(config_dir / 'cookiecutters'))}\n"
        f"replay_dir: {json.dumps(str(config_dir / 'replay'))}\n",
        encoding="utf-8",
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("JWT_API_TEMPLATE_")}
    environ.pop("VIRTUAL_ENV", None)
    environ["COOKIECUTTER_CONFIG"] = str(config)
    return environ


def step_seconds(steps: list[dict[str, object]]) -> dict[str, float]:
    """Seconds per step name, from the post-generation step's JSON result."""
    totals: dict[str, float] = {}
    for step in steps:
        for prefix, name in STEP_NAMES:
            if str(step.get("step", "")).startswith(prefix):
                totals[name] = totals.get(name, 0.0) + float(step.get("seconds", 0.0))
    return totals


def generate_once(python: Path, environ: dict[str, str], workdir: Path, template: Path) -> Run:
    out = Path(tempfile.mkdtemp(prefix="out-", dir=workdir))
    result_file = out.with_suffix(".json")
    command = [str(python), "-m", "cookiecutter", "--no-input", str(template), "-o", str(out)]
    started = time.perf_counter()
    result = subprocess.run(
        command,
        env={**environ, RESULT_ENV: str(result_file)},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    seconds = time.perf_counter() - started
    try:
        outcome = json.loads(result_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        outcome = {}
    result_file.unlink(missing_ok=True)
    passed = result.returncode == 0 and outcome.get("tests") == "passed"
    note = ""
    if not passed:
        note = str(outcome.get("detail") or "")
        lines = [line.strip() for line in (result.stdout + result.stderr).splitlines()]
        note = note or next((line for line in reversed(lines) if line), f"exit {result.returncode}")
        note = note[:160]
    shutil.rmtree(out, ignore_errors=True)
    return Run(seconds, step_seconds(outcome.get("steps", [])), passed, note)


def make_bare_venv(workdir: Path, environ: dict[str, str]) -> Path:
    """A venv with cookiecutter (and what it needs) only, made before any timing."""
    venv = workdir / "bare"
    log(f"making a venv with only cookiecutter in {venv} (not timed) ...")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=environ)
    python = venv_python(venv)
    version = metadata.version("cookiecutter")
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"cookiecutter=={version}"],
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    if installed.returncode != 0:
        raise SystemExit(f"could not install cookiecutter:\n{installed.stdout}{installed.stderr}")
    present = subprocess.run(
        [str(python), "-c", "import flask"], env=environ, capture_output=True, check=False
    )
    if present.returncode == 0:
        raise SystemExit("the bare venv can import flask: it is not bare")
    return python


def run_scenario(
    scenario: Scenario,
    runs: int,
    python: Path,
    environ: dict[str, str],
    workdir: Path,
    template: Path,
    warm_cache: bool,
) -> None:
    for number in range(1, runs + 1):
        env = dict(environ)
        if scenario.name != "at-hand":
            caches = workdir / ("cache" if warm_cache else f"cache-{scenario.name}-{number}")
            env["PIP_CACHE_DIR"] = str(caches / "pip")
            env["UV_CACHE_DIR"] = str(caches / "uv")
        run = generate_once(python, env, workdir, template)
        scenario.runs.append(run)
        steps = ", ".join(f"{name} {value:.1f}" for name, value in run.steps.items())
        state = "passed" if run.passed else f"NOT PASSED: {run.note}"
        log(f"  {scenario.name} run {number}/{runs}: {run.seconds:.1f} s ({steps}) {state}")


def table(scenarios: list[Scenario]) -> str:
    step_names = [name for _, name in STEP_NAMES]
    header = ["scenario", "runs", "median s", "min s", "max s", "target", "met", "other",
              *step_names]  # fmt: skip
    rows = [header]
    for scenario in scenarios:
        label = DESCRIPTIONS[scenario.name]
        if scenario.skipped:
            rows.append([label, "0", "-", "-", "-", f"< {TARGETS[scenario.name]:.0f} s",
                         f"skipped: {scenario.skipped}"] + [""] * (len(header) - 7))  # fmt: skip
            continue
        totals = [run.seconds for run in scenario.runs]
        median = statistics.median(totals)
        all_passed = all(run.passed for run in scenario.runs)
        met = ("yes" if median < TARGETS[scenario.name] else "no") if all_passed else "failed"
        step_medians = []
        others = []
        for run in scenario.runs:
            others.append(run.seconds - sum(run.steps.values()))
        for name in step_names:
            values = [run.steps[name] for run in scenario.runs if name in run.steps]
            step_medians.append(f"{statistics.median(values):.1f}" if values else "-")
        rows.append(
            [
                label,
                str(len(totals)),
                f"{median:.1f}",
                f"{min(totals):.1f}",
                f"{max(totals):.1f}",
                f"< {TARGETS[scenario.name]:.0f} s",
                met,
                f"{statistics.median(others):.1f}",
                *step_medians,
            ]
        )
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines.insert(1, "|" + "|".join(" --- " for _ in header) + "|")
    return "\n".join(lines)


def slowest_tests(count: int, environ: dict[str, str], workdir: Path, template: Path) -> str:
    """Where the generated suite spends its time: by file and by test, with this Python.

    One extra bake (run_tests=no), not timed; pytest's --durations for every phase.
    """
    out = workdir / "slowest"
    command = [sys.executable, "-m", "cookiecutter", "--no-input", str(template), "-o", str(out),
               "run_tests=no"]  # fmt: skip
    subprocess.run(command, env=environ, capture_output=True, check=True)
    project = next(out.iterdir())
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--durations=0",
         "--durations-min=0"],
        cwd=project, env=environ, capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    durations = re.findall(r"^(\d+\.\d+)s (setup|call|teardown)\s+(\S+)$", result.stdout, re.M)
    by_file: dict[str, float] = {}
    by_test: dict[str, float] = {}
    for seconds, _, node in durations:
        by_file[node.split("::")[0]] = by_file.get(node.split("::")[0], 0.0) + float(seconds)
        by_test[node] = by_test.get(node, 0.0) + float(seconds)
    summary = [line for line in result.stdout.splitlines() if line.strip()][-1:]
    lines = [
        f"Generated suite with this Python: {wall:.1f} s wall, "
        f"{sum(by_file.values()):.1f} s in tests ({' '.join(summary).strip('= ')}); "
        "the rest is start-up and collection (imports).",
        "",
        "| seconds | file |",
        "| --- | --- |",
    ]
    for name, seconds in sorted(by_file.items(), key=lambda item: -item[1])[:count]:
        lines.append(f"| {seconds:.1f} | `{name}` |")
    lines += ["", "| seconds | test (setup + call + teardown) |", "| --- | --- |"]
    for name, seconds in sorted(by_test.items(), key=lambda item: -item[1])[:count]:
        lines.append(f"| {seconds:.2f} | `{name}` |")
    return "\n".join(lines)


def write_readme(text_block: str) -> None:
    block = f"{RESULTS_START}\n{text_block}\n{RESULTS_END}"
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    if RESULTS_START in text and RESULTS_END in text:
        before, rest = text.split(RESULTS_START, 1)
        after = rest.split(RESULTS_END, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip() + ("\n\n" if text.strip() else "") + block + "\n"
    README.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per scenario (default 3)")
    parser.add_argument(
        "--scenarios", default="at-hand,bare-uv,bare-pip",
        help="comma-separated, from at-hand, bare-uv, bare-pip (default: all)",
    )  # fmt: skip
    parser.add_argument("--template", type=Path, default=TEMPLATE_DIR)
    parser.add_argument("--uv", help="the uv executable for bare-uv (default: found)")
    parser.add_argument(
        "--warm-cache", action="store_true",
        help="bare scenarios share one pip/uv cache (first run fills it)",
    )  # fmt: skip
    parser.add_argument(
        "--slowest", type=int, default=0, metavar="N",
        help="also list the N slowest tests of the generated suite (with this Python)",
    )  # fmt: skip
    parser.add_argument("--write-readme", action="store_true", help="update benchmarks/README.md")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = [name for name in names if name not in TARGETS]
    if unknown or args.runs < 1:
        parser.error(f"unknown scenarios {unknown}" if unknown else "--runs must be 1 or more")

    scenarios = []
    with tempfile.TemporaryDirectory(prefix="generation-bench-") as work:
        workdir = Path(work)
        environ = base_environment(workdir)
        uv = find_uv(args.uv)
        bare_python = None
        for name in names:
            scenario = Scenario(name)
            scenarios.append(scenario)
            env = dict(environ)
            if name == "at-hand":
                missing = []
                for dist in ("cookiecutter", *PROJECT_DEPENDENCIES):
                    try:
                        metadata.version(dist)
                    except metadata.PackageNotFoundError:
                        missing.append(dist)
                if missing:
                    scenario.skipped = f"this Python lacks {', '.join(missing)}"
                    continue
                python = Path(sys.executable)
            else:
                if name == "bare-uv" and not uv:
                    scenario.skipped = "no uv found (give --uv PATH)"
                    continue
                if bare_python is None:
                    bare_python = make_bare_venv(workdir, environ)
                python = bare_python
                env["PATH"] = path_without_uv(environ.get("PATH", ""))
                if name == "bare-uv":
                    env["PATH"] = str(Path(uv).parent) + os.pathsep + env["PATH"]
                    scenario.tool = uv
            log(f"{name}: {DESCRIPTIONS[name]}, {args.runs} runs ...")
            run_scenario(scenario, args.runs, python, env, workdir, args.template, args.warm_cache)
        slowest = (
            slowest_tests(args.slowest, environ, workdir, args.template) if args.slowest else ""
        )

    result = table(scenarios)
    command = "python benchmarks/generation.py " + " ".join(
        arg for arg in (argv if argv is not None else sys.argv[1:]) if arg != "--write-readme"
    )
    cache = "one shared pip/uv cache" if args.warm_cache else "empty pip/uv caches each run"
    stamp = (
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores "
        f"({platform.machine()}, Python {platform.python_version()}, bare runs with {cache}) "
        f"with `{command.strip()}`; seconds, medians:"
    )
    print(stamp)
    print()
    print(result)
    if slowest:
        print()
        print(slowest)
    if args.write_readme:
        write_readme(stamp + "\n\n" + result)
        log(f"results written to {README}")
    failed = any(not run.passed for scenario in scenarios for run in scenario.runs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
