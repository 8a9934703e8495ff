"""The pre-generation hook: every answer checked, all problems reported at once."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from pathlib import Path

import pytest

from template_helpers import (
    COOKIECUTTER_JSON,
    HOOKS_DIR,
    bake,
    default_context,
    isolated_config,
    load_hook,
    render_hook,
    run_isolated,
)


@pytest.fixture(scope="module")
def hook(tmp_path_factory: pytest.TempPathFactory):
    return load_hook("pre_gen_project", default_context(), tmp_path_factory.mktemp("hook"))


GOOD = {
    "project_name": ["Orders API", "Bob's orders", "Bestellungen-Dienst Ü"],
    "project_slug": ["orders-api", "a", "svc2", "orders-api-v2"],
    "package_name": ["orders_api", "svc2", "a_b_c"],
    "issuer": [
        "https://login.example.com/oauth/v2/oauth-anonymous",
        "https://login.example.com",
        "https://idp.example.com:8443/realms/main/",
        "http://localhost:8080/issuer",
        "http://127.0.0.1:9000",
        "http://127.1.2.3/",
        "http://[::1]:8080/",
        "https://[2001:db8::1]/",
    ],
    "jwks_uri": [
        "",
        "https://login.example.com/.well-known/jwks.json",
        "https://login.example.com/keys?version=2",
        "http://localhost/jwks",
    ],
    "audience": ["api.example.com", "https://orders.example.test", "urn:orders"],
    "protection_mode": list(COOKIECUTTER_JSON["protection_mode"]),
    "algorithms": ["RS256", "ES256,EdDSA", "PS256,RS512,ES384", "EdDSA"],
    "required_scope": ["read", "orders:read", "https://api.example.com/read", "!#[]~"],
    "run_tests": [True, False, "yes", "no"],
    "proof_of_possession": ["none", "dpop"],
}

BAD = {
    "project_name": ["", "   ", "a\nb", 'say "hi"', "back\\slash", "x" * 81, " padded"],
    "project_slug": [
        "", "Orders", "orders_api", "1orders", "-orders", "orders-", "orders--api",
        "orders api", "orders/api", "../orders", "órders", "x" * 65,
    ],
    "package_name": [
        "", "Orders", "1orders", "_orders", "orders-api", "class", "import", "json",
        "flask", "jwt", "cryptography", "pytest", "tests", "wsgi", "órders",
    ],
    "issuer": [
        "", "login.example.com", "//login.example.com", "ftp://login.example.com",
        "http://login.example.com", "http://127.evil.com", "http://localhost.evil.com",
        "http://[::2]/", "https://user:pass@login.example.com", "https://user@login.example.com",
        "https://login.example.com/#frag", "https://login.example.com/?q=1",
        "https://login.example.com/a b", "https://login.example.com/\"", "https://login.example.com/'",
        "https://login.example.com\\@evil.com", "https://login.example.com:99999/",
        "https://[::1/", "https://bad_host/", "https://exämple.com/", " https://x.example.com",
        "https://x.example.com/\n",
    ],
    "jwks_uri": [
        "keys.json", "http://login.example.com/jwks", "https://a@b.example.com/",
        "https://login.example.com/jwks#x", "https://login.example.com/ jwks",
    ],
    "audience": ["", "api example", "api\texample", "api\n", "'api'", '"api"', "a\\b", "\x00"],
    "protection_mode": ["", "Global", "both", "none"],
    "algorithms": [
        "", "HS256", "none", "rs256", "RS256,", ",RS256", "RS256, ES256", "RS256,RS256",
        "RS256,HS256", "ES256K",
    ],
    "required_scope": ["", "a b", 'a"b', "a\\b", "\x7f", "é", "a\tb"],
    "run_tests": ["maybe", None, 2],
    "proof_of_possession": ["", "DPoP", "mtls", None],
}  # fmt: skip


def _cases(table: dict[str, list[object]]) -> list[object]:
    return [
        pytest.param(key, value, id=f"{key}={value!r}"[:60])
        for key, values in table.items()
        for value in values
    ]


@pytest.mark.parametrize(("key", "value"), _cases(GOOD))
def test_good_answer_accepted(hook, key, value):
    assert hook.CHECKS[key](value) is None


@pytest.mark.parametrize(("key", "value"), _cases(BAD))
def test_bad_answer_rejected(hook, key, value):
    assert hook.CHECKS[key](value)


def test_defaults_pass(hook):
    assert hook.find_problems(hook.ANSWERS) == []


def test_token_format_checked_when_asked(tmp_path):
    assert load_hook("pre_gen_project", default_context(), tmp_path).ANSWERS.get(
        "token_format", "jwt"
    ) in ("jwt", "opaque")
    context = {**default_context(), "token_format": "paseto"}
    module = load_hook("pre_gen_project", context, tmp_path)
    assert [key for key, _, _ in module.find_problems(module.ANSWERS)] == ["token_format"]


def test_every_answer_has_a_check(hook):
    public = {key for key in COOKIECUTTER_JSON if not key.startswith("_")}
    assert public <= set(hook.CHECKS)


def test_choices_match_cookiecutter_json(hook):
    assert set(hook.PROTECTION_MODES) == set(COOKIECUTTER_JSON["protection_mode"])


HOSTILE = [
    "'''",
    '"""',
    "\\",
    "end\\",
    "a\nb\r\nc",
    "{{ cookiecutter.project_slug }}",
    "{% raw %}",
    "{# comment",
    "'); import os; os.system('echo pwned') #",
    '"; raise SystemExit(0) #',
    "\u2028\u2029\x00\x1b[31m",
    "emoji \U0001f600 and é",
    "</script><!--",
]


