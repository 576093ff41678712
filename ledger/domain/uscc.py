"""统一社会信用代码 (unified social credit code), GB 32100-2015 (DOMAIN.md §5, DESIGN.md C1).

An 18-character code: 登记管理部门代码 (1), 机构类别代码 (1), 登记管理机关行政区划码
(6 digits, GB/T 2260), 主体标识码 (9) and a check character (1). The character set
is ``0-9`` and ``ABCDEFGHJKLMNPQRTUWXY`` (31 characters, no I, O, S, V, Z) with
values 0..30 in that order; the weight of position i is 3^(i-1) mod 31 and the
check value is ``31 - (sum mod 31)``, where 31 is written ``0`` (the GB/T 17710
"pure system" check, modulus 31 — not modulus 11, and letters are *not*
``ord(c) - ord('A') + 10``).

Standard library only: this module is on the verifier's light path.
"""

from __future__ import annotations

from ledger.errors import FormatError

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 code characters in value order (GB 32100-2015 table 1)."""

_VALUE = {c: i for i, c in enumerate(CHARSET)}
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
"""Weights W_i = 3^(i-1) mod 31 for positions 1..17."""

_RULE_LENGTH = "GB 32100-2015 length"
_RULE_CHARSET = "GB 32100-2015 character set"
_RULE_REGION = "GB 32100-2015 region code"
_RULE_CHECK = "GB 32100-2015 check character"


def _check_charset(text: str, field: str) -> None:
    for k, c in enumerate(text, start=1):
        if c not in _VALUE:
            hint = " (lowercase)" if c.upper() in _VALUE else ""
            raise FormatError(
                _RULE_CHARSET,
                f"character {c!r}{hint} at position {k} is not in the code character "
                f"set 0-9 {CHARSET[10:]}",
                field=field,
            )


def _check_region(text: str, field: str) -> None:
    region = text[2:8]
    if not (region.isascii() and region.isdigit()):
        raise FormatError(
            _RULE_REGION,
            f"positions 3-8 (登记管理机关行政区划码) must be digits, got {region!r}",
            field=field,
        )


def check_char(first17: str) -> str:
    """Return the check character (position 18) for the first 17 characters.

    GB 32100-2015 §4 / GB/T 17710: C18 = 31 - (Σ C_i·W_i mod 31), 31 → ``0``.
    Raises ``FormatError`` (field ``usc``) if ``first17`` is not 17 characters
    of the code character set.
    """
    if not isinstance(first17, str) or len(first17) != 17:
        got = len(first17) if isinstance(first17, str) else type(first17).__name__
        raise FormatError(_RULE_LENGTH, f"need the first 17 characters, got {got}", field="usc")
    _check_charset(first17, "usc")
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def validate_uscc(code: str) -> None:
    """Check a 统一社会信用代码 per GB 32100-2015; return ``None`` or raise.

    Checks, in order: length 18, every character in the code set (names the
    1-based position), positions 3-8 are digits, and the check character.
    Raises ``FormatError(field="usc", rule="GB 32100-2015 …")`` whose reason
    says what was expected and what was found. Masked codes as published on
    government pages (``91430281691828xxxx``) are invalid by design.
    """
    if not isinstance(code, str):
        raise FormatError(
            _RULE_LENGTH,
            f"expected an 18-character string, got {type(code).__name__}",
            field="usc",
        )
    if len(code) != 18:
        raise FormatError(_RULE_LENGTH, f"length is {len(code)}, expected 18", field="usc")
    _check_charset(code, "usc")
    _check_region(code, "usc")
    expected = check_char(code[:17])
    if code[17] != expected:
        raise FormatError(
            _RULE_CHECK,
            f"check character (position 18) expected {expected!r}, got {code[17]!r}",
            field="usc",
        )


def is_valid_uscc(code: object) -> bool:
    """``True`` when ``code`` passes :func:`validate_uscc`, else ``False``."""
    if not isinstance(code, str):
        return False
    try:
        validate_uscc(code)
    except FormatError:
        return False
    return True


def make_uscc(first17: str) -> str:
    """Append the check character to 17 characters and return the full code.

    The result is validated (so positions 3-8 must be digits); raises
    ``FormatError`` otherwise.
    """
    code = first17 + check_char(first17)
    validate_uscc(code)
    return code
