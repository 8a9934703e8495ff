"""The mutation check: does each generated test suite catch the bugs it is meant to catch?

Every ``mutation/*.toml`` file lists mutants: a file of the generated package, a snippet
that must occur in it exactly once, its replacement, and the rule the change breaks. This
script bakes each project named by a mutant once, checks that the unchanged suites pass,
then applies one mutant at a time to a copy of the project and runs its tests
(``pytest -x``). A failing run kills the mutant; a passing one means the suite let that
bug through. The check fails when a security mutant survives or a snippet no longer
matches the code, so the list has to follow the code.

Run from the template repository with a Python that has cookiecutter and the generated
projects' test dependencies (the template's test extra)::

    python mutation/run.py                 # everything; exit status 1 on failure
    python mutation/run.py --list          # the mutants, nothing run
    python mutation/run.py --only aud-substring --bake global-jwt
    python mutation/run.py --readme        # also rewrite the score block of README.md

Standard library and cookiecutter only.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

MUTATION_DIR = Path(__file__).resolve().parent
TEMPLATE_DIR = MUTATION_DIR.parent
README = TEMPLATE_DIR / "README.md"
README_START = "<!-- mutation-score:start -->"
README_END = "<!-- mutation-score:end -->"

#: Bake name -> the answers that make it (everything else is the template's default).
BAKES: dict[str, dict[str, str]] = {
    "global-jwt": {"protection_mode": "global", "token_format": "jwt"},
    "decorator-jwt": {"protection_mode": "decorator", "token_format": "jwt"},
    "global-opaque": {"protection_mode": "global", "token_format": "opaque"},
    "decorator-opaque": {"protection_mode": "decorator", "token_format": "opaque"},
    "global-jwt-dpop": {
        "protection_mode": "global",
        "token_format": "jwt",
        "proof_of_possession": "dpop",
    },
    "decorator-opaque-dpop": {
        "protection_mode": "decorator",
        "token_format": "opaque",
        "proof_of_possession": "dpop",
    },
}

#: The projects whose every module the list must mutate (see tests/test_mutation_list.py);
#: decorator-opaque is baked only when a mutant names it.
#: Width of the bake column, so the longest name lines up with the others.
BAKE_WIDTH = max(len(name) for name in BAKES)
CHECKED_BAKES = ("global-jwt", "decorator-jwt", "global-opaque")

REQUIRED_KEYS = {
    "id": str,
    "rule": str,
    "file": str,
    "bakes": list,
    "find": str,
    "replace": str,
    "security": bool,
}
ID_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
#: How long a suite cut short by the timeout may take to run its teardowns.
TEARDOWN_SECONDS = 20
PYTEST = ["-m", "pytest", "-x", "-q", "-rfE", "-p", "no:cacheprovider"]
KILLER = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)


class CheckFailed(Exception):
    """The check cannot go on; the message says why."""


@dataclass(frozen=True)
class Mutant:
    id: str
    rule: str
    file: str
    bakes: tuple[str, ...]
    find: str
    replace: str
    security: bool
    source: str  # the .toml file, for messages


@dataclass
class Result:
    id: str
    bake: str
    file: str
    security: bool
    rule: str
    outcome: str  # "killed", "timeout" (counted as killed) or "survived"
    seconds: float
    killed_by: str  # the first failing test, when pytest named one

    @property
    def killed(self) -> bool:
        return self.outcome != "survived"


# -- the mutation list -----------------------------------------------------------------


def load_mutants(directory: Path = MUTATION_DIR) -> list[Mutant]:
    """Every mutant of ``directory/*.toml``, checked; CheckFailed lists every problem."""
    problems: list[str] = []
    mutants: list[Mutant] = []
    seen: dict[str, str] = {}
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise CheckFailed(f"no mutation list (*.toml) in {directory}")
    for path in files:
        try:
            entries = tomllib.loads(path.read_text(encoding="utf-8")).get("mutant", [])
        except tomllib.TOMLDecodeError as error:
            problems.append(f"{path.name}: not valid TOML: {error}")
            continue
        for number, entry in enumerate(entries, 1):
            where = f"{path.name}, mutant {entry.get('id', f'#{number}')!r}"
            entry_problems = _entry_problems(entry)
            mutant_id = entry.get("id")
            if isinstance(mutant_id, str) and mutant_id in seen:
                entry_problems.append(f"id already used in {seen[mutant_id]}")
            if entry_problems:
                problems.extend(f"{where}: {problem}" for problem in entry_problems)
                continue
            seen[entry["id"]] = path.name
            mutants.append(Mutant(**{**entry, "bakes": tuple(entry["bakes"]), "source": path.name}))
    if problems:
        raise CheckFailed("invalid mutation list:\n  " + "\n  ".join(problems))
    return mutants


def _entry_problems(entry: dict[str, object]) -> list[str]:
    problems = [
        f"{key!r} is missing or not a {kind.__name__}"
        for key, kind in REQUIRED_KEYS.items()
        if not isinstance(entry.get(key), kind)
    ]
    problems += [f"unknown key {key!r}" for key in entry if key not in REQUIRED_KEYS]
    if problems:
        return problems
    if not ID_PATTERN.fullmatch(entry["id"]):
        problems.append("id must be kebab-case (a-z, 0-9, single hyphens)")
    bakes = entry["bakes"]
    if not bakes or len(set(bakes)) != len(bakes) or not set(bakes) <= set(BAKES):
        problems.append(f"bakes must be distinct names among {', '.join(BAKES)}")
    if not entry["file"].endswith(".py") or entry["file"].startswith(("/", "..")):
        problems.append("file must be a .py path relative to the package")
    if not entry["find"] or entry["find"] == entry["replace"]:
        problems.append("find must be non-empty and differ from replace")
    if not entry["rule"].strip():
        problems.append("rule must say which rule the mutant breaks")
    return problems


def snippet_problems(mutant: Mutant, bake: str, package: Path) -> list[str]:
    """Why ``mutant`` cannot be applied to the package of ``bake`` (empty: it can)."""
    path = package / mutant.file
    if not path.is_file():
        return [f"mutant {mutant.id}: {mutant.file} does not exist in {bake}"]
    text = path.read_text(encoding="utf-8")
    count = text.count(mutant.find)
    if count != 1:
        found = "no longer matches" if count == 0 else f"matches {count} times in"
        return [f"snippet of mutant {mutant.id} {found} {mutant.file} in {bake}"]
    try:
        compile(text.replace(mutant.find, mutant.replace), str(path), "exec")
    except SyntaxError as error:
        return [f"mutant {mutant.id}: the replacement breaks {mutant.file} ({error.msg})"]
    return []


# -- baking and running ----------------------------------------------------------------


@contextlib.contextmanager
def _stdout_silenced() -> Iterator[None]:
    """The post-generation hook prints lines per bake; keep the check's output readable.

    A failing bake still raises, and its exception is printed once the output is back.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        for descriptor, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, descriptor)
            os.close(copy)


def bake(name: str, directory: Path) -> Path:
    """Generate the project of bake ``name`` under ``directory``; return the project path."""
    from cookiecutter.main import cookiecutter  # imported here: --list works without it

    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "cookiecutter-config.yaml"
    config.write_text(
        f"cookiecutters_dir: {json.dumps(str(directory / 'cookiecutters'))}\n"
        f"replay_dir: {json.dumps(str(directory / 'replay'))}\n",
        encoding="utf-8",
    )
    with _stdout_silenced():
        project = cookiecutter(
            str(TEMPLATE_DIR),
            no_input=True,
            output_dir=str(directory / name),
            config_file=str(config),
            extra_context={**BAKES[name], "run_tests": False},
        )
    return Path(project)


def package_of(project: Path) -> Path:
    (package,) = (path.parent for path in (project / "src").glob("*/__init__.py"))
    return package


