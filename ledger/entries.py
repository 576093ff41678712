"""Entries, the leaves of the log (DESIGN.md A4).

Entry bytes are the canonical JSON of exactly eight members.  ``command`` is
``null`` exactly for the system entry types, which the server appends as the
consequence of earlier entries or of time passing.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from ledger.canonical import canonical, parse_canonical
from ledger.errors import FormatError
from ledger.times import parse_time

FORMAT = "spotcheck-ledger/1"
ENTRY_MEMBERS = frozenset(
    {"format", "index", "logged_at", "stream", "seq", "type", "data", "command"}
)
SYSTEM_TYPES = frozenset(
    {"LedgerGenesis", "DrawPerformed", "CaseOpened", "RectificationOverdue", "PublicationOverdue"}
)
_STREAM = re.compile(r"[a-z_]+/[^\s/][^\s]*|ledger")
_TYPE = re.compile(r"[A-Z][A-Za-z]+")

Entry = dict[str, Any]


def make_entry(
    *,
    index: int,
    logged_at: str,
    stream: str,
    seq: int,
    type: str,
    data: dict[str, Any],
    command: dict[str, Any] | None,
) -> Entry:
    """Build an entry object (A4); the caller assigns index, seq and time."""
    return {
        "format": FORMAT,
        "index": index,
        "logged_at": logged_at,
        "stream": stream,
        "seq": seq,
        "type": type,
        "data": data,
        "command": command,
    }


def entry_bytes(entry: Entry) -> bytes:
    """A4: the canonical bytes of an entry (what the Merkle leaf hashes)."""
    return canonical(entry)


def leaf_hash(data: bytes) -> bytes:
    """A5/A8: SHA-256(0x00 || entry bytes)."""
    return hashlib.sha256(b"\x00" + data).digest()


def check_entry_shape(entry: object, index: int | None = None) -> Entry:
    """A4: exactly the eight members with the right types; returns the entry."""
    if not isinstance(entry, dict):
        raise FormatError("A4 entry", "an entry is a JSON object", index=index)
    if set(entry) != ENTRY_MEMBERS:
        raise FormatError(
            "A4 entry",
            "an entry has exactly format, index, logged_at, stream, seq, type, data, command",
            index=index,
        )
    if entry["format"] != FORMAT:
        raise FormatError("A4 entry", f"format must be {FORMAT!r}", field="format", index=index)
    idx = entry["index"]
    if not isinstance(idx, int) or isinstance(idx, bool) or idx < 0:
        raise FormatError("A4 entry", "index must be a non-negative integer", field="index",
                          index=index)
    parse_time(entry["logged_at"], field="logged_at")
    if not isinstance(entry["stream"], str) or not _STREAM.fullmatch(entry["stream"]):
        raise FormatError("A4 entry", "stream must be '<kind>/<id>'", field="stream", index=index)
    seq = entry["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise FormatError("A4 entry", "seq must be a positive integer", field="seq", index=index)
    if not isinstance(entry["type"], str) or not _TYPE.fullmatch(entry["type"]):
        raise FormatError("A4 entry", "type must be an entry type name", field="type",
                          index=index)
    if not isinstance(entry["data"], dict):
        raise FormatError("A4 entry", "data must be an object", field="data", index=index)
    system = entry["type"] in SYSTEM_TYPES
    if system and entry["command"] is not None:
        raise FormatError("A4 command", f"{entry['type']} is a system entry: command must be null",
                          field="command", index=index)
    if not system and not isinstance(entry["command"], dict):
        raise FormatError("A4 command", f"{entry['type']} needs the signed command that caused it",
                          field="command", index=index)
    return entry


def parse_entry(data: bytes, index: int | None = None) -> Entry:
    """Parse canonical entry bytes (A1, A4); FormatError carries ``index``."""
    try:
        value = parse_canonical(data)
    except FormatError as exc:
        raise FormatError(exc.rule, exc.reason, field=exc.field, index=index) from None
    entry = check_entry_shape(value, index)
    if index is not None and entry["index"] != index:
        raise FormatError("A4 index", f"entry says index {entry['index']}, its position is {index}",
                          field="index", index=index)
    return entry