@pytest.mark.parametrize("value", HOSTILE, ids=[repr(v)[:30] for v in HOSTILE])
@pytest.mark.parametrize("key", [k for k in COOKIECUTTER_JSON if not k.startswith("_")])
def test_hostile_values_reach_the_hook_intact(tmp_path, key, value):
    """Whatever the answer, the rendered hook is valid Python holding the exact value."""
    context = {**default_context(), key: value}
    module = load_hook("pre_gen_project", context, tmp_path)
    assert module.ANSWERS[key] == value
    problems = module.find_problems(module.ANSWERS)
    assert {k for k, _, _ in problems} <= {key}
    if problems:
        report = module.report(problems, module.ANSWERS, "TEMPLATE")
        assert len(report.splitlines()) == 4  # header, one line for the key, two to rerun


def test_hooks_hold_jinja_only_in_tojson_strings():
    """Jinja markers in hook code would be rendered: only the `tojson` lines may have them."""
    allowed = re.compile(r"""json\.loads\(r'''\{\{ cookiecutter[^']*\| tojson \}\}'''\)""")
    paths = sorted(HOOKS_DIR.glob("*.py"))
    assert paths
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            stripped = allowed.sub("", line)
            assert not re.search(r"\{[{%#]", stripped), f"{path.name}:{number}: {line}"


def test_rendered_hook_is_the_source_but_for_the_answers():
    rendered = render_hook("pre_gen_project", default_context())
    assert "{{" not in rendered
    assert "json.loads(r'''\"orders-api\"''')" in rendered


def test_report_names_key_value_and_what_is_allowed(hook):
    answers = {**hook.ANSWERS, "project_slug": "Bad Slug", "algorithms": "HS256"}
    text = hook.report(hook.find_problems(answers), answers, "gh:acme/jwt-api")
    lines = text.splitlines()
    assert lines[0] == "Cannot generate the project: 2 answers not allowed."
    assert lines[1].startswith("  project_slug='Bad Slug': allowed: lowercase letters")
    assert lines[2].startswith("  algorithms='HS256': 'HS256' not supported; allowed: ")
    assert "cookiecutter gh:acme/jwt-api --no-input" in lines[-1]
    assert "'project_slug=<fix me>'" in lines[-1]
    assert "project_name=Orders API" in lines[-1]


