"""Projections are folds over the log: ``state = apply(state, entry)`` (DESIGN.md B4, C6).

A projection (投影) reads accepted entries (A4 objects) in index order and
keeps a state that is a pure function of the log prefix it has seen, so
anyone can rebuild it from index 0 and get the same bytes. The store-side
runner (``ledger.store.projection_runner``) keeps each projection's state as
canonical JSON (A1) beside its position and catches up incrementally.

Conventions shared by every projection of this package:

- the state is plain JSON (``dict``/``list``/``str``/``int``/``bool``/``None``,
  string keys only, no floats), so ``to_json`` and ``from_json`` are the
  identity and ``canonical(to_json(state))`` is the stored form;
- ``apply`` is dispatched on ``entry["type"]`` through a dict of handlers
  (STYLE.md point 10); types a projection does not track pass through;
- for speed ``apply`` updates the state in place and returns it: the state
  passed in is consumed (the runner never keeps an old state);
- no I/O, no clock (a report's "now" is the last entry's ``logged_at``), no
  floats: counts are integers and ratios are decimal strings made from
  :class:`fractions.Fraction` (:func:`decimal_string`).

Standard library and ``ledger``'s pure modules only (the light path, B2).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from typing import Any, Generic, Protocol, TypeVar

from ledger.canonical import canonical, parse_json

__all__ = [
    "JSON",
    "DictFold",
    "Entry",
    "Projection",
    "decimal_string",
    "load_state",
    "run",
    "state_bytes",
]

JSON = Any
"""A JSON value as ``ledger.canonical`` reads and writes it (A1: integers only)."""

Entry = dict[str, Any]
"""An entry object of the log (A4)."""

S = TypeVar("S")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
Handler = Callable[[dict[str, Any], Entry], None]


class Projection(Protocol[S]):
    """A fold over the log (B4): ``name``, ``version``, ``initial``, ``apply`` and JSON I/O.

    ``version`` changes whenever the meaning of the state changes, so a stored
    state of an older version is rebuilt rather than trusted.
    """

    name: str
    version: int

    def initial(self) -> S:
        """The state before entry 0."""
        ...

    def apply(self, state: S, entry: Entry) -> S:
        """Fold one entry (entries come in index order); may reuse ``state``."""
        ...

    def to_json(self, state: S) -> JSON:
        """The state as a JSON value (its canonical bytes are what the runner stores)."""
        ...

    def from_json(self, value: JSON) -> S:
        """The state back from :meth:`to_json`'s value."""
        ...


class DictFold(Generic[S]):
    """Base of this package's projections: a JSON-dict state and a handler table.

    Subclasses set ``name``, ``version`` and ``handlers`` (entry type -> function
    ``(state, entry) -> None`` that updates the state in place) and implement
    :meth:`initial`.

    A subclass that sets ``last_key`` also keeps ``state[last_key]`` =
    ``{"index", "logged_at"}`` of the last entry folded, whatever its type
    (a report's "now"). Only the last entry counts, so a runner may skip
    the entries no handler takes and call :meth:`stamp` with the last entry
    it read before it stores the state: the state is the same.
    """

    name: str = ""
    version: int = 1
    handlers: Mapping[str, Handler] = {}
    last_key: str | None = None

    def initial(self) -> dict[str, Any]:
        raise NotImplementedError

    def apply(self, state: dict[str, Any], entry: Entry) -> dict[str, Any]:
        """Dispatch on the entry type (STYLE.md point 10); unknown types pass through."""
        handler = self.handlers.get(entry["type"])
        if handler is not None:
            handler(state, entry)
        if self.last_key is not None:
            self.stamp(state, entry["index"], entry["logged_at"])
        return state

    def stamp(self, state: dict[str, Any], index: int, logged_at: str) -> None:
        """Record entry ``index``, logged at ``logged_at``, as the last one folded."""
        if self.last_key is not None:
            state[self.last_key] = {"index": index, "logged_at": logged_at}

    def to_json(self, state: dict[str, Any]) -> JSON:
        return state

    def from_json(self, value: JSON) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ValueError(f"projection {self.name}: stored state is not a JSON object")
        return value


def run(projection: Projection[S], entries: Iterable[Entry], state: S | None = None) -> S:
    """Fold ``entries`` (A4 objects, in index order) from ``state`` or the initial state."""
    current = projection.initial() if state is None else state
    apply = projection.apply
    for entry in entries:
        current = apply(current, entry)
    return current


def state_bytes(projection: Projection[S], state: S) -> bytes:
    """The canonical JSON bytes (A1) of a projection state: what the runner stores.

    Fast path: the folds hold no floats, so Python's sorted compact
    ``json.dumps`` is RFC 8785 byte for byte unless a member name lies outside
    the Basic Multilingual Plane (UTF-16 order then differs from code-point
    order); only then is the slower :func:`ledger.canonical.canonical` used.
    ``tests/test_projections.py`` checks both agree on a season's states.
    """
    value = projection.to_json(state)
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False, check_circular=False)
    if text.isascii() or _ASTRAL.search(text) is None:
        return text.encode()
    return canonical(value)


def load_state(projection: Projection[S], data: bytes) -> S:
    """The state back from :func:`state_bytes` (strict JSON, A1: no floats, no duplicates)."""
    return projection.from_json(parse_json(data))


def decimal_string(value: Fraction | int, digits: int = 6) -> str:
    """``value`` as a fixed-point decimal string with ``digits`` fraction digits.

    Exact rational arithmetic rounded half away from zero on the last digit,
    e.g. ``Fraction(2, 3)`` -> ``"0.666667"``, ``Fraction(-1, 8), 2`` -> ``"-0.13"``.
    No float is involved, so every machine prints the same string.
    """
    value = Fraction(value)
    scale = 10**digits
    negative = value < 0
    magnitude = -value if negative else value
    scaled = magnitude * scale
    units = scaled.numerator // scaled.denominator
    if (scaled - units) * 2 >= 1:
        units += 1
    whole, frac = divmod(units, scale)
    sign = "-" if negative and units else ""
    if digits == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:0{digits}d}"
