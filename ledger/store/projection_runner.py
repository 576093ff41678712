"""Keep projection states (投影状态) in the store and bring them up to date (DESIGN.md B3, B4).

Each projection (``projections.registry.PROJECTIONS``, or any object of the
``projections.fold.Projection`` protocol) has one row in the store's
``projection_states`` table: its name, its fold version, ``position`` (the
index of the last entry applied, -1 before entry 0) and ``state`` (the
canonical JSON bytes of the state, A1). The table lives beside the ledger's
tables (SQLite file or PostgreSQL schema) and is created on first use.

Catching up reads the entries after the lowest position, applies them in
index order and writes every changed state **with** its new position in one
transaction. A crash therefore loses at most the work since the last commit
and never applies an entry twice or skips one: the state on disk is always
the fold of exactly the entries up to its position. A write is conditional on
the position read (``WHERE position = old``), so two runners on one store
cannot both apply the same entries; the loser reloads and carries on.

``rebuild(name)`` resets a projection to its initial state at position -1 and
folds it again from index 0 (a progress callback reports ``(done, total)``).
A stored state whose fold version differs from the code's is rebuilt too.

This module may import the store's libraries; the folds themselves stay on the
light path (B2).
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ledger.errors import StoreError
from ledger.store.backend import Backend
from projections.fold import Projection, state_bytes

__all__ = [
    "TABLE",
    "Conflict",
    "ProjectionRunner",
    "parse_stored_entry",
    "report_at_head",
]

TABLE = "projection_states"
Progress = Callable[[int, int], None]

_TYPE_MARK = b',"type":"'


class Conflict(StoreError):
    """Another runner moved a projection's position since this one read it."""


@dataclass
class _Slot:
    projection: Projection[Any]
    state: Any
    position: int  # last index applied, -1 before entry 0
    stored_position: int  # the position the table holds
    types: frozenset[str] | None  # entry types the fold handles; None = every type


def _types_of(projection: Projection[Any]) -> frozenset[str] | None:
    """The entry types a fold reacts to, when it says so (``DictFold.handlers``).

    A fold that overrides ``apply`` (e.g. to see every entry) gets None.
    """
    from projections.fold import DictFold

    if isinstance(projection, DictFold) and type(projection).apply is DictFold.apply:
        return frozenset(projection.handlers)
    return None


_TAIL_MARK = ',"format":"spotcheck-ledger/1","index":'
_TAIL = re.compile(
    r'(0|[1-9][0-9]*),"logged_at":"([^"\\]*)","seq":([1-9][0-9]*),'
    r'"stream":("(?:[^"\\]|\\.)*"),"type":"([A-Za-z]+)"\}\Z'
)
_SYSTEM_HEAD = '{"command":null,"data":'
_SIGNED_END = '=="},"data":'  # the end of the command's base64 "sig", then "data"
_DECODER = json.JSONDecoder()


class _Entry(dict[str, Any]):
    """An entry object whose ``command`` is parsed only when a fold asks for it."""

    __slots__ = ("_text",)
    _text: str

    def __missing__(self, key: str) -> Any:
        if key != "command":
            raise KeyError(key)
        value = json.loads(self._text)["command"]
        self["command"] = value
        return value

    def get(self, key: str, default: Any = None) -> Any:
        if key == "command" and "command" not in self:
            return self["command"]
        return super().get(key, default)


