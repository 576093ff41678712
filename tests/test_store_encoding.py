"""The server's faster canonical bytes equal ``ledger.canonical``'s (ledger/store/encoding.py).

``canonical_fast`` hands plain values to ``orjson``; every value, plain or
not (astral member names, control characters, tuples, floats), must get
the same bytes, the same "plain" answer and the same refusals as
``canonical_plain``.
"""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import MAX_SAFE_INTEGER, canonical_plain
from ledger.errors import FormatError
from ledger.store import encoding

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
ascii_names = st.text(st.characters(max_codepoint=127), max_size=8)
ints = st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
leaves = st.none() | st.booleans() | ints | text
values = st.recursive(
    leaves,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(ascii_names | text, children, max_size=4),
    max_leaves=24,
)


@pytest.fixture(autouse=True)
def _needs_orjson() -> None:
    if encoding.ORJSON is None:
        pytest.skip("orjson is not installed: canonical_fast is canonical_plain")


@settings(max_examples=500, deadline=None)
@given(values)
def test_fast_equals_canonical_and_rfc8785(value: Any) -> None:
    assert encoding.canonical_fast(value) == canonical_plain(value)
    assert encoding.canonical_fast(value)[0] == rfc8785.dumps(value)


def test_control_characters_and_astral_values_encode_alike() -> None:
    value = {"s": "".join(chr(c) for c in range(0x20)) + "\x7f\u2028\u2029\U0001f600\\\"",
             "n": [MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 0, True, None]}
    data, plain = encoding.canonical_fast(value)
    assert plain is True
    assert data == rfc8785.dumps(value)


@pytest.mark.parametrize("value", [
    {"a": (1, 2)},            # a tuple: canonical, but not plain
    {"\U00010000": 1, "\ufffd": 2},  # astral member names sort by UTF-16 units
])
def test_values_that_are_not_plain_take_the_exact_path(value: Any) -> None:
    assert encoding.canonical_fast(value) == canonical_plain(value)
    assert encoding.canonical_fast(value)[1] is False


@pytest.mark.parametrize("value", [{"x": 1.5}, {"x": 2**53}, {"x": "\ud800"}, {1: "x"}])
def test_what_a1_refuses_is_refused(value: Any) -> None:
    with pytest.raises(FormatError):
        encoding.canonical_fast(value)