def suite_environment() -> dict[str, str]:
    """The caller's environment without what could change or slow the generated suite."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OAUTH_", "PYTEST_", "JWT_API_TEMPLATE_"))
        and name.lower() not in ("http_proxy", "https_proxy", "all_proxy", "pythonpath")
    }
    environ.update(PYTHONDONTWRITEBYTECODE="1", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    return environ


def run_suite(
    project: Path, test_files: list[str], timeout: float, extra: Iterable[str] = ()
) -> tuple[int | None, str]:
    """Run the project's tests; (exit status or None on timeout, output)."""
    process = subprocess.Popen(
        [sys.executable, *PYTEST, *extra, *test_files],
        cwd=project,
        env=suite_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a timeout ends the tests' own child processes too
    )
    try:
        output, _ = process.communicate(timeout=timeout)
        return process.returncode, output
    except subprocess.TimeoutExpired:
        pass
    # Ctrl-C first: pytest then runs its teardowns, which also stop the servers that tests
    # start in process groups of their own; whatever is left of the group is then killed.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=TEARDOWN_SECONDS)
    except subprocess.TimeoutExpired:
        output = None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    if output is None:
        output, _ = process.communicate()
    return None, output


def ordered_test_files(report: Path) -> list[str]:
    """The test files of an unchanged run's JUnit report, cheapest first."""
    cost: dict[str, float] = {}
    for case in ElementTree.parse(report).iter("testcase"):
        name = case.get("file", "")
        cost[name] = cost.get(name, 0.0) + float(case.get("time") or 0)
    if not cost or "" in cost:
        raise CheckFailed(f"{report.name} does not name the file of every test")
    return sorted(cost, key=lambda name: cost[name])


