"""RFC 3797 publicly verifiable selection (公开随机源抽取; DESIGN.md C3 "RFC 3797 mode").

D. Eastlake 3rd, *Publicly Verifiable Nominations Committee (NomCom) Random
Selection*, RFC 3797 (June 2004): §4 gives the key string and the selection,
§6 the worked example that this module must reproduce.  The exact rules, as
the RFC's reference C program applies them, are in ``vectors/draw/README.md``
§1 (copied to ``tests/vectors/draw/README.md``).

Only integer random sources are supported (the README keeps real values out of
scope).  The reference program's limits are enforced, so anything accepted
here gives the same output when typed into that program:

* 1 to 16 sources (``MAX_SOURCES``), each of 1 to 16 values (``MAX_VALUES``);
* every value a non-negative decimal integer below 2**31 (``VALUE_LIMIT``,
  the portable range of a C ``long``);
* the key built so far at most 500 characters before each further source is
  read (``MAX_KEY_BEFORE_SOURCE``; the program says "Too much input");
* a pool of 1 to 65535 members (``MAX_POOL``) and 0 <= N <= P selections.

Pure functions: standard library and ``ledger.errors`` only.  MD5 is what
the RFC specifies; it is used here as a public mixing function, not for
security against a chosen-input attacker, and sources are published after
the pool is fixed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ledger.errors import FormatError

__all__ = [
    "MAX_KEY_BEFORE_SOURCE",
    "MAX_POOL",
    "MAX_SOURCES",
    "MAX_VALUES",
    "VALUE_LIMIT",
    "digests",
    "key_string",
    "select",
]

MAX_SOURCES = 16
MAX_VALUES = 16
VALUE_LIMIT = 2**31
MAX_KEY_BEFORE_SOURCE = 500
MAX_POOL = 65535

_RULE = "rfc3797"


def key_string(sources: Sequence[Sequence[str | int]]) -> str:
    """The canonical ASCII key of RFC 3797 §4 (README §1 "Canonical key string").

    ``sources`` lists the random sources in their published order, each a
    list of decimal strings as published (leading zeros allowed; ints are
    accepted too).  Within a source the values are sorted ascending by
    numeric value, duplicates kept, each written without leading zeros and
    followed by ``"."``; the source then ends with ``"/"``.  Sources are
    concatenated in the given order: ``[["9319"], ["2", "5", "12", "8",
    "10"]]`` gives ``"9319./2.5.8.10.12./"``.

    Raises ``FormatError`` (rule ``rfc3797``) when a value is not a decimal
    integer in [0, 2**31) or a limit of the reference program is exceeded.
    """
    if isinstance(sources, str | bytes) or not isinstance(sources, Sequence):
        raise FormatError(_RULE, "sources must be a list of lists of values", field="sources")
    if not 1 <= len(sources) <= MAX_SOURCES:
        raise FormatError(
            _RULE,
            f"expected 1 to {MAX_SOURCES} random sources, got {len(sources)}",
            field="sources",
        )
    key = ""
    for i, source in enumerate(sources):
        if len(key) > MAX_KEY_BEFORE_SOURCE:
            raise FormatError(
                _RULE,
                f"key is {len(key)} characters before source {i + 1}, the reference "
                f"program accepts no further source after {MAX_KEY_BEFORE_SOURCE}",
                field="sources",
            )
        if isinstance(source, str | bytes) or not isinstance(source, Sequence):
            raise FormatError(_RULE, f"source {i + 1} must be a list of values", field="sources")
        if not 1 <= len(source) <= MAX_VALUES:
            raise FormatError(
                _RULE,
                f"source {i + 1}: expected 1 to {MAX_VALUES} values, got {len(source)}",
                field="sources",
            )
        values = sorted(_value(v, i) for v in source)
        key += "".join(f"{v}." for v in values) + "/"
    return key


def digests(sources: Sequence[Sequence[str | int]], pool_size: int, n: int) -> list[str]:
    """The N MD5 digests of RFC 3797 §4, uppercase hex, as the reference program prints.

    Digest i is ``MD5(c || key || c)`` with ``c`` the 2-byte big-endian
    counter i.  Raises what :func:`key_string` raises, and ``FormatError``
    for a pool or count outside the limits.
    """
    key = key_string(sources).encode("ascii")
    _check_sizes(pool_size, n)
    return [_digest(key, i).hex().upper() for i in range(n)]


def select(sources: Sequence[Sequence[str | int]], pool_size: int, n: int) -> list[int]:
    """Select ``n`` of a pool of ``pool_size`` (RFC 3797 §4); 1-based positions.

    For i = 0..n-1: read digest i as an unsigned 128-bit big-endian integer,
    take ``r = d mod (P - i)`` and select the (r+1)-th member, in published
    order, of those not yet selected.  Returns positions in selection order;
    the RFC §6 example gives ``[17, 7, 2, 16, 25, 23, 8, 24, 19, 13]``.
    Raises ``FormatError`` like :func:`digests`.
    """
    key = key_string(sources).encode("ascii")
    _check_sizes(pool_size, n)
    remaining = list(range(1, pool_size + 1))
    chosen: list[int] = []
    for i in range(n):
        r = int.from_bytes(_digest(key, i), "big") % (pool_size - i)
        chosen.append(remaining.pop(r))
    return chosen


def _digest(key: bytes, i: int) -> bytes:
    """``MD5(c || key || c)``, ``c`` = ``i`` as 2 bytes big-endian (RFC 3797 §4)."""
    counter = i.to_bytes(2, "big")
    return hashlib.md5(counter + key + counter, usedforsecurity=False).digest()


def _value(value: object, source: int) -> int:
    """One published value as an integer in [0, 2**31) (README §1, rule 1)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    else:
        raise FormatError(
            _RULE,
            f"source {source + 1}: value {value!r} is not a decimal integer",
            field="sources",
        )
    if not 0 <= number < VALUE_LIMIT:
        raise FormatError(
            _RULE,
            f"source {source + 1}: value {value!r} is outside [0, 2**31)",
            field="sources",
        )
    return number


def _check_sizes(pool_size: object, n: object) -> None:
    if (
        not isinstance(pool_size, int)
        or isinstance(pool_size, bool)
        or not 1 <= pool_size <= MAX_POOL
    ):
        raise FormatError(
            _RULE,
            f"pool size must be an integer 1..{MAX_POOL}, got {pool_size!r}",
            field="pool_size",
        )
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= pool_size:
        raise FormatError(
            _RULE,
            f"selection count must be an integer 0..{pool_size}, got {n!r}",
            field="select",
        )
