"""The template's README says what a newcomer needs, in the order they need it, truly."""

from __future__ import annotations

import re

from template_helpers import TEMPLATE_DIR

README = (TEMPLATE_DIR / "README.md").read_text(encoding="utf-8")


def _sections() -> list[str]:
    return re.findall(r"^## (.+)$", README, re.MULTILINE)


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else len(README)]


def test_the_questions_come_before_the_speed_section():
    sections = _sections()
    assert sections.index("Questions") < sections.index("Speed")
    assert sections.index("After generation: the test run") < sections.index("Speed")


def test_the_template_address_is_explained_not_left_as_a_placeholder():
    assert "gh:ORG/REPO" not in README
    top = README[: README.index("\n## ")]
    assert "clone URL" in top
    assert "cookiecutter gh:OWNER/REPO" in top and "--checkout" in top


def test_what_the_test_runs_leave_behind_is_said():
    top = README[: README.index("\n## ")]
    assert "jwt_flask_api_template.egg-info" in top  # pip install -e of the template
    after = _section("After generation: the test run")
    assert "only the `.venv`" not in after
    assert "src/<package_name>.egg-info" in after  # pip install -e of a generated project
    gitignore = (TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / ".gitignore").read_text(
        encoding="utf-8"
    )
    assert ".venv/" in gitignore and "*.egg-info/" in gitignore
    assert "*.egg-info/" in (TEMPLATE_DIR / ".gitignore").read_text(encoding="utf-8")


def test_the_readme_cites_no_document_outside_the_repository():
    assert "contract" not in README.lower()
    for target in re.findall(r"\]\(([^)#:]+)\)", README):
        assert (TEMPLATE_DIR / target).exists(), target


def test_the_switches_and_the_json_results_are_documented():
    after = _section("After generation: the test run")
    assert "| `JWT_API_TEMPLATE_RESULT_FILE` |" in after
    for field in ("pre_gen_project", "post_gen_project", "not run", "skipped"):
        assert field in after, field
    many = _section("Many services at once")
    assert "service      mode       format  tests" in many
