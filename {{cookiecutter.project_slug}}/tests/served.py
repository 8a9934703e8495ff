"""A real server process (gunicorn, ``flask run``) serving the API, for tests over HTTP."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fake_http import wait_until

PROJECT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(
    command: list[str], env: dict[str, str], log_path: Path, ready: Callable[[], bool]
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` from the project's directory until ``ready()``; stop it afterwards.

    The server gets a process group of its own, and the group is ended at the close: a
    gunicorn worker stuck in its exit after the master stopped waiting must not outlive
    the test.
    """
    log = log_path.open("w+b")
    process = subprocess.Popen(
        command,
        cwd=PROJECT,  # gunicorn reads the project's gunicorn.conf.py from there
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        up = wait_until(lambda: process.poll() is not None or ready(), timeout=20)
        if not up or process.poll() is not None:
            log.seek(0)
            pytest.fail(f"the server did not start:\n{log.read().decode(errors='replace')}")
        yield process
    finally:
        process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown, flask's Ctrl-C
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        if hasattr(os, "killpg"):  # POSIX: whatever is left of the group
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait(timeout=5)
        log.close()
