"""The write path: signed command -> domain decision -> entries -> one transaction.

DESIGN.md B1: a :class:`Ledger` validates commands against state caught up to
the head (``LogState`` for Part A, ``DomainState`` for Part C), turns them into
entries, and saves a whole batch — entries, new tree hashes and the signed
checkpoint — with one ``insert_events`` call of the ``eventsourcing`` recorder.
A batch is validated and saved under the backend's writer lock, so several
processes may append to one database; the library's primary key on
``(ledger id, version = index + 1)`` is the guard that makes the index dense
even if that lock were bypassed (a conflict rebuilds the state and retries).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.persistence import IntegrityError, PersistenceError

from ledger import merkle
from ledger.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from ledger.domain.decide import Pending, decide, due_system_entries
from ledger.domain.state import DomainState
from ledger.entries import Entry, leaf_hash, make_entry
from ledger.errors import LedgerError, RuleError, StoreError
from ledger.receipts import make_receipt
from ledger.replay import LogState
from ledger.sigcheck import Prechecks, pool_map
from ledger.store import signatures
from ledger.store.backend import Backend
from ledger.store.encoding import canonical_fast
from ledger.store.recorders import TreeWrite
from ledger.times import format_time, now_utc

Receipt = dict[str, Any]
MAX_RETRIES = 5


@dataclass(frozen=True)
class Head:
    size: int
    root: bytes
    checkpoint: str


class _BatchReader:
    """``HashReader`` over hashes just computed, falling back to the database."""

    def __init__(self, backend: Backend, fresh: dict[int, bytes]) -> None:
        self.backend = backend
        self.fresh = fresh

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        stored = [i for i in indexes if i not in self.fresh]
        if stored:  # stored hashes are immutable: keep them for the batch's other proofs
            self.fresh.update(zip(stored, self.backend.read_hashes(stored), strict=True))
        return [self.fresh[i] for i in indexes]


def _report_body(pending: Pending, reports: Mapping[str, bytes]) -> tuple[str, bytes] | None:
    """The body a ``ReportPublished`` names, checked against its SHA-256 (C7, A9)."""
    if pending.type != "ReportPublished":
        return None
    report_id = str(pending.data["report_id"])
    body = reports.get(report_id)
    if body is None:
        return None  # the report may be published by hash alone; export then lacks it
    digest = hashlib.sha256(body).hexdigest()
    if digest != pending.data["sha256"]:
        raise RuleError(
            "C7 report",
            f"report body has SHA-256 {digest}, the command says {pending.data['sha256']}",
            field="sha256",
        )
    return report_id, body


class Ledger:
    """One log in one store; safe to share between threads of one process."""

    def __init__(
        self,
        backend: Backend,
        *,
        signer: NoteSigner | None = None,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self.backend = backend
        self.signer = signer
        self.clock = clock
        self._lock = threading.RLock()
        self._fresh: dict[int, bytes] = {}  # stored-hash index -> hash, for the batch at hand
        self.log = self._new_log()
        self.domain = DomainState()
        self._stale = False  # in-memory state may be ahead of the store: rebuild before use
        self._listeners: list[Callable[[list[Entry]], None]] = []

    # -- state ---------------------------------------------------------------
    @staticmethod
    def _new_log() -> LogState:
        """An empty ``LogState`` whose large draws replay on the worker pool (C3)."""
        log = LogState()
        log.draw_mapper = pool_map
        return log

    def catch_up(self) -> int:
        """Apply entries other writers appended since we last looked; returns the size."""
        with self._lock:
            for index, data in self.backend.read_entries(self.log.size):
                entry = self.log.apply(data, index=index, verify_signatures=False)
                self.domain.apply(entry)
            return self.log.size

    def _rebuild(self) -> None:
        """Throw the in-memory state away and fold the stored log again."""
        self._stale = True
        self.log = self._new_log()
        self.domain = DomainState()
        self.catch_up()
        self._stale = False

    @contextlib.contextmanager
    def _writing(self) -> Iterator[datetime]:
        """One validate-and-save step under both locks, on state caught up to the store.

        Staging applies entries to the in-memory state before they are saved;
        if anything escapes before the save is known to have committed (a
        store error, a lost connection), the state may be ahead of the store,
        so it is marked stale and rebuilt from the store at once — or, if the
        store is still unreachable, before the next step.
        """
        with self._lock, self.backend.writer_lock():
            if self._stale:
                self._rebuild()
            self.catch_up()
            # The old tree's subtree roots: all a batch needs of the stored hashes.
            self._fresh = self.log.stored_roots()
            try:
                yield self._logged_at()
            except BaseException:
                self._stale = True
                with contextlib.suppress(Exception):  # the store may still be down
                    self._rebuild()
                raise

    def on_commit(self, listener: Callable[[list[Entry]], None]) -> None:
        """Call ``listener(entries)`` after each committed batch (metrics, projections)."""
        self._listeners.append(listener)

    @property
    def size(self) -> int:
        return self.log.size

    def head(self) -> Head | None:
        latest = self.backend.latest_checkpoint()
        if latest is None:
            return None
        size, root, note = latest
        return Head(size, root, note)

    # -- writes --------------------------------------------------------------
    def genesis(self, *, origin: str, root_keys: list[dict[str, Any]]) -> Receipt:
        """Append entry 0, ``LedgerGenesis`` (A7); refuses when the log is not empty."""
        if self.signer is None:
            raise StoreError("A6 checkpoint", "the log key is needed to write the genesis")
        created = format_time(self.clock())
        pending = Pending(
            stream="ledger",
            type="LedgerGenesis",
            data={
                "origin": origin,
                "log_vkey": self.signer.vkey,
                "root_keys": root_keys,
                "created_at": created,
            },
            command=None,
        )
        return self._commit_pendings([[pending]])[0]

    def submit(
        self, command: dict[str, Any], *, reports: Mapping[str, bytes] | None = None
    ) -> Receipt:
        """Validate and append one signed command; returns its receipt (A8) or raises.

        ``reports`` carries the canonical bytes of a report a ``reports.publish``
        command names; they are stored in the same transaction (A9 ``reports/``).
        """
        result = self.submit_many([command], reports=reports)[0]
        if isinstance(result, LedgerError):
            raise result
        return result

    def submit_many(
        self, commands: Sequence[dict[str, Any]], *, reports: Mapping[str, bytes] | None = None
    ) -> list[Receipt | LedgerError]:
        """Group commit: validate each command in order, save all accepted ones at once.

        Returns one receipt or one error per command, in order.  A refused
        command appends nothing and does not affect the others.
        """
        for _attempt in range(MAX_RETRIES):
            try:
                return self._submit_once(commands, reports or {})
            except IntegrityError:
                continue  # another writer got there first: _writing rebuilt, re-validate
        raise StoreError("B3 store", f"gave up after {MAX_RETRIES} write conflicts")

    def tick(self) -> list[Entry]:
        """Scheduler step: append due ``RectificationOverdue``/``PublicationOverdue`` entries."""
        with self._writing() as now:
            due = due_system_entries(self.domain, self.log, now=now)
            if not due:
                return []
            entries = self._stage(due, format_time(now))
            self._save(entries)
            return [e for e, _ in entries]

    # -- internals -----------------------------------------------------------
    def _logged_at(self) -> datetime:
        now = self.clock()
        last = self.log.last_logged_at
        return last if last is not None and last > now else now

    def _submit_once(
        self, commands: Sequence[dict[str, Any]], reports: Mapping[str, bytes]
    ) -> list[Receipt | LedgerError]:
        with self._writing() as now, self._prechecked(commands):
            stamp = format_time(now)  # the batch's one logged_at
            results: list[Receipt | LedgerError | tuple[int, bytes]] = []
            staged: list[tuple[Entry, bytes]] = []
            attached: list[tuple[str, int, bytes]] = []
            for command in commands:
                try:
                    pendings = decide(
                        self.domain, self.log, command, now=now, root_at=self._root_at
                    )
                except LedgerError as exc:
                    results.append(exc)
                    continue
                try:
                    body = _report_body(pendings[0], reports)
                    entries = self._stage(pendings, stamp)
                except LedgerError as exc:
                    results.append(exc)
                    continue
                if body is not None:
                    attached.append((body[0], entries[0][0]["index"], body[1]))
                results.append((entries[0][0]["index"], entries[0][1]))
                staged.extend(entries)
            if staged:
                self._save(staged, attached)
            return self._receipts(results, staged)

    @contextlib.contextmanager
    def _prechecked(self, commands: Sequence[dict[str, Any]]) -> Iterator[None]:
        """Verify the batch's signatures on other cores while the ordered pass runs (A3)."""
        known = self.log.keys
        prechecks = Prechecks(
            commands,
            lambda kid: info.public_key if (info := known.get(kid)) else None,
            signatures.check_signatures,
        )
        if not len(prechecks):
            yield
            return
        log = self.log
        log.prechecked = prechecks.lookup
        try:
            yield
        finally:
            log.prechecked = None
            prechecks.cancel()

    def _commit_pendings(self, groups: Iterable[list[Pending]]) -> list[Receipt]:
        with self._writing() as now:
            stamp = format_time(now)
            staged: list[tuple[Entry, bytes]] = []
            firsts: list[Receipt | LedgerError | tuple[int, bytes]] = []
            for group in groups:
                entries = self._stage(group, stamp)
                firsts.append((entries[0][0]["index"], entries[0][1]))
                staged.extend(entries)
            self._save(staged)
            return [r for r in self._receipts(firsts, staged) if not isinstance(r, LedgerError)]

    def _stage(self, pendings: Sequence[Pending], stamp: str) -> list[tuple[Entry, bytes]]:
        """Give pendings their index, seq and the batch's A1 time text; apply them to the state."""
        out = []
        for pending in pendings:
            entry = make_entry(
                index=self.log.size,
                logged_at=stamp,
                stream=pending.stream,
                seq=self.log.stream_seq(pending.stream) + 1,
                type=pending.type,
                data=pending.data,
                command=pending.command,
            )
            data, plain = canonical_fast(entry)  # A4 entry bytes
            try:
                # ``data`` is canonical by construction (A1).  A plain entry is what
                # parsing ``data`` would give; any other is parsed back (without the
                # round-trip check).  Then every Part A rule as the verifier applies them.
                parsed = entry if plain else json.loads(data)
                self.log.apply_entry(parsed, data, verify_signatures=False)
            except LedgerError as exc:
                if pending is pendings[0]:
                    raise
                # A derived entry failing Part A is a bug in the domain, not bad input.
                self._rebuild()
                raise AssertionError(f"bad math: derived {pending.type} refused: {exc}") from exc
            self.domain.apply(entry)
            out.append((entry, data))
        return out

    def _save(
        self, staged: list[tuple[Entry, bytes]], reports: Sequence[tuple[str, int, bytes]] = ()
    ) -> None:
        if self.signer is None:
            raise StoreError("A6 checkpoint", "this process has no log key: it cannot append")
        first = staged[0][0]["index"]
        leaves = [leaf_hash(data) for _, data in staged]
        hashes = merkle.stored_hashes_for_batch(first, leaves, _BatchReader(self.backend,
                                                                            self._fresh))
        start = merkle.stored_hash_count(first)
        rows = [(start + i, h) for i, h in enumerate(hashes)]
        size = first + len(staged)
        root = self.log.root()
        note = sign_checkpoint(Checkpoint(self.log.origin or "", size, root), self.signer)
        write = TreeWrite(hashes=rows, checkpoint=(size, root, note), reports=list(reports))
        self._fresh.update(rows)
        try:
            self.backend.append(first, [(e["type"], d) for e, d in staged], write)
        except IntegrityError:
            # Either another writer took these indexes, or our own insert committed and
            # a retry of it (the library retries on a lost connection) hit its own rows.
            if not self._committed(first, staged):
                raise
            stored = self.backend.checkpoint_at(size)
            note = stored[2] if stored is not None else note
        except (PersistenceError, OSError) as exc:
            raise StoreError("B3 store", f"the store refused the write: {exc}") from exc
        self._note = note
        committed = [e for e, _ in staged]
        for listener in self._listeners:
            listener(committed)

    def _committed(self, first: int, staged: list[tuple[Entry, bytes]]) -> bool:
        """True when the store holds exactly ``staged`` at ``first..`` (our batch went in)."""
        stored = [data for _, data in self.backend.read_entries(first, first + len(staged))]
        return stored == [data for _, data in staged]

    def _receipts(
        self,
        results: list[Receipt | LedgerError | tuple[int, bytes]],
        staged: list[tuple[Entry, bytes]],
    ) -> list[Receipt | LedgerError]:
        if not staged:
            return [r for r in results if isinstance(r, LedgerError)]
        size = staged[-1][0]["index"] + 1
        reader = _BatchReader(self.backend, self._fresh)
        by_index = {e["index"]: e for e, _ in staged}
        accepted = [r[0] for r in results if isinstance(r, tuple)]
        proofs = dict(zip(accepted, merkle.inclusion_proofs(accepted, size, reader), strict=True))
        out: list[Receipt | LedgerError] = []
        for result in results:
            if isinstance(result, tuple):
                index, data = result
                out.append(make_receipt(by_index[index], data, self._note, proofs[index]))
            else:
                out.append(result)
        return out

    # -- reads ---------------------------------------------------------------
    def _root_at(self, size: int) -> bytes:
        """Root of the tree at ``size`` (for ``reports.publish``): stored hashes, one query."""
        if size == self.log.size:
            return self.log.root()
        return merkle.tree_hash(size, self.backend)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return merkle.inclusion_proof(index, size, self.backend)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return merkle.consistency_proof(old_size, new_size, self.backend)

    def published_reports(self, size: int) -> dict[str, bytes]:
        """Report bodies whose ``ReportPublished`` entry lies below ``size`` (A9 ``reports/``)."""
        return self.backend.recorder.read_reports(size)

    def entries(self, start: int, end: int | None = None) -> Iterable[tuple[int, bytes]]:
        return self.backend.read_entries(start, end)
