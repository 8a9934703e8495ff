"""What every dev tool shares: the ``flask auth token`` options, private files, loopback only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.devtools.loopback import loopback_problem
from {{ cookiecutter.package_name }}.devtools.private_files import private_file
from {{ cookiecutter.package_name }}.devtools.token_options import (
    granted_scope,
    parse_claim,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("10m", 600), ("2h", 7200), ("1d", 86400)]
)
def test_durations(text: str, seconds: int):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "-5m", "10 minutes", "8d", "1.5h"])
def test_bad_durations(text: str):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_claims_are_json_when_they_can_be():
    assert parse_claim("role=admin") == ("role", "admin")
    assert parse_claim("admin=true") == ("admin", True)
    assert parse_claim("level=3") == ("level", 3)
    assert parse_claim("note=a=b") == ("note", "a=b")
    with pytest.raises(ValueError):
        parse_claim("role")


def test_scopes_are_joined_by_single_spaces():
    assert granted_scope(("read  write", "admin"), "base") == "read write admin"
    assert granted_scope((), "base") == "base"


def test_a_private_file_is_made_once_readable_by_its_owner_only(tmp_path: Path):
    instance = tmp_path / "instance"
    path = private_file(instance, "secret", lambda: b"first")
    again = private_file(instance, "secret", lambda: b"second")

    assert again == path and path.read_bytes() == b"first"
    assert (instance / ".gitignore").read_text() == "*\n", "kept out of version control"
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in instance.iterdir()) == [".gitignore", "secret"]


@pytest.mark.parametrize(
    "url",
    [
        "",
        "https://login.example.com/oauth",
        "http://login.example.com:8765",
        "https://127.0.0.1:8443",
        "http://127.0.0.1/",
        "http://10.0.0.1:8765",
    ],
)
def test_only_a_loopback_http_url_with_a_port_is_served(url: str):
    assert loopback_problem(url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765", "http://localhost:1/x", "http://[::1]:8765/token/check"]
)
def test_loopback_urls(url: str):
    assert loopback_problem(url) is None