def parse_stored_entry(data: bytes) -> dict[str, Any]:
    """The entry object of stored canonical bytes (A1, A4), parsing the signed command lazily.

    Canonical JSON sorts the members: ``command``, ``data``, then the scalars,
    ``type`` last. The scalars are read from the tail; ``data`` is decoded
    with the C decoder from where the command ends (after its base64 ``sig``,
    the command's last member). The result is accepted only if ``data`` ends
    exactly where the tail begins (a value that starts anywhere else cannot),
    else the whole entry is parsed. Folds get equal objects either way; the
    command, half the bytes of most entries, is parsed only if a fold reads it.
    """
    text = data.decode()
    at = text.rfind(_TAIL_MARK)
    tail = _TAIL.match(text, at + len(_TAIL_MARK)) if at > 0 else None
    if tail is not None:
        signed = not text.startswith(_SYSTEM_HEAD)
        if signed:
            mark = text.find(_SIGNED_END, 0, at)
            start = mark + len(_SIGNED_END) if mark >= 0 else -1
        else:
            start = len(_SYSTEM_HEAD)
        if start > 0:
            try:
                value, end = _DECODER.raw_decode(text, start)
            except ValueError:
                end = -1
            if end == at:
                stream = tail.group(4)
                fields = {
                    "data": value,
                    "format": "spotcheck-ledger/1",
                    "index": int(tail.group(1)),
                    "logged_at": tail.group(2),
                    "seq": int(tail.group(3)),
                    "stream": json.loads(stream) if "\\" in stream else stream[1:-1],
                    "type": tail.group(5),
                }
                if not signed:
                    fields["command"] = None
                    return fields
                entry = _Entry(fields)
                entry._text = text
                return entry
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def _entry_type(data: bytes) -> str | None:
    """The ``type`` of canonical entry bytes: sorted keys put it last (A1, A4)."""
    at = data.rfind(_TYPE_MARK)
    if at < 0 or not data.endswith(b'"}'):
        return None
    return data[at + len(_TYPE_MARK) : -2].decode()


