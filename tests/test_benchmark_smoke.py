"""benchmarks/token_check.py still runs against what the template generates today.

The benchmark is not part of the test run, but it imports the generated package and
reaches into its auth modules, so a change to the generated code can break it silently.
This runs it as a smoke test: one measuring process, a few rounds, no gunicorn; the peers
it cannot import (flask-of-oil and Authlib are not test dependencies) are skipped, as the
script itself allows. The numbers are not looked at, only that every row and verdict is
there.
"""

from __future__ import annotations

import sys
from pathlib import Path

from template_helpers import TEMPLATE_DIR, isolated_config, run_isolated

SCRIPT = TEMPLATE_DIR / "benchmarks" / "token_check.py"


def test_token_benchmark_runs_every_generated_row(tmp_path: Path) -> None:
    command = [sys.executable, str(SCRIPT), "--processes", "1", "--rounds", "2"]
    command += ["--requests", "3", "--no-throughput"]
    result = run_isolated(command, tmp_path, isolated_config(tmp_path))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    for label in (
        "| Flask floor",
        "| crypto floor (no Flask) | RS256",
        "| crypto floor inside a Flask route | RS256",
        "| PyJWT PyJWKClient + jwt.decode | RS256",
        "| generated app, open route",
        "| generated project | RS256",
        "| generated project | ES256",
        "| generated project | EdDSA",
        "| generated app, crypto floor as its only check | RS256",
    ):
        assert any(row.startswith(label) for row in rows), label
    verdicts = [line for line in result.stdout.splitlines() if line.startswith(("cold:", "warm:"))]
    assert len(verdicts) == 2 and all("crypto floor as its only check" in v for v in verdicts)
    assert "JWKS fetches during the timed rounds, all apps together: 0." in result.stdout


def test_dpop_benchmark_runs_every_row(tmp_path: Path) -> None:
    script = TEMPLATE_DIR / "benchmarks" / "dpop_check.py"
    command = [sys.executable, str(script), "--rounds", "2", "--requests", "3"]
    result = run_isolated(command, tmp_path, isolated_config(tmp_path))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    for label in (
        "| Flask floor (no check)",
        "| two verifications (token + proof)",
        "| dpop project, DPoP",
        "| dpop project, Bearer",
        "| none project, Bearer",
    ):
        assert any(row.startswith(label) for row in rows), label
    assert "Bearer path (cold), dpop project over none project" in result.stdout
