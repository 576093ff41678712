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
    """Return True when ``text`` holds a character outside the BMP; reject lone surrogates.

    Both tests run in C: strict UTF-8 encoding refuses lone surrogates, and
    ``max`` finds the highest code point.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        raise FormatError("A1 canonical", f"lone surrogate U+{code:04X}", field=path) from None
    return bool(text) and max(text) > "\uffff"


def check_json_value(value: JSONValue, path: str = "$", depth: int = 0) -> bool:
    """Check that ``value`` is signable JSON per A1; return True if a key is outside the BMP.

    Raises FormatError naming the JSON path and the rule for floats, integers
    beyond 2^53-1, non-string keys, lone surrogates and other Python types.
    Iterative, with exact-type dispatch: this runs on every command and entry.
    The common case (plain ``dict``/``list``/``str``/``int``, ASCII member
    names) is judged without building paths; anything else is walked again
    with paths, which names the culprit.
    """
    if depth == 0 and is_plain(value):
        return False
    wide = False
    stack: list[tuple[JSONValue, str, int]] = [(value, path, depth)]
    pop, push = stack.pop, stack.append
    while stack:
        item, where, level = pop()
        kind = type(item)
        if kind is str:
            _check_string(item, where)
        elif kind is dict:
            if level >= MAX_DEPTH:
                raise FormatError("A1 canonical", f"nesting deeper than {MAX_DEPTH}", field=where)
            for key, child in item.items():
                if type(key) is not str:
                    raise FormatError("A1 canonical", "member names must be strings", field=where)
                if not key.isascii():  # ASCII holds no surrogate and nothing beyond the BMP
                    wide |= _check_string(key, f"{where}.{key}")
                if type(child) is not str or child.isascii() is False:
                    push((child, f"{where}.{key}", level + 1))
        elif kind is list or kind is tuple:
            if level >= MAX_DEPTH:
                raise FormatError("A1 canonical", f"nesting deeper than {MAX_DEPTH}", field=where)
            for i, child in enumerate(item):
                push((child, f"{where}[{i}]", level + 1))
        elif kind is int:
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                raise FormatError(
                    "A1 canonical", "integer outside [-(2^53-1), 2^53-1]", field=where
                )
        elif item is None or kind is bool:
            continue
        elif isinstance(item, float):
            raise FormatError("A1 canonical", "floats are not allowed in signed data", field=where)
        elif isinstance(item, bool | int | str | dict | list):
            # subclasses (e.g. IntEnum, OrderedDict): check them as their base type
            push((_base(item), where, level))
        else:
            raise FormatError(
                "A1 canonical", f"{type(item).__name__} is not a JSON value", field=where
            )
    return wide


def is_plain(value: JSONValue) -> bool:
    """True when ``value`` is A1-valid JSON of exact types with ASCII member names.

    No paths, no errors: False sends the caller to the full check.
    """
    stack: list[tuple[JSONValue, int]] = [(value, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        item, level = pop()
        kind = type(item)
        if kind is dict:
            if level >= MAX_DEPTH:
                return False
            for key, child in item.items():
                if type(key) is not str or not key.isascii():
                    return False
                if type(child) is str:
                    if not child.isascii():
                        push((child, level + 1))
                elif type(child) is not bool and child is not None:
                    push((child, level + 1))
        elif kind is str:
            try:
                item.encode("utf-8")  # lone surrogates fail
            except UnicodeEncodeError:
                return False
        elif kind is list:
            if level >= MAX_DEPTH:
                return False
            for child in item:
                if type(child) is not str or not child.isascii():
                    push((child, level + 1))
        elif kind is int:
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                return False
        elif item is not None and kind is not bool:
            return False
    return True


def _base(item: JSONValue) -> JSONValue:
    for base in (bool, int, str):
        if isinstance(item, base):
            return base(item)
    return dict(item) if isinstance(item, dict) else list(item)


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
    return _sorted_dump(value)


def _sorted_dump(value: JSONValue) -> bytes:
    """Python's sorted compact dump: RFC 8785 for A1-valid values with BMP member names."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def canonical_plain(value: JSONValue) -> tuple[bytes, bool]:
    """``canonical(value)``, and whether ``value`` is plain JSON (A1).

    Plain: exact ``dict``/``list``/``str``/``int``/``bool``/``None`` with
    ASCII member names, valid under A1.  ``json.loads`` of the bytes then
    gives back a value equal to ``value`` with the same types, so a caller
    holding a plain value may skip parsing its own bytes back.
    """
    if is_plain(value):
        return _sorted_dump(value), True
    return canonical(value), False


def has_four_byte_utf8(data: bytes) -> bool:
    """True when UTF-8 ``data`` may hold a character outside the BMP (a 4-byte lead byte).

    Such text may sort differently under RFC 8785 (UTF-16 order) than in a
    sorted ``json.dumps``, so the fast paths hand it to the exact one.
    """
    return (
        b"\xf0" in data or b"\xf1" in data or b"\xf2" in data or b"\xf3" in data
        or b"\xf4" in data
    )


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
    except ValueError as exc:  # e.g. an integer literal beyond Python's 4300-digit limit
        raise FormatError("A1 canonical", f"not I-JSON: {exc}") from None
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