def test_long_values_are_truncated(hook):
    assert len(hook.short_repr("x" * 500)) <= hook.MAX_REPR


# --- through the cookiecutter command --------------------------------------------------

BAD_ANSWERS = {
    "project_slug": "Bad Slug",
    "package_name": "flask",
    "issuer": "http://login.example.com",
    "audience": "api example",
    "jwks_uri": "https://user:pw@login.example.com/jwks",
    "algorithms": "RS256,HS256",
    "required_scope": "a b",
}


def test_all_bad_answers_reported_at_once_and_nothing_left(cli):
    """In the order of the questions, one line each, and no project directory."""
    result = cli("--no-input", *(f"{k}={v}" for k, v in BAD_ANSWERS.items()))
    assert result.returncode != 0
    ours = result.stderr[result.stderr.index("Cannot generate the project") :]
    lines = ours.splitlines()
    assert lines[0] == f"Cannot generate the project: {len(BAD_ANSWERS)} answers not allowed."
    for key, line in zip(BAD_ANSWERS, lines[1:], strict=False):
        assert line.startswith(f"  {key}={BAD_ANSWERS[key]!r}: "), line
    assert lines[len(BAD_ANSWERS) + 1].startswith("Nothing was generated. Run again")
    assert " --no-input " in lines[len(BAD_ANSWERS) + 2]
    # cookiecutter logs its own traceback afterwards; none comes from our hook
    frames = [line for line in result.stderr.splitlines() if line.lstrip().startswith('File "')]
    assert all("cookiecutter" in frame for frame in frames), frames
    assert list(cli.output.iterdir()) == []


def test_rerun_command_names_the_cookiecutter_that_ran_and_pastes(cli, tmp_path):
    """With no cookiecutter on PATH, the printed command still runs as printed (fixed)."""
    bare_path = os.pathsep.join(["/usr/bin", "/bin"])
    answers = {
        "project_name": "Bob's $HOME & `pwd` API",
        "project_slug": "Bad Slug",
        "package_name": "bobs_api",
    }
    result = cli("--no-input", *(f"{k}={v}" for k, v in answers.items()), env={"PATH": bare_path})
    assert result.returncode != 0
    command = result.stderr.splitlines()[-1].strip()
    lines = [line for line in result.stderr.splitlines() if "--no-input" in line]
    assert lines and lines[-1].strip() == command, result.stderr
    words = shlex.split(command)
    assert words[0] != "cookiecutter"  # not on PATH: the full path, or python -m cookiecutter
    assert words[0] == str(Path(sys.executable).with_name("cookiecutter")) or words[1:3] == [
        "-m",
        "cookiecutter",
    ]
    assert f"project_name={answers['project_name']}" in words
    assert "project_slug=<fix me>" in words
    fixed = command.replace("'project_slug=<fix me>'", "project_slug=bobs-api")
    assert fixed != command
    pasted = run_isolated(
        ["bash", "-c", fixed],
        tmp_path,
        isolated_config(tmp_path),
        {"PATH": bare_path, "JWT_API_TEMPLATE_SKIP_TESTS": "1"},
    )
    assert pasted.returncode == 0, pasted.stdout + pasted.stderr
    saved = json.loads((cli.output / "bobs-api" / ".template-answers.json").read_text())
    assert saved["default_context"]["project_name"] == answers["project_name"]


def test_cookiecutter_command_is_what_the_user_can_type(hook, tmp_path):
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    python = str(bin_dir / "python")
    assert hook.cookiecutter_command(python, {"PATH": str(bin_dir)}) == [
        python, "-m", "cookiecutter",
    ]  # fmt: skip
    script = bin_dir / "cookiecutter"
    script.write_text("#!/bin/sh\n", encoding="utf-8")
    script.chmod(0o755)
    assert hook.cookiecutter_command(python, {"PATH": str(bin_dir)}) == ["cookiecutter"]
    assert hook.cookiecutter_command(python, {"PATH": "/usr/bin:/bin"}) == [str(script)]