def stages(mutant: Mutant, bake: Bake) -> list[list[str]]:
    """The test files to run, in one or two pytest runs.

    The files named after the mutated module, or importing it, run first and on their
    own: most mutants die there, and a run that collects a few files starts faster than
    one that collects them all. The other files follow only when those pass.
    """
    module = re.compile(
        re.escape(f"{bake.package}.{mutant.file.removesuffix('.py').replace('/', '.')}") + r"\b"
    )
    stem = Path(mutant.file).stem
    related = [
        name
        for name in bake.test_files
        if stem in Path(name).stem or module.search(bake.test_texts[name])
    ]
    rest = [name for name in bake.test_files if name not in related]
    return [files for files in (related, rest) if files]


@dataclass
class Bake:
    name: str
    project: Path
    test_files: list[str]  # cheapest first
    seconds: float

    @property
    def package(self) -> str:
        return package_of(self.project).name

    @functools.cached_property
    def test_texts(self) -> dict[str, str]:
        return {name: (self.project / name).read_text("utf-8") for name in self.test_files}


class Workspaces:
    """One copy of each bake per worker, so workers never touch each other's files."""

    def __init__(self, root: Path, bakes: dict[str, Bake], workers: int) -> None:
        self._root = root
        self._bakes = bakes
        self._free: queue.Queue[int] = queue.Queue()
        for worker in range(workers):
            self._free.put(worker)

    @contextlib.contextmanager
    def project(self, bake: str) -> Iterator[Path]:
        worker = self._free.get()
        try:
            copy = self._root / f"worker-{worker}" / bake
            if not copy.exists():
                shutil.copytree(self._bakes[bake].project, copy)
            yield copy
        finally:
            self._free.put(worker)


def run_mutant(mutant: Mutant, bake: Bake, spaces: Workspaces, timeout: float) -> Result:
    with spaces.project(bake.name) as project:
        path = package_of(project) / mutant.file
        original = path.read_text(encoding="utf-8")
        before = set(os.listdir(project))
        started = time.monotonic()
        try:
            path.write_text(original.replace(mutant.find, mutant.replace, 1), encoding="utf-8")
            status, output = 0, ""
            for files in stages(mutant, bake):
                left = timeout - (time.monotonic() - started)
                status, output = run_suite(project, files, left) if left > 0 else (None, "")
                if status != 0:
                    break
        finally:
            path.write_text(original, encoding="utf-8")
            for name in set(os.listdir(project)) - before:  # e.g. a test tool's database
                leftover = project / name
                if leftover.is_dir():
                    shutil.rmtree(leftover)
                else:
                    leftover.unlink()
        seconds = time.monotonic() - started
    outcome = "timeout" if status is None else "survived" if status == 0 else "killed"
    killer = KILLER.search(output)
    return Result(
        mutant.id,
        bake.name,
        mutant.file,
        mutant.security,
        mutant.rule,
        outcome,
        seconds,
        killer.group(1) if killer else "",
    )


