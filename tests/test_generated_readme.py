"""The generated README can be followed as written, in every mode and token format.

The static checks read the README of every baked project; the walkthrough (slow) runs its
"Try it locally" and "Call it" commands in bash, as a user pastes them, with the project
on PYTHONPATH instead of installed and free ports instead of 8765 and 5000.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from template_helpers import PROTECTION_MODES, TOKEN_FORMATS, BakedProject, bake

SHELL_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)


def section(readme: str, title: str) -> str:
    """The text of a ``## title`` section, up to the next one."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    assert match, f"no section {title!r}"
    return match.group(1)


def shell_blocks(text: str) -> list[str]:
    return SHELL_BLOCK.findall(text)


def commands(block: str) -> list[str]:
    """The commands of a shell block, without comments."""
    lines = (line.split(" #", 1)[0].strip() for line in block.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def test_a_token_is_made_before_it_is_used(baked: BakedProject):
    readme = baked.read("README.md")
    used = readme.find("$TOKEN")
    assert used != -1
    assert -1 < readme.find("TOKEN=$(") < used, "a command uses $TOKEN before saying how to get one"


def test_one_way_to_serve_in_production(baked: BakedProject):
    blocks = shell_blocks(baked.read("README.md"))
    gunicorn = [c for block in blocks for c in commands(block) if "gunicorn " in c]
    assert gunicorn and all(c.endswith("gunicorn wsgi:app") for c in gunicorn), gunicorn
    for block in blocks:
        assert not ("flask run" in block and "gunicorn" in block), f"two servers in one:\n{block}"


def test_the_readme_speaks_of_this_token_format_only(baked: BakedProject):
    readme = baked.read("README.md").lower()
    if baked.context["token_format"] == "opaque":
        assert "signing key" not in readme
        assert "flask auth dev-introspection" in readme
    else:
        assert "flask auth dev-issuer" in readme


def test_logs_are_described_for_both_servers(baked: BakedProject):
    operations = section(baked.read("README.md"), "Operations")
    assert "JSON lines under gunicorn" in operations
    assert "readable lines under the\n  `flask` command" in operations


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def stop(process: subprocess.Popen[str]) -> str:
    """Stop a session started with start_new_session, and everything it started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate(timeout=5)
    return output


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None or os.name != "posix", reason="needs bash, curl")
@pytest.mark.parametrize(
    ("protection_mode", "token_format"), list(itertools.product(PROTECTION_MODES, TOKEN_FORMATS))
)
def test_following_the_readme_calls_the_api(
    cookies_session: Any, tmp_path: Path, protection_mode: str, token_format: str
):
    project = bake(cookies_session, protection_mode=protection_mode, token_format=token_format)
    readme = project.read("README.md")
    terminal_1, terminal_2 = shell_blocks(section(readme, "Try it locally"))
    (call,) = shell_blocks(section(readme, "Call it"))
    server_port, api_port = free_port(), free_port()

    def local(block: str) -> str:
        return block.replace("8765", str(server_port)).replace(":5000", f":{api_port}")

    env = {name: value for name, value in os.environ.items() if not name.startswith("OAUTH_")}
    env.update(
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        PYTHONPATH=str(project.path / "src"),  # instead of pip install -e
        FLASK_RUN_PORT=str(api_port),  # flask run's --port
    )
    started = {"cwd": project.path, "env": env, "text": True, "start_new_session": True}
    issuer = subprocess.Popen(
        ["bash", "-ec", local(terminal_1)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        **started,
    )
    try:
        deadline = time.monotonic() + 30
        while not listening(server_port) and issuer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert listening(server_port), stop(issuer)
        # Terminal 2, then the calls once the API answers (a user reads in between).
        wait = f"until curl -s -o /dev/null http://127.0.0.1:{api_port}/health; do sleep 0.1; done"
        script = "\n".join([local(terminal_2), wait, local(call), "kill %1"])
        session = subprocess.Popen(
            ["bash", "-ec", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, **started
        )
        try:
            output, errors = session.communicate(timeout=60)
        finally:
            stop(session)
    finally:
        stop(issuer)

    responses = re.split(r"^(?=HTTP/1\.1 )", output, flags=re.M)[1:]
    assert len(responses) == 3, output + errors
    health, refused, allowed = responses
    assert health.startswith("HTTP/1.1 200") and '"status":"ok"' in health.replace(" ", "")
    assert refused.startswith("HTTP/1.1 401"), refused
    assert re.search(r'^WWW-Authenticate: Bearer realm="[^"]+"\s*$', refused, re.M), refused
    assert allowed.startswith("HTTP/1.1 200"), allowed + errors
    body = allowed.replace(" ", "")
    assert '"role":"admin"' in body and '"subject":"alice"' in body, allowed
