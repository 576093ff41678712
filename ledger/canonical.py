"""Canonical bytes (DESIGN.md A1): RFC 8785 JSON Canonicalization Scheme.

``canonical(value)`` is the only way the ledger turns a JSON value into bytes
that are hashed or signed; ``parse_canonical(data)`` is the only way it reads
them back, and it refuses bytes that are not the canonical form of their own
JSON.  Integers only: floats, integers outside +-(2^53-1), duplicate member
names and lone surrogates make a document invalid.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from ledger.errors import FormatError

MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 64

JSONValue = Any  # None | bool | int | str | list[JSONValue] | dict[str, JSONValue]


def _check_string(text: str, path: str) -> bool:
    """Return True when ``text`` holds a character outside the BMP; reject lone surrogates."""
    wide = False
    for ch in text:
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:
            raise FormatError("A1 canonical", f"lone surrogate U+{code:04X}", field=path)
        if code > 0xFFFF:
            wide = True
    return wide


def check_json_value(value: JSONValue, path: str = "$", depth: int = 0) -> bool:
    """Check that ``value`` is signable JSON per A1; return True if a key is outside the BMP.

    Raises FormatError naming the JSON path and the rule for floats, integers
    beyond 2^53-1, non-string keys, lone surrogates and other Python types.
    """
    if depth > MAX_DEPTH:
        raise FormatError("A1 canonical", f"nesting deeper than {MAX_DEPTH}", field=path)
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise FormatError("A1 canonical", "integer outside [-(2^53-1), 2^53-1]", field=path)
        return False
    if isinstance(value, str):
        _check_string(value, path)
        return False
    if isinstance(value, float):
        raise FormatError("A1 canonical", "floats are not allowed in signed data", field=path)
    if isinstance(value, list | tuple):
        wide = False
        for i, item in enumerate(value):
            wide |= check_json_value(item, f"{path}[{i}]", depth + 1)
        return wide
    if isinstance(value, dict):
        wide = False
        for key, item in value.items():
            if not isinstance(key, str):
                raise FormatError("A1 canonical", "member names must be strings", field=path)
            wide |= _check_string(key, f"{path}.{key}")
            wide |= check_json_value(item, f"{path}.{key}", depth + 1)
        return wide
    raise FormatError("A1 canonical", f"{type(value).__name__} is not a JSON value", field=path)


def canonical(value: JSONValue) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``value`` (A1).

    For values whose member names are all in the Basic Multilingual Plane,
    Python's sorted compact ``json.dumps`` equals RFC 8785 byte for byte once
    floats are excluded (same escapes, code-point order = UTF-16 order); it is
    four times faster than the ``rfc8785`` package, which handles the rest.
    ``tests/test_canonical.py`` checks the two agree on random documents.
    Raises FormatError for anything A1 forbids.
    """
    if check_json_value(value):
        return rfc8785.dumps(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _reject_float(text: str) -> Any:
    raise FormatError("A1 canonical", f"number {text} is not an integer")


def _reject_constant(text: str) -> Any:
    raise FormatError("A1 canonical", f"{text} is not JSON")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise FormatError("A1 canonical", "duplicate member name", field=key)
        obj[key] = value
    return obj


def parse_json(data: bytes | str) -> JSONValue:
    """Parse strict I-JSON: no floats, duplicate names, NaN, lone surrogates (A1)."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormatError("A1 canonical", f"not UTF-8 at byte {exc.start}") from None
    else:
        text = data
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_float=_reject_float,
            parse_constant=_reject_constant,
        )
    except json.JSONDecodeError as exc:
        raise FormatError("A1 canonical", f"not JSON: {exc.msg} at {exc.pos}") from None
    except RecursionError:
        raise FormatError("A1 canonical", "nesting too deep") from None
    check_json_value(value)
    return value


def parse_canonical(data: bytes) -> JSONValue:
    """Parse ``data`` and require it to be the canonical form of its own JSON (A1).

    Returns the value; raises FormatError (rule "A1 canonical") otherwise.
    """
    value = parse_json(data)
    if canonical(value) != data:
        raise FormatError("A1 canonical", "bytes are not the canonical form of their JSON")
    return value
