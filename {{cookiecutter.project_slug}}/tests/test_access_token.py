"""What a validated token hands to views: scopes split as RFC 6749 says, NumericDates in
range, claims a view cannot change. Shared by every token format."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.auth.access_token import (
    NUMERIC_DATE_MAX,
    frozen_claims,
    is_numeric_date,
    scopes_of,
)
from {{ cookiecutter.package_name }}.auth.errors import InvalidToken
from {{ cookiecutter.package_name }}.auth.requirements import Requirement

# Every Unicode character str.split() treats as whitespace, and a few that it does not.
WHITESPACE = [chr(c) for c in range(0x110000) if chr(c).isspace() and chr(c) != " "]
SEPARATORS = [*WHITESPACE, "\x1f", "\x00", "+", ",", ";", ""]
FAST = settings(max_examples=100, deadline=None, derandomize=True)


@pytest.mark.parametrize("separator", SEPARATORS, ids=lambda c: f"U+{ord(c):04X}" if c else "none")
def test_only_a_space_delimits_scopes(separator: str) -> None:
    for claims in ({"scope": f"files:{separator}read"}, {"scp": f"files:{separator}read"}):
        scopes, _ = scopes_of(claims)
        assert "read" not in scopes
        assert scopes == {f"files:{separator}read"}
    assert scopes_of({"scope": "files: read"})[0] == {"files:", "read"}


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("read  write", {"read", "write"}),
        (" read ", {"read"}),
        ("", set()),
        ("   ", set()),
        ("read read", {"read"}),
    ],
)
def test_empty_scope_parts_are_dropped(scope: str, expected: set[str]) -> None:
    scopes, stated = scopes_of({"scope": scope})
    assert scopes == expected
    assert stated == scope
    assert scopes_of({"scp": scope.split(" ")})[0] == expected


@pytest.mark.parametrize(
    "claims",
    [{"scope": 1}, {"scope": ["read", 1]}, {"scp": {"read": True}}, {"scope": True}],
)
def test_a_malformed_scope_claim_is_refused(claims: dict) -> None:
    with pytest.raises(InvalidToken):
        scopes_of(claims)


def test_scope_wins_over_scp() -> None:
    assert scopes_of({"scope": "a", "scp": ["b"]}) == (frozenset({"a"}), "a")
    assert scopes_of({"scp": ["a", "b"]}) == (frozenset({"a", "b"}), "a b")
    assert scopes_of({}) == (frozenset(), "")


def test_a_requirement_splits_like_a_token() -> None:
    assert Requirement.of("read  write").scopes == {"read", "write"}
    assert Requirement.of("read\twrite").scopes == {"read\twrite"}


@given(st.lists(st.sampled_from([" ", "a", "read", *SEPARATORS]), max_size=12).map("".join))
@FAST
def test_scopes_are_exactly_the_space_separated_parts(scope: str) -> None:
    scopes, stated = scopes_of({"scope": scope})
    assert scopes == {part for part in scope.split(" ") if part}
    assert stated == scope
    granted = "read" in scopes
    assert granted == (f" {scope} ".find(" read ") >= 0)


@pytest.mark.parametrize(
    "value",
    [0, 1, 1.5, 1_700_000_000, NUMERIC_DATE_MAX, float(NUMERIC_DATE_MAX)],
)
def test_numeric_dates_in_range(value: float) -> None:
    assert is_numeric_date(value)


@pytest.mark.parametrize(
    "value",
    [
        10**400,
        -(10**400),
        NUMERIC_DATE_MAX + 1,
        NUMERIC_DATE_MAX + 0.5,
        -1,
        -0.5,
        math.inf,
        -math.inf,
        math.nan,
        True,
        False,
        None,
        "1",
        [1],
    ],
)
def test_numeric_dates_out_of_range(value: object) -> None:
    assert not is_numeric_date(value)


@given(st.one_of(st.integers(), st.floats(), st.booleans(), st.none(), st.text(max_size=3)))
@FAST
def test_numeric_date_never_raises(value: object) -> None:
    expected = type(value) in (int, float) and 0 <= value <= NUMERIC_DATE_MAX  # type: ignore[operator]
    assert is_numeric_date(value) == expected


def test_frozen_claims_cannot_be_changed_at_any_depth() -> None:
    claims = frozen_claims({"a": [1, {"b": [2]}], "c": {"d": {"e": []}}, "f": "x"})
    assert claims == {"a": (1, {"b": (2,)}), "c": {"d": {"e": ()}}, "f": "x"}
    with pytest.raises(TypeError):
        claims["f"] = "y"  # type: ignore[index]
    with pytest.raises(TypeError):
        claims["a"][1]["b"] = ()
    with pytest.raises(TypeError):
        claims["c"]["d"]["e"] = ()
    with pytest.raises(AttributeError):
        claims["a"].append(3)


def test_deeply_nested_claims_are_refused_not_crashed() -> None:
    nested: object = []
    for _ in range(10_000):
        nested = [nested]
    with pytest.raises(InvalidToken):
        frozen_claims({"deep": nested})