# -- the check -------------------------------------------------------------------------


def precheck(name: str, project: Path, root: Path) -> Bake:
    """Run the unchanged suite of a bake; CheckFailed when it does not pass."""
    report = root / f"{name}.junit.xml"
    started = time.monotonic()
    junit = ["--junitxml", str(report), "-o", "junit_family=xunit1"]  # xunit1 names files
    status, output = run_suite(project, [], timeout=600, extra=junit)
    seconds = time.monotonic() - started
    if status != 0:
        tail = "\n".join(output.splitlines()[-30:])
        raise CheckFailed(f"the unchanged {name} suite does not pass:\n{tail}")
    return Bake(name, project, ordered_test_files(report), seconds)


def run_check(
    mutants: list[Mutant], only_bakes: set[str] | None, workers: int, timeout: float | None
) -> tuple[list[Result], list[str]]:
    """Every (mutant, bake) pair; returns the results and the snippet problems."""
    pairs = [
        (mutant, name)
        for mutant in mutants
        for name in mutant.bakes
        if only_bakes is None or name in only_bakes
    ]
    names = [name for name in BAKES if any(name == bake for _, bake in pairs)]
    if not pairs:
        raise CheckFailed("no mutant to run")
    with tempfile.TemporaryDirectory(prefix="mutation-") as temporary:
        root = Path(temporary)
        projects = {name: bake(name, root / "pristine") for name in names}
        problems = [
            problem
            for mutant, name in pairs
            for problem in snippet_problems(mutant, name, package_of(projects[name]))
        ]
        if problems:
            return [], problems
        with ThreadPoolExecutor(max_workers=workers) as pool:
            checked = list(pool.map(lambda name: precheck(name, projects[name], root), names))
        bakes = {item.name: item for item in checked}
        for item in checked:
            print(
                f"unchanged suite passes: {item.name:<{BAKE_WIDTH}} {item.seconds:6.1f}s",
                flush=True,
            )
        limit = timeout or max(60.0, 4 * max(item.seconds for item in bakes.values()))
        spaces = Workspaces(root, bakes, workers)
        done = iter(range(1, len(pairs) + 1))
        lock = threading.Lock()
        width = max(len(mutant.id) for mutant, _ in pairs)

        def one(pair: tuple[Mutant, str]) -> Result:
            mutant, name = pair
            result = run_mutant(mutant, bakes[name], spaces, limit)
            with lock:
                print(progress_line(next(done), len(pairs), result, limit, width), flush=True)
            return result

        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, pairs))
    return results, []


def progress_line(number: int, total: int, result: Result, limit: float, width: int) -> str:
    verdict = {
        "killed": "killed",
        "timeout": f"killed (timed out after {limit:g}s)",
        "survived": "SURVIVED" + (" (security)" if result.security else ""),
    }[result.outcome]
    digits = len(str(total))
    return (
        f"[{number:>{digits}}/{total}] {result.id:<{width}}  {result.bake:<{BAKE_WIDTH}} "
        f"{verdict:<22} {result.seconds:5.1f}s"
    )


def score_rows(results: list[Result]) -> list[tuple[str, int, int, int, int]]:
    """(bake, killed, total, security killed, security total) per bake, then "all"."""
    groups = [(name, [r for r in results if r.bake == name]) for name in BAKES]
    rows = []
    for name, mine in [*(group for group in groups if group[1]), ("all", results)]:
        security = [result for result in mine if result.security]
        rows.append(
            (
                name,
                sum(result.killed for result in mine),
                len(mine),
                sum(result.killed for result in security),
                len(security),
            )
        )
    return rows


def percent(killed: int, total: int) -> str:
    return f"{100 * killed / total:.0f} %" if total else "-"


