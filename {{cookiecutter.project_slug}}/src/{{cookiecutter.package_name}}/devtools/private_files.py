"""Secrets of the dev tools, kept in the app's instance folder and readable by you only."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path


def private_file(
    instance_path: str | os.PathLike[str], name: str, make: Callable[[], bytes]
) -> Path:
    """``name`` in the instance folder, written with ``make()`` on first use (mode 0600).

    Never half a file: when two processes make it at once, the first one written wins.
    """
    folder = Path(instance_path)
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        # The folder was made here for the dev tools alone: keep it out of version control.
        (folder / ".gitignore").write_text("*\n", encoding="utf-8")
    path = folder / name
    if path.exists():
        return path
    partial = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(make())
        # os.link is atomic and fails when the file exists: a file written meanwhile wins.
        with contextlib.suppress(FileExistsError):
            os.link(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
