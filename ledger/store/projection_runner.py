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
``rebuild()`` of several projections on a store of at least
``parallel_from`` entries uses ``workers`` processes (default
``ledger.sigcheck.cores()``): the reset is committed first; the projections are split
into groups of about equal cost (:data:`COSTS`); each group but the heaviest
goes to a worker process started with ``spawn`` (a fresh interpreter: no
connection, lock or thread is inherited) that opens its own connection,
folds entries ``0 .. head-1`` and sends back the state bytes; this process
folds the heaviest group meanwhile, then writes every state with its
position in ONE transaction. Crash safety is that of a catch-up with one
commit at the end: before it the table holds the reset states (position -1),
after it every state at the head. A worker's error is raised as
:class:`ledger.errors.StoreError` with nothing written; a worker that cannot
start or dies makes this process fold everything itself. As with any
``spawn`` start, a program that calls ``rebuild()`` must guard its own
top-level code with ``if __name__ == "__main__"``.

Speed (``bench/projections.py``): only entries of a type some fold handles
are parsed (the type is read from the canonical bytes' tail); a ``DictFold``
is called through its handler table directly, and one with a ``last_key``
(``compliance``'s "now") is stamped with the last entry before each commit
instead of seeing every entry. With ``orjson`` installed (the ``server``
extra) it parses entries and encodes states, with checks that keep the
objects those of ``json.loads`` and the bytes those of
``projections.fold.state_bytes``; without it the stdlib paths are used.

This module may import the store's libraries; the folds themselves stay on the
light path (B2).
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import re
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from ledger.canonical import has_four_byte_utf8
from ledger.errors import StoreError
from ledger.sigcheck import cores
from ledger.store.backend import Backend
from ledger.store.encoding import ORJSON
from ledger.workers import follow_parent
from projections.fold import Projection, state_bytes

__all__ = [
    "TABLE",
    "Conflict",
    "ProjectionRunner",
    "encode_state",
    "parse_entry",
    "parse_stored_entry",
    "report_at_head",
]

TABLE = "projection_states"
Progress = Callable[[int, int], None]

_TYPE_MARK = b',"type":"'


class Conflict(StoreError):
    """Another runner moved a projection's position since this one read it."""


@dataclass(eq=False)
class _Slot:
    projection: Projection[Any]
    position: int  # last index applied, -1 before entry 0
    stored_position: int  # the position the table holds
    types: frozenset[str] | None  # entry types the fold handles; None = every type
    value: Any = None  # the state, once parsed
    data: bytes | None = field(default=None, repr=False)  # state bytes not parsed yet

    @property
    def state(self) -> Any:
        """The state; stored bytes are parsed on first use (a rebuild's states need not be)."""
        if self.data is not None:
            self.value = self.projection.from_json(_loads(self.data))
            self.data = None
        return self.value

    @state.setter
    def state(self, value: Any) -> None:
        self.value = value
        self.data = None


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


def _entry_type(data: bytes) -> bytes | None:
    """The ``type`` of canonical entry bytes, as UTF-8: sorted keys put it last (A1, A4)."""
    at = data.rfind(_TYPE_MARK)
    if at < 0 or not data.endswith(b'"}'):
        return None
    return data[at + len(_TYPE_MARK) : -2]


_ORJSON = ORJSON


def _loads(data: bytes) -> Any:
    """Parse canonical JSON bytes (a stored state): ``orjson`` when installed, else json."""
    if _ORJSON is not None:
        try:
            return _ORJSON.loads(data)
        except _ORJSON.JSONDecodeError:
            pass  # e.g. an escaped lone surrogate, which json accepts: let json decide
    return json.loads(data)


def parse_entry(data: bytes) -> dict[str, Any]:
    """The entry object (A4) of stored canonical bytes, as ``json.loads`` would give it.

    With ``orjson`` installed the whole entry is parsed by it (about three
    times faster than :func:`parse_stored_entry`, which skips the command).
    The stored entries are canonical JSON (A1): integers within +-(2^53-1),
    no floats, no duplicate names, so both parsers give equal objects
    (``tests/test_projection_runner.py`` checks it with hypothesis). Anything
    ``orjson`` refuses goes to :func:`parse_stored_entry`.
    """
    if _ORJSON is not None:
        try:
            value = _ORJSON.loads(data)
        except _ORJSON.JSONDecodeError:
            value = None
        if type(value) is dict:
            return value
    return parse_stored_entry(data)


def encode_state(projection: Projection[Any], state: Any) -> bytes:
    """The canonical bytes (A1) of a state: ``projections.fold.state_bytes``, faster.

    With ``orjson`` installed: its compact, key-sorted output with integers
    limited to 53 bits is RFC 8785 byte for byte for the folds' JSON (no
    floats; same escapes) as long as no member name lies outside the Basic
    Multilingual Plane (UTF-8 order then differs from UTF-16 order). Bytes
    with a code point beyond the BMP, and anything ``orjson`` refuses, go to
    ``state_bytes``. ``tests/test_projection_runner.py`` checks both agree.
    """
    if _ORJSON is not None:
        try:
            data: bytes = _ORJSON.dumps(
                projection.to_json(state),
                option=_ORJSON.OPT_SORT_KEYS | _ORJSON.OPT_STRICT_INTEGER,
            )
        except TypeError:  # orjson.JSONEncodeError: a big integer, a lone surrogate, ...
            return state_bytes(projection, state)
        if data.isascii() or not has_four_byte_utf8(data):
            return data
    return state_bytes(projection, state)


_Call = tuple[Callable[[Any, dict[str, Any]], Any], Any]


def _apply_to(slot: _Slot, entry: dict[str, Any]) -> None:
    slot.state = slot.projection.apply(slot.state, entry)


def _dispatch(active: Iterable[_Slot]) -> tuple[dict[bytes, list[_Call]], list[_Call]]:
    """Per entry type (UTF-8), the calls ``func(arg, entry)`` that fold it into the active slots.

    A ``DictFold`` that keeps the base ``apply`` (its ``types`` are known)
    is called through its handler directly: ``DictFold.apply`` is exactly
    ``handlers[type](state, entry)`` on the state it updates in place. Any
    other fold gets ``apply`` for every entry (the second result, also the
    calls of a type no ``DictFold`` handles).
    """
    every: list[_Call] = [(_apply_to, slot) for slot in active if slot.types is None]
    table: dict[bytes, list[_Call]] = {}
    for slot in active:
        if slot.types is None:
            continue
        handlers = slot.projection.handlers  # type: ignore[attr-defined]
        state = slot.state
        for kind in slot.types:
            table.setdefault(kind.encode(), list(every)).append((handlers[kind], state))
    return table, every


def _fold(
    slots: Iterable[_Slot],
    entries: Iterable[tuple[int, bytes]],
    *,
    every: int,
    commit: Callable[[list[_Slot], int, int], None],
) -> None:
    """Fold ``entries`` into the slots, each from the entry after its own position.

    ``commit(active, last, done)`` is called every ``every`` entries and at the
    end, with the slots that have joined, the last index applied and the count.
    Only entries of a type some active fold handles are parsed; a ``DictFold``
    with a ``last_key`` is stamped with the last entry read before each commit.
    """
    waiting = sorted(slots, key=lambda slot: slot.position)
    active: list[_Slot] = []
    table: dict[bytes, list[_Call]] = {}
    others: list[_Call] = []
    parse = parse_entry
    pending = done = 0
    last = -1
    data = b""

    def stamp() -> None:
        stamped = [slot for slot in active if slot.types is not None
                   and getattr(slot.projection, "last_key", None) is not None]
        if stamped:
            entry = parse(data)
            for slot in stamped:
                slot.projection.stamp(slot.state, entry["index"],  # type: ignore[attr-defined]
                                      entry["logged_at"])

    for index, data in entries:
        if waiting and waiting[0].position < index:
            while waiting and waiting[0].position < index:
                active.append(waiting.pop(0))
            table, others = _dispatch(active)
        kind = _entry_type(data)
        if kind is not None:
            calls = table.get(kind, others)
            if calls:
                entry = parse(data)
                for func, arg in calls:
                    func(arg, entry)
        else:
            entry = parse(data)
            for func, arg in table.get(entry["type"].encode(), others):
                func(arg, entry)
        last = index
        pending += 1
        done += 1
        if pending >= every:
            stamp()
            commit(active, last, done)
            pending = 0
    if done:
        stamp()
    commit(active, last, done)


class _WorkerError(Exception):
    """A worker's error, as text: the ledger's errors do not cross a process boundary."""


def _fold_in_worker(url: str, names: list[str], head: int, page: int) -> dict[str, bytes]:
    """A worker process of a parallel rebuild: fold ``names`` over entries ``0..head-1``.

    Opens its own connection to the store, reads and parses only what its
    folds need and returns their state bytes; the parent writes them.
    """
    from projections.registry import PROJECTIONS

    gc.disable()  # as in catch_up: the folds make no cycles
    try:
        backend = Backend(url)
        try:
            slots = {n: _Slot(PROJECTIONS[n], -1, -1, _types_of(PROJECTIONS[n]),
                              PROJECTIONS[n].initial()) for n in names}
            _fold(slots.values(), backend.read_entries(0, head, page=page), every=head + 1,
                  commit=lambda active, last, done: None)
            return {n: encode_state(slot.projection, slot.state) for n, slot in slots.items()}
        finally:
            backend.close()
    except Exception as exc:
        raise _WorkerError(f"{type(exc).__name__}: {exc}") from None


COSTS = {"cases": 12, "register": 6, "workload": 3, "progress": 2, "compliance": 1, "fairness": 1}
"""Relative cost of each projection beyond reading the entries (its share of parsing, its
fold, its encoding; measured on bench/projections.py's season), to balance the workers. On 2
cores: cases + fairness | register + workload + progress + compliance."""


def _partition(names: Iterable[str], parts: int) -> list[list[str]]:
    """Split names into at most ``parts`` groups of about equal cost (:data:`COSTS`).

    Greedy, heaviest name first, each to the lightest group so far; the
    groups come back heaviest first (the caller folds that one itself).
    """
    groups: list[tuple[int, list[str]]] = [(0, []) for _ in range(parts)]
    for name in sorted(names, key=lambda n: (-COSTS.get(n, 1), n)):
        at = min(range(parts), key=lambda i: groups[i][0])
        load, members = groups[at]
        groups[at] = (load + COSTS.get(name, 1), [*members, name])
    return [members for _, members in sorted(groups, key=lambda g: -g[0]) if members]


class ProjectionRunner:
    """Projection states kept in the store, caught up incrementally (B4).

    One runner object belongs to one thread; several runners (threads or
    processes) on one store are safe, their writes being conditional on the
    position they read. A catch-up switches the cyclic garbage collector off
    while it runs (the folds make no cycles) and restores it after.

    ``workers`` (default ``ledger.sigcheck.cores()``; 1 = never) and ``parallel_from``
    (the store size from which a rebuild of several projections is split
    over processes, 20,000 entries: below it a worker's start-up costs more
    than it saves) set the parallel rebuild.
    """

    def __init__(
        self,
        backend: Backend,
        projections: Mapping[str, Projection[Any]] | Iterable[Projection[Any]] | None = None,
        *,
        page: int = 1000,
        commit_every: int = 10_000,
        workers: int | None = None,
        parallel_from: int = 20_000,
    ) -> None:
        if projections is None:
            from projections.registry import PROJECTIONS

            projections = PROJECTIONS
        items = projections.values() if isinstance(projections, Mapping) else list(projections)
        self.backend = backend
        self.projections: dict[str, Projection[Any]] = {p.name: p for p in items}
        self.page = page
        self.commit_every = commit_every
        self.workers = cores() if workers is None else max(1, workers)
        self.parallel_from = parallel_from
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
                    [name, projection.version, -1, encode_state(projection, initial)],
                )
            row = self._read_row(name)
            if row is None:
                raise AssertionError("bad math: projection row vanished after insert")
        version, position, data = row
        types = _types_of(projection)
        if version != projection.version:
            stored = self._reset(name, projection, expected=row[1])
            slot = _Slot(projection, -1, stored, types, projection.initial())
        else:
            slot = _Slot(projection, position, position, types, data=data)
        self._slots[name] = slot
        return slot

    def _reset(self, name: str, projection: Projection[Any], *, expected: int) -> int:
        """Store the initial state at position -1 (a version change or a rebuild)."""
        self._write(
            {
                name: (
                    projection.version,
                    -1,
                    encode_state(projection, projection.initial()),
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

        def commit(active: list[_Slot], last: int, done: int) -> None:
            for slot in active:
                slot.position = last
            self._commit(slots)
            if progress is not None:
                progress(done, total)

        # Slots join when the entries reach their own position (a slot that was
        # further along skips what it has already applied).
        _fold(slots.values(), self.backend.read_entries(start, head, page=self.page),
              every=self.commit_every, commit=commit)
        return min(slot.position for slot in slots.values()) + 1

    def _commit(self, slots: Mapping[str, _Slot]) -> None:
        rows = {
            name: (
                slot.projection.version,
                slot.position,
                encode_state(slot.projection, slot.state),
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
        the rebuild leaves a consistent, resumable state. With several
        projections, ``workers`` > 1 and at least ``parallel_from`` entries,
        the folds are split over processes (:meth:`_rebuild_parallel`).
        """
        names = list(self.projections) if name is None else [name]
        for each in names:
            if each not in self.projections:
                raise StoreError(
                    "B4 projections",
                    f"unknown projection {each!r}; known: {sorted(self.projections)}",
                    field="name",
                )
        if len(names) > 1 and self.workers > 1:
            head = self.backend.head_size()
            if head >= max(self.parallel_from, 1):
                collecting = gc.isenabled()
                gc.disable()
                try:
                    return self._rebuild_parallel(names, head, progress)
                except (Conflict, BrokenProcessPool):
                    # Another runner moved a position, or a worker could not start or
                    # died: no fold was written; rebuild in this process from the table.
                    self.forget()
                finally:
                    if collecting:
                        gc.enable()
        self._reset_all(names)
        return self.catch_up(names, progress=progress)

    def _reset_all(self, names: list[str]) -> None:
        """Store every named projection's initial state at position -1, in one transaction."""
        slots = {each: self._load(each) for each in names}
        self._write({
            each: (slot.projection.version, -1,
                   encode_state(slot.projection, slot.projection.initial()), slot.stored_position)
            for each, slot in slots.items()
        })
        for slot in slots.values():
            slot.state = slot.projection.initial()
            slot.position = slot.stored_position = -1

    def _rebuild_parallel(self, names: list[str], head: int, progress: Progress | None) -> int:
        """Fold ``names`` from index 0 to ``head`` in ``workers`` processes; ONE commit at the end.

        The names are split into groups of about equal cost (:data:`COSTS`).
        Each group but the first goes to a worker process (``spawn``: a fresh
        interpreter, no inherited connection) that opens its own connection,
        reads and parses the entries its folds need and returns their state
        bytes. While the workers start, this process commits the reset of
        every named projection (:meth:`_reset_all`); then it folds the first
        group (the heaviest, and every projection that is not one of
        ``projections.registry.PROJECTIONS``) and writes every state with
        position ``head - 1`` in one transaction, conditional on the
        positions the reset left (-1). A crash or an error before that commit
        leaves the reset states: consistent, and the next catch-up folds from
        index 0.
        """
        from projections.registry import PROJECTIONS

        shared = [n for n in names if PROJECTIONS.get(n) is self.projections[n]]
        groups = _partition(shared, self.workers) or [[]]
        mine = groups[0] + [n for n in names if n not in shared]
        theirs = groups[1:]
        states: dict[str, bytes] = {}
        pool: ProcessPoolExecutor | None = None
        futures: list[Future[dict[str, bytes]]] = []
        try:
            if theirs:
                pool = ProcessPoolExecutor(
                    len(theirs), mp_context=multiprocessing.get_context("spawn"),
                    initializer=follow_parent, initargs=(os.getpid(),),  # no orphan on kill -9
                )
                futures = [pool.submit(_fold_in_worker, self.backend.url_text, group, head,
                                       self.page) for group in theirs]
            self._reset_all(names)
            slots = {n: self._slots[n] for n in names}
            if progress is not None:
                progress(0, head)

            def report(active: list[_Slot], last: int, done: int) -> None:
                if progress is not None and done < head:
                    progress(done, head)

            _fold([slots[n] for n in mine], self.backend.read_entries(0, head, page=self.page),
                  every=self.commit_every, commit=report)
            for n in mine:
                states[n] = encode_state(slots[n].projection, slots[n].state)
            for future in futures:
                try:
                    states.update(future.result())
                except _WorkerError as exc:
                    raise StoreError("B4 projections", f"a rebuild worker failed: {exc}") from None
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        self._write({n: (slots[n].projection.version, head - 1, states[n], -1) for n in names})
        for n in names:
            slot = slots[n]
            slot.position = slot.stored_position = head - 1
            if n not in mine:
                slot.data = states[n]  # parsed only if someone asks for the state
        if progress is not None:
            progress(head, head)
        return head


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