class ProjectionRunner:
    """Projection states kept in the store, caught up incrementally (B4).

    One runner object belongs to one thread; several runners (threads or
    processes) on one store are safe, their writes being conditional on the
    position they read. A catch-up switches the cyclic garbage collector off
    while it runs (the folds make no cycles) and restores it after.
    """

    def __init__(
        self,
        backend: Backend,
        projections: Mapping[str, Projection[Any]] | Iterable[Projection[Any]] | None = None,
        *,
        page: int = 1000,
        commit_every: int = 10_000,
    ) -> None:
        if projections is None:
            from projections.registry import PROJECTIONS

            projections = PROJECTIONS
        items = projections.values() if isinstance(projections, Mapping) else list(projections)
        self.backend = backend
        self.projections: dict[str, Projection[Any]] = {p.name: p for p in items}
        self.page = page
        self.commit_every = commit_every
        self._slots: dict[str, _Slot] = {}
        self._postgres = backend.url.kind == "postgresql"
        if self._postgres:
            schema = backend.recorder.datastore.schema.replace('"', '""')  # type: ignore[union-attr]
            self.table = f'"{schema}".{TABLE}'
            self._mark = "%s"
        else:
            self.table = TABLE
            self._mark = "?"
        self._ready = False

    # -- the table -------------------------------------------------------------
    def _sql(self, statement: str) -> str:
        return statement.replace("?", self._mark)

    def ensure_table(self) -> None:
        """Create ``projection_states`` on first use (SQLite and PostgreSQL)."""
        if self._ready:
            return
        blob = "bytea" if self._postgres else "BLOB"
        with self.backend.recorder.datastore.transaction(commit=True) as curs:
            curs.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} (name TEXT PRIMARY KEY, "
                f"version INTEGER NOT NULL, position BIGINT NOT NULL, state {blob} NOT NULL)"
            )
        self._ready = True

    def _read_row(self, name: str) -> tuple[int, int, bytes] | None:
        with self.backend.recorder.datastore.transaction(commit=False) as curs:
            curs.execute(
                self._sql(f"SELECT version, position, state FROM {self.table} WHERE name = ?"),
                [name],
            )
            row = curs.fetchone()
        if row is None:
            return None
        return int(row["version"]), int(row["position"]), bytes(row["state"])

    def _load(self, name: str) -> _Slot:
        """The slot of ``name``: from memory, else from the table, else a fresh row."""
        slot = self._slots.get(name)
        if slot is not None:
            return slot
        projection = self.projections[name]
        self.ensure_table()
        row = self._read_row(name)
        if row is None:
            initial = projection.initial()
            with self.backend.recorder.datastore.transaction(commit=True) as curs:
                curs.execute(
                    self._sql(
                        f"INSERT INTO {self.table} (name, version, position, state) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING"
                    ),
                    [name, projection.version, -1, state_bytes(projection, initial)],
                )
            row = self._read_row(name)
            if row is None:
                raise AssertionError("bad math: projection row vanished after insert")
        version, position, data = row
        if version != projection.version:
            state, position = projection.initial(), -1
            stored = self._reset(name, projection, expected=row[1])
        else:
            state = projection.from_json(json.loads(data))
            stored = position
        slot = _Slot(projection, state, position, stored, _types_of(projection))
        self._slots[name] = slot
        return slot

    def _reset(self, name: str, projection: Projection[Any], *, expected: int) -> int:
        """Store the initial state at position -1 (a version change or a rebuild)."""
        self._write(
            {
                name: (
                    projection.version,
                    -1,
                    state_bytes(projection, projection.initial()),
                    expected,
                )
            }
        )
        return -1

    def _write(self, rows: Mapping[str, tuple[int, int, bytes, int]]) -> None:
        """Write ``name -> (version, position, state, expected old position)`` in ONE transaction.

        Raises :class:`Conflict` (and writes nothing) when a row's position is
        no longer the expected one: another runner got there first.
        """
        if not rows:
            return
        with self.backend.recorder.datastore.transaction(commit=True) as curs:
            for name, (version, position, data, expected) in rows.items():
                curs.execute(
                    self._sql(
                        f"UPDATE {self.table} SET version = ?, position = ?, state = ? "
                        "WHERE name = ? AND position = ?"
                    ),
                    [version, position, data, name, expected],
                )
                if self._changed(curs) != 1:
                    raise Conflict(
                        "B4 projections",
                        f"projection {name!r} is no longer at position {expected}: another "
                        "runner moved it; reload and retry",
                    )

    def _changed(self, curs: Any) -> int:
        if self._postgres:
            return int(curs.rowcount)
        curs.execute("SELECT changes() AS n")
        return int(curs.fetchone()["n"])

    # -- reading ---------------------------------------------------------------
    def position(self, name: str) -> int:
        """The index of the last entry applied to ``name`` (-1 before entry 0)."""
        return self._load(name).position

    def state(self, name: str) -> Any:
        """The current state of ``name`` (as of :meth:`position`)."""
        return self._load(name).state

    def stored(self, name: str) -> tuple[int, bytes] | None:
        """``(position, state bytes)`` as the table holds them, or None before first use."""
        self.ensure_table()
        row = self._read_row(name)
        return None if row is None else (row[1], row[2])

    def forget(self) -> None:
        """Drop the in-memory states; the next call reloads them from the table."""
        self._slots.clear()

    # -- catching up -----------------------------------------------------------
    def catch_up(
        self,
        names: Iterable[str] | None = None,
        *,
        until: int | None = None,
        progress: Progress | None = None,
    ) -> int:
        """Apply every entry after each projection's position; returns the size reached.

        ``until`` stops at that size (entries ``.. until-1``), else at the
        head. Each projection starts at its own position; entries are read once
        for all of them. States and positions are committed together every
        ``commit_every`` entries and at the end. On :class:`Conflict` the
        in-memory states are dropped and the call is retried once.
        """
        wanted = list(self.projections) if names is None else list(names)
        for name in wanted:
            if name not in self.projections:
                raise StoreError(
                    "B4 projections",
                    f"unknown projection {name!r}; known: {sorted(self.projections)}",
                    field="name",
                )
        # The folds build no reference cycles; the cyclic collector would only
        # traverse the growing states again and again (half the time of a rebuild).
        collecting = gc.isenabled()
        gc.disable()
        try:
            try:
                return self._catch_up(wanted, until, progress)
            except Conflict:
                self.forget()
                return self._catch_up(wanted, until, progress)
        finally:
            if collecting:
                gc.enable()

    def _catch_up(self, names: list[str], until: int | None, progress: Progress | None) -> int:
        slots = {name: self._load(name) for name in names}
        if not slots:
            return 0
        head = self.backend.head_size() if until is None else until
        start = min(slot.position for slot in slots.values()) + 1
        total = max(head - start, 0)
        if progress is not None:
            progress(0, total)
        # Slots join when the entries reach their own position (a slot that was
        # further along skips what it has already applied).
        waiting = sorted(slots.values(), key=lambda slot: slot.position)
        active: list[_Slot] = []
        every_type = any(slot.types is None for slot in waiting)
        wanted = frozenset().union(*(slot.types or () for slot in waiting))
        pending = 0
        done = 0
        last = start - 1
        for index, data in self.backend.read_entries(start, head, page=self.page):
            while waiting and waiting[0].position < index:
                active.append(waiting.pop(0))
            kind = None if every_type else _entry_type(data)
            if every_type or kind is None or kind in wanted:
                entry = parse_stored_entry(data)
                kind = entry["type"]
                for slot in active:
                    if slot.types is None or kind in slot.types:
                        slot.state = slot.projection.apply(slot.state, entry)
            last = index
            pending += 1
            done += 1
            if pending >= self.commit_every:
                for slot in active:
                    slot.position = last
                self._commit(slots)
                pending = 0
                if progress is not None:
                    progress(done, total)
        for slot in active:
            slot.position = last
        self._commit(slots)
        if progress is not None:
            progress(done, total)
        return min(slot.position for slot in slots.values()) + 1

    def _commit(self, slots: Mapping[str, _Slot]) -> None:
        rows = {
            name: (
                slot.projection.version,
                slot.position,
                state_bytes(slot.projection, slot.state),
                slot.stored_position,
            )
            for name, slot in slots.items()
            if slot.position != slot.stored_position
        }
        self._write(rows)
        for name in rows:
            slots[name].stored_position = slots[name].position

    def rebuild(self, name: str | None = None, *, progress: Progress | None = None) -> int:
        """Fold ``name`` (or every projection) again from index 0; returns the size reached.

        The reset to the initial state is committed first, so a crash during
        the rebuild leaves a consistent, resumable state.
        """
        names = list(self.projections) if name is None else [name]
        for each in names:
            if each not in self.projections:
                raise StoreError(
                    "B4 projections",
                    f"unknown projection {each!r}; known: {sorted(self.projections)}",
                    field="name",
                )
            slot = self._load(each)
            self._reset(each, slot.projection, expected=slot.stored_position)
            slot.state = slot.projection.initial()
            slot.position = slot.stored_position = -1
        return self.catch_up(names, progress=progress)


def report_at_head(
    runner: ProjectionRunner,
    kind: str,
    params: Mapping[str, Any],
    *,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """A report (C7) from the runner's states caught up to the head, with its size and root.

    The projections the kind needs are caught up together, so they stand at
    the same size; the root is the store's tree hash at that size (A5). The
    result equals ``projections.registry.REPORT_KINDS[kind]`` over the same
    entries (``tests/test_projection_runner.py`` checks it).
    """
    from ledger import merkle
    from projections.registry import REPORT_SPECS, report_from_states

    spec = REPORT_SPECS.get(kind)
    if spec is None:
        raise StoreError(
            "C7 report",
            f"unknown report kind {kind!r}; known: {sorted(REPORT_SPECS)}",
            field="kind",
        )
    size = runner.catch_up(spec.needs, progress=progress)
    positions = {runner.position(name) for name in spec.needs}
    if positions != {size - 1}:
        raise AssertionError(f"bad math: projections at {sorted(positions)}, size {size}")
    root = merkle.tree_hash(size, runner.backend).hex()
    states = {name: runner.state(name) for name in spec.needs}
    return report_from_states(kind, states, {**params, "tree_size": size, "root": root})
