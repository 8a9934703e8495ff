"""The deployment files keep up with the code: every setting read is listed in .env.example."""

from __future__ import annotations

import re
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
PACKAGE = PROJECT / "src" / "{{ cookiecutter.package_name }}"


def listed_in_env_example() -> set[str]:
    text = (PROJECT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_env_example_lists_every_setting():
    read = set()
    for path in [*PACKAGE.rglob("*.py"), PROJECT / "wsgi.py", PROJECT / "gunicorn.conf.py"]:
        text = path.read_text(encoding="utf-8")
        read |= set(re.findall(r"[\"']((?:OAUTH|GUNICORN)_[A-Z0-9_]+)[\"']", text))
        read |= set(re.findall(r"os\.(?:environ\.get|getenv)\(\s*[\"']([A-Z][A-Z0-9_]+)", text))
    read.discard("OAUTH_SETTINGS")  # the app config key that holds them, not a variable
    assert read - listed_in_env_example() == set()


def test_dockerfile_runs_gunicorn_unprivileged_with_a_health_check():
    text = (PROJECT / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER (\S+)", text, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/health", text, flags=re.MULTILINE)
    assert re.search(r'^CMD \["gunicorn", "wsgi:app"\]$', text, flags=re.MULTILINE)
    for copied in re.findall(r"^COPY (.+) \S+$", text, flags=re.MULTILINE):
        for name in copied.split():
            assert (PROJECT / name).exists(), name