def summary(results: list[Result], seconds: float) -> str:
    lines = ["", "mutation score:"]
    lines += [
        f"  {name:<{BAKE_WIDTH}} {killed:>4} of {total:<4} killed  {percent(killed, total):>5}"
        f"   security: {security_killed} of {security}"
        for name, killed, total, security_killed, security in score_rows(results)
    ]
    timeouts = [result for result in results if result.outcome == "timeout"]
    if timeouts:
        lines.append(f"  {len(timeouts)} killed by the timeout: " + _pairs(timeouts))
    survivors = [result for result in results if not result.killed]
    for result in survivors:
        marker = "SECURITY " if result.security else ""
        lines.append(
            f"  {marker}survivor: {result.id} ({result.bake}, {result.file}): {result.rule}"
        )
    if results:
        per_pair = sum(result.seconds for result in results) / len(results)
        lines.append(
            f"  {len(results)} runs in {seconds:.0f}s ({per_pair:.1f}s per run on average)"
        )
    return "\n".join(lines)


def _pairs(results: list[Result]) -> str:
    return ", ".join(f"{result.id} ({result.bake})" for result in results)


def readme_block(results: list[Result], today: datetime.date) -> str:
    mutants = len({result.id for result in results})
    lines = [
        README_START,
        f"Score on {today.isoformat()}: {mutants} mutants, {len(results)} runs "
        "(a mutant runs once per project it names; `mutation/run.py --readme`).",
        "",
        "| project | runs | killed | score | security runs killed |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, killed, total, security_killed, security in score_rows(results):
        label = "**all**" if name == "all" else f"`{name}`"
        lines.append(
            f"| {label} | {total} | {killed} | {percent(killed, total)} "
            f"| {security_killed} of {security} |"
        )
    survivors = [result for result in results if not result.killed]
    if survivors:
        lines += ["", "Surviving: " + ", ".join(f"`{r.id}` ({r.bake})" for r in survivors) + "."]
    lines.append(README_END)
    return "\n".join(lines)


def rewrite_readme(results: list[Result], readme: Path = README) -> None:
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise CheckFailed(f"{readme.name} has no {README_START} ... {README_END} block")
    block = readme_block(results, datetime.date.today())
    readme.write_text(text[:start] + block + text[end + len(README_END) :], encoding="utf-8")


# -- command line ----------------------------------------------------------------------


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", metavar="ID", help="run only this mutant")
    parser.add_argument(
        "--bake", action="append", choices=list(BAKES), help="run only on this project"
    )
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every result here")
    parser.add_argument(
        "--readme", action="store_true", help="rewrite the score block of README.md"
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="parallel runs (default: CPUs)"
    )
    parser.add_argument(
        "--timeout", type=float, help="seconds per run (default: 4x the unchanged run, >= 60)"
    )
    arguments = parser.parse_args(argv)
    if arguments.readme and (arguments.only or arguments.bake):
        parser.error("--readme needs the whole check: no --only or --bake")
    if arguments.workers < 1:
        parser.error("--workers must be at least 1")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    try:
        mutants = load_mutants()
        if arguments.only:
            unknown = set(arguments.only) - {mutant.id for mutant in mutants}
            if unknown:
                raise CheckFailed(f"no mutant with id {', '.join(sorted(unknown))}")
            mutants = [mutant for mutant in mutants if mutant.id in arguments.only]
        if arguments.list:
            for mutant in mutants:
                security = "security" if mutant.security else "        "
                print(f"{mutant.id:<40} {security} {mutant.file:<28} {','.join(mutant.bakes)}")
            print(f"{len(mutants)} mutants")
            return 0
        started = time.monotonic()
        only_bakes = set(arguments.bake) if arguments.bake else None
        results, problems = run_check(mutants, only_bakes, arguments.workers, arguments.timeout)
        if problems:
            raise CheckFailed(
                "the mutation list no longer matches the code:\n  " + "\n  ".join(problems)
            )
        print(summary(results, time.monotonic() - started))
        if arguments.json:
            document = {"results": [asdict(result) for result in results]}
            arguments.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        if arguments.readme:
            rewrite_readme(results)
    except CheckFailed as error:
        print(f"mutation check FAILED: {error}", file=sys.stderr)
        return 1
    survivors = [result for result in results if result.security and not result.killed]
    if survivors:
        print(
            f"mutation check FAILED: security mutants survived: {_pairs(survivors)}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