def test_verdict_is_written_as_json_for_tools(cli, tmp_path):
    result_file = tmp_path / "result.json"
    env = {"JWT_API_TEMPLATE_RESULT_FILE": str(result_file)}
    result = cli(
        "--no-input", "project_slug=Bad-Slug", "package_name=ok", "algorithms=HS256", env=env
    )
    assert result.returncode != 0
    document = json.loads(result_file.read_text(encoding="utf-8"))
    assert document["hook"] == "pre_gen_project"
    assert document["ok"] is False
    assert [(p["key"], p["value"]) for p in document["problems"]] == [
        ("project_slug", "Bad-Slug"),
        ("algorithms", "HS256"),
    ]
    assert all(p["problem"].startswith(("allowed: ", "'HS256'")) for p in document["problems"])
    assert "allowed: " in document["problems"][1]["problem"]
    assert not list(tmp_path.glob("*.partial"))


def test_one_bad_answer_with_a_valid_slug_leaves_no_directory(cli):
    result = cli("--no-input", "project_slug=orders-api", "audience=")
    assert result.returncode != 0
    assert "  audience='': allowed: a non-empty value" in result.stderr
    assert list(cli.output.iterdir()) == []


# --- one URL rule at generation and at runtime ------------------------------------------

URL_CASES = json.loads((Path(__file__).parent / "url_cases.json").read_text(encoding="utf-8"))
ROLES = {"issuer": False, "endpoint": True}  # role -> whether a query is allowed


def _url_verdicts() -> list[tuple[str, str, bool]]:
    """(url, role, accepted) for every case of tests/url_cases.json."""
    cases = []
    for verdict, accepted in (("good", True), ("bad", False)):
        for where, urls in URL_CASES[verdict].items():
            roles = list(ROLES) if where == "both" else [where]
            other = [role for role in ROLES if role != where and where != "both"]
            for url in urls:
                cases += [(url, role, accepted) for role in roles]
                # A URL good only as an endpoint is bad as an issuer, and the other way round.
                cases += [(url, role, not accepted) for role in other]
    return cases


URL_VERDICTS = _url_verdicts()


def test_url_cases_cover_both_roles_and_the_known_disagreements():
    urls = {(url, role) for url, role, _ in URL_VERDICTS}
    assert len(urls) == len(URL_VERDICTS)
    for url in ("https://login.example.com/?q=1", "https://bad_host!/"):
        assert (url, "issuer", False) in URL_VERDICTS


def test_the_hook_gives_the_verdicts_of_url_cases(hook):
    wrong = [
        (url, role)
        for url, role, accepted in URL_VERDICTS
        if (hook._url_problem(url, allow_query=ROLES[role]) is None) != accepted
    ]
    assert wrong == []


VERDICT_SCRIPT = """
import json, sys
from {package}.settings import url_problem
cases = json.load(sys.stdin)
print(json.dumps([url_problem(url, allow_query=query) for url, query in cases]))
"""


@pytest.mark.parametrize("token_format", list(COOKIECUTTER_JSON["token_format"]))
def test_generated_settings_agree_with_the_hook_on_every_url(hook, cookies, token_format):
    project = bake(cookies, project_name="Url Rule", token_format=token_format)
    cases = [(url, ROLES[role]) for url, role, _ in URL_VERDICTS]
    result = project.run(
        [sys.executable, "-c", VERDICT_SCRIPT.format(package="url_rule")],
        input=json.dumps(cases),
        env={"PYTHONPATH": str(project.path / "src")},
    )
    assert result.returncode == 0, result.stderr
    problems = json.loads(result.stdout)
    runtime = [problem is None for problem in problems]
    generation = [hook._url_problem(url, allow_query=query) is None for url, query in cases]
    expected = [accepted for _, _, accepted in URL_VERDICTS]
    disagree = [case for case, a, b in zip(cases, runtime, generation, strict=True) if a != b]
    assert disagree == []
    assert runtime == expected
    assert all(problem is None or problem for problem in problems)
