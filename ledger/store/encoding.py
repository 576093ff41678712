"""Canonical bytes on the server, faster where ``orjson`` gives RFC 8785 byte for byte (A1).

For plain JSON (``ledger.canonical.is_plain``: exact JSON types, ASCII
member names, integers within +-(2^53-1), no lone surrogates) ``orjson``'s
compact, key-sorted output is the canonical form: ASCII names sort the same
in UTF-8 and UTF-16, and its escapes are RFC 8785's (only ``"``, ``\\`` and
control characters; ``\\b \\t \\n \\f \\r``, else ``\\u00xx``).  It is about
five times faster than the standard library's sorted dump.  Anything else,
or no ``orjson`` (it comes with the ``server`` extra), takes
``ledger.canonical``'s path.  ``tests/test_store_encoding.py`` checks both
agree on random documents.

Server-side only: the verify path does not import this module.
"""

from __future__ import annotations

from typing import Any

from ledger.canonical import JSONValue, canonical, canonical_plain, is_plain


def _optional_orjson() -> Any:
    """``orjson`` when installed (the ``server`` extra pins it), else None: json is the fallback."""
    try:
        import orjson
    except ImportError:
        return None
    return orjson


ORJSON = _optional_orjson()
_OPTIONS = 0 if ORJSON is None else ORJSON.OPT_SORT_KEYS | ORJSON.OPT_STRICT_INTEGER


def canonical_fast(value: JSONValue) -> tuple[bytes, bool]:
    """``canonical_plain(value)``: the canonical bytes and whether ``value`` is plain."""
    if ORJSON is None:
        return canonical_plain(value)
    if is_plain(value):
        return ORJSON.dumps(value, option=_OPTIONS), True
    return canonical(value), False  # not plain: canonical_plain would walk it once more
