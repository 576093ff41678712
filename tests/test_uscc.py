"""统一社会信用代码 per GB 32100-2015 (DOMAIN.md §5)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.uscc import (
    CHARSET,
    WEIGHTS,
    check_char,
    is_valid_uscc,
    make_uscc,
    validate_uscc,
)
from ledger.errors import FormatError

# DOMAIN.md §5: real codes whose check characters were independently recomputed.
REAL_VALID = [
    "914403001922038216",  # 华为技术有限公司
    "91120116697415782C",  # 天津奥港汽车部件科技发展有限公司
    "31210000MD0052502C",  # 辽宁卓政（丹东）律师事务所
]


def test_charset_and_weights_match_the_standard() -> None:
    assert len(CHARSET) == 31
    assert not set("IOSVZ") & set(CHARSET)
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@pytest.mark.parametrize("code", REAL_VALID)
def test_real_examples_are_valid(code: str) -> None:
    validate_uscc(code)
    assert is_valid_uscc(code)
    assert check_char(code[:17]) == code[17]
    assert make_uscc(code[:17]) == code


def test_standard_worked_example_is_invalid() -> None:
    # The GB text's own example ends in 'Z', which is not even in the set;
    # the computed check character is '3'.
    code = "91350100M000100Y4Z"
    assert not is_valid_uscc(code)
    assert check_char(code[:17]) == "3"
    with pytest.raises(FormatError, match="position 18") as info:
        validate_uscc(code)
    assert info.value.field == "usc"
    assert info.value.rule.startswith("GB 32100-2015")


def test_wrong_check_character_names_expected_and_got() -> None:
    with pytest.raises(FormatError) as info:
        validate_uscc("914403001922038217")
    err = info.value
    assert err.rule == "GB 32100-2015 check character"
    assert err.reason == "check character (position 18) expected '6', got '7'"
    assert str(err) == (
        "field 'usc': check character (position 18) expected '6', got '7' "
        "[GB 32100-2015 check character]"
    )


@pytest.mark.parametrize(
    ("code", "rule", "fragment"),
    [
        ("91440300192203821", "length", "length is 17, expected 18"),
        ("9144030019220382166", "length", "length is 19, expected 18"),
        ("", "length", "length is 0, expected 18"),
        ("91440300I92203821X", "character set", "'I' at position 9"),
        ("91440300O92203821X", "character set", "'O' at position 9"),
        ("9144030S192203821X", "character set", "'S' at position 8"),
        ("91440300V92203821X", "character set", "'V' at position 9"),
        ("914403001922038Z16", "character set", "'Z' at position 16"),
        ("91440300ma22038216", "character set", r"'m' \(lowercase\) at position 9"),
        ("9144030019220382１6", "character set", "position 17"),  # full-width digit
        ("91A4030019220382XX", "region code", "positions 3-8"),
    ],
)
def test_malformed_codes(code: str, rule: str, fragment: str) -> None:
    with pytest.raises(FormatError, match=fragment) as info:
        validate_uscc(code)
    assert info.value.rule == f"GB 32100-2015 {rule}"
    assert info.value.field == "usc"
    assert not is_valid_uscc(code)


def test_not_a_string() -> None:
    assert not is_valid_uscc(914403001922038216)
    assert not is_valid_uscc(None)
    with pytest.raises(FormatError):
        validate_uscc(914403001922038216)  # type: ignore[arg-type]


def _mod11_check(first17: str) -> str:
    """The wrong "模11" variant some pages describe (DOMAIN.md §5 pitfalls)."""
    total = sum(CHARSET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return str((11 - total % 11) % 11)


def _naive_value(c: str) -> int:
    """The wrong letter mapping ord(c) - ord('A') + 10 (no skipped letters)."""
    return int(c) if c.isdigit() else ord(c) - ord("A") + 10


def test_pitfall_mod11_is_not_the_algorithm() -> None:
    # For at least one real code the mod-11 variant gives another character.
    assert any(_mod11_check(c[:17]) != c[17] for c in REAL_VALID)


def test_pitfall_naive_letter_values_are_wrong() -> None:
    # 'M' is value 21 (after skipping I), not 22; 'D' happens to agree.
    code = "31210000MD0052502C"
    naive_total = sum(_naive_value(c) * w for c, w in zip(code[:17], WEIGHTS, strict=True))
    naive = (31 - naive_total % 31) % 31
    assert naive < 31
    assert CHARSET.index(code[17]) != naive
    assert CHARSET.index("M") == 21 and _naive_value("M") == 22


def test_check_char_rejects_bad_input() -> None:
    with pytest.raises(FormatError, match="first 17"):
        check_char("9144030019220382")
    with pytest.raises(FormatError, match="position 3"):
        check_char("91I403001922038211"[:17])
    with pytest.raises(FormatError, match="positions 3-8"):
        make_uscc("91ABCDEF192203821")


_first17 = st.builds(
    lambda head, region, body: head + region + body,
    st.text(CHARSET, min_size=2, max_size=2),
    st.text("0123456789", min_size=6, max_size=6),
    st.text(CHARSET, min_size=9, max_size=9),
)


@given(_first17)
def test_make_then_validate_round_trip(first17: str) -> None:
    code = make_uscc(first17)
    assert code[:17] == first17
    validate_uscc(code)


@given(_first17, st.integers(0, 17), st.sampled_from(CHARSET))
def test_any_single_character_change_is_detected(
    first17: str, position: int, replacement: str
) -> None:
    code = make_uscc(first17)
    if code[position] == replacement:
        replacement = CHARSET[(CHARSET.index(replacement) + 1) % 31]
    changed = code[:position] + replacement + code[position + 1 :]
    # Changing a region digit to a letter fails the region rule; every other
    # change fails the check: weights are non-zero mod the prime 31.
    assert not is_valid_uscc(changed)


@given(_first17, st.integers(0, 16))
def test_adjacent_transposition_is_detected(first17: str, position: int) -> None:
    code = make_uscc(first17)
    if code[position] == code[position + 1]:
        return
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
    assert not is_valid_uscc(swapped)
