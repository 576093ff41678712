"""A1 canonical bytes: the fast path equals RFC 8785, and strict parsing refuses the rest."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import (
    MAX_SAFE_INTEGER,
    canonical,
    check_json_value,
    is_plain,
    parse_canonical,
    parse_json,
)
from ledger.errors import FormatError

# Text without lone surrogates (A1 forbids them), including astral characters.
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
ints = st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
json_values = st.recursive(
    st.none() | st.booleans() | ints | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_canonical_equals_rfc8785(value: Any) -> None:
    assert canonical(value) == rfc8785.dumps(value)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_round_trip(value: object) -> None:
    data = canonical(value)
    assert parse_canonical(data) == value


def test_sorting_by_utf16_code_units() -> None:
    # U+10000 is D800 DC00 in UTF-16: it sorts before U+FFFD there, after it by code point.
    value = {"\U00010000": 1, "\ufffd": 2}
    assert canonical(value) == rfc8785.dumps(value)
    assert canonical(value).index("\U00010000".encode()) < canonical(value).index("\ufffd".encode())


@pytest.mark.parametrize(
    ("value", "rule_part"),
    [
        (1.5, "floats"),
        ({"a": [1, 2.0]}, "floats"),
        (2**53, "integer outside"),
        (-(2**53), "integer outside"),
        ("\ud800", "lone surrogate"),
        ({"\udc00": 1}, "lone surrogate"),
        ({1: 2}, "member names"),
        (b"x", "not a JSON value"),
    ],
)
def test_canonical_refuses(value: object, rule_part: str) -> None:
    with pytest.raises(FormatError, match=rule_part):
        canonical(value)


@pytest.mark.parametrize(
    "data",
    [
        b'{"b":1,"a":2}',  # unsorted
        b'{"a": 1}',  # whitespace
        b'{"a":1,"a":1}',  # duplicate member
        b'{"a":1.0}',  # float
        b'{"a":1e2}',  # exponent
        b'{"a":-0}',  # not the canonical form of 0
        b'{"a":"\\u0041"}',  # needless escape
        b'{"a":NaN}',
        b'{"a":"\\ud800"}',  # lone surrogate
        b'\xef\xbb\xbf{"a":1}',  # BOM
        b'{"a":1}\n',  # trailing newline
        b"\xff",  # not UTF-8
        b'{"a":9007199254740992}',  # beyond 2^53-1
    ],
)
def test_parse_canonical_refuses(data: bytes) -> None:
    with pytest.raises(FormatError):
        parse_canonical(data)


def test_parse_json_names_duplicate_member() -> None:
    with pytest.raises(FormatError) as info:
        parse_json(b'{"x":1,"x":2}')
    assert info.value.field == "x"
    assert "duplicate" in str(info.value)


# Anything: valid JSON, and what A1 refuses (floats, big integers, lone
# surrogates, non-string member names, tuples, bytes), nested.
anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    | st.binary(max_size=2),
    lambda children: st.lists(children, max_size=4)
    | st.lists(children, max_size=3).map(tuple)
    | st.dictionaries(st.text() | st.integers(), children, max_size=4),
    max_leaves=20,
)


def _full_check(value: Any) -> bool | None:
    """The path-building walk alone: False/True (a member name beyond the BMP), None if refused."""
    try:
        # depth > 0 skips the fast path (and moves the depth limit by one: these are shallow)
        return check_json_value(value, depth=1)
    except FormatError:
        return None


@settings(max_examples=400, deadline=None)
@given(anything)
def test_fast_path_agrees_with_the_full_check(value: Any) -> None:
    full = _full_check(value)
    try:
        result: bool | None = check_json_value(value)
    except FormatError:
        result = None
    assert result == full
    if is_plain(value):  # the fast path accepts only what the full walk accepts as BMP-only
        assert full is False
