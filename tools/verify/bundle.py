"""Verify an export bundle offline (DESIGN.md A9), step by step (STYLE.md 13).

Steps, each failure naming its step and the first bad entry:

1. checkpoint  — the ``checkpoint`` note is signed by the log's key (A6);
2. parse       — every line is canonical JSON (A1) and a well-formed entry at
                 its own index (A4);
3. rules       — :class:`ledger.replay.LogState` replays every rule of Part A:
                 A3 signers, A4 streams and times, A7 trust chain, A12 roles;
4. signatures  — every command's Ed25519 signature (A3), in a process pool
                 over all cores, in batches, while step 3 runs in order;
5. root        — the number of lines and the Merkle root equal the
                 checkpoint's size and root (A5, A9);
6. draws       — every draw replayed (A11): commitments, reveals, the
                 ``DrawPerformed`` seed, selection and teams, the cases
                 opened (checked by ``LogState`` as the entries go by; a
                 large draw's per-enterprise inspector orders, C3, are
                 computed on the same worker processes);
7. reports     — each published report's SHA-256, tree size and root, and,
                 where a recompute function exists, its bytes (C7, B4).

Steps 2, 3, 4 and 6 run in one streaming pass; the failure with the lowest
entry index wins, so the verdict names the first bad entry whatever the
order in which the pool answers.
"""

from __future__ import annotations

import base64
import functools
import gc
import hashlib
import importlib
import multiprocessing
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.bundle import BundleReader, open_bundle
from ledger.canonical import canonical, parse_canonical
from ledger.checkpoint import Checkpoint, verify_checkpoint
from ledger.errors import FormatError, LedgerError
from ledger.merkle import RootAccumulator, leaf_hash
from ledger.replay import LogState
from ledger.sigcheck import cores, pool_map
from ledger.workers import BrokenWorkers, Task, WorkerPool

__all__ = [
    "STEPS",
    "LogCheck",
    "LogVerifier",
    "Progress",
    "UsageError",
    "Verdict",
    "check_reports",
    "step_of",
    "verify_bundle",
    "verify_log",
]

STEPS = {
    1: "checkpoint",
    2: "parse",
    3: "rules",
    4: "signatures",
    5: "root",
    6: "draws",
    7: "reports",
    8: "consistency",
}

BATCH_SIZE = 128
"""Signature jobs per batch sent to a worker process.

About 120 KB pickled: a batch fits into the pipe of a worker that is still
busy with the one before, so handing it over does not make the replay wait
(with 1024 per batch, the season bundle's replay spent 1.3 s of 16 s waiting
to write; ``ledger/workers.py`` has no feeder thread to wait instead)."""

Job = tuple[int, bytes, bytes, bytes]  # (index, public key, signature, message)


class UsageError(Exception):
    """Bad arguments or unreadable input: exit code 2."""


@dataclass
class Verdict:
    """The outcome of a verification: ``ok``, or the step and first bad entry that failed."""

    ok: bool
    size: int = 0
    root: bytes = b""
    step: int | None = None
    first_bad_index: int | None = None
    rule: str | None = None
    reason: str = ""
    summary: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fail(
        cls,
        step: int,
        reason: str,
        *,
        index: int | None = None,
        rule: str | None = None,
        size: int = 0,
        root: bytes = b"",
    ) -> Verdict:
        return cls(False, size, root, step, index, rule, reason)

    @classmethod
    def from_error(cls, step: int, exc: LedgerError, *, size: int = 0, root: bytes = b"",
                   index: int | None = None) -> Verdict:
        where = f"{exc.field}: " if exc.field else ""
        at = exc.index if index is None else index
        return cls.fail(step, f"{where}{exc.reason} [{exc.rule}]", index=at, rule=exc.rule,
                        size=size, root=root)

    def line(self, what: str) -> str:
        """``OK: <what>: <summary>`` or ``FAIL: step N (name): entry I: reason``."""
        if self.ok:
            return f"OK: {what}: {self.summary}"
        step = f"step {self.step} ({STEPS.get(self.step or 0, '?')})"
        where = f"entry {self.first_bad_index}: " if self.first_bad_index is not None else ""
        return f"FAIL: {step}: {where}{self.reason}"

    def to_json(self) -> dict[str, Any]:
        """The machine-readable verdict {ok, first_bad_index, step, rule, reason, size, root}."""
        out: dict[str, Any] = {
            "ok": self.ok,
            "first_bad_index": self.first_bad_index,
            "step": self.step,
            "rule": self.rule,
            "reason": self.reason if not self.ok else self.summary,
            "size": self.size,
            "root": self.root.hex() if self.root else None,
        }
        out.update(self.extra)
        return out


class Progress:
    """A one-line progress counter on stderr, shown only when stderr is a terminal."""

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()
        self.label = label
        self.total = total
        self._last = 0.0

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.2:
            return
        self._last = now
        if self.total:
            text = f"{self.label}: {done}/{self.total} entries ({100 * done // self.total}%)"
        else:
            text = f"{self.label}: {done} entries"
        self.stream.write("\r" + text + "\x1b[K")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


# ---------------------------------------------------------------------------
# Step 4 in worker processes


def _verify_batch(jobs: list[Job]) -> list[int]:
    """A3: verify each ``(index, public key, signature, message)``; return failing indexes."""
    keys: dict[bytes, Ed25519PublicKey] = {}
    bad: list[int] = []
    for index, public_key, signature, message in jobs:
        key = keys.get(public_key)
        if key is None:
            key = keys[public_key] = Ed25519PublicKey.from_public_bytes(public_key)
        try:
            key.verify(signature, message)
        except InvalidSignature:
            bad.append(index)
    return bad


def _start_method() -> str:
    """``fork`` where it is safe (one thread), else ``spawn``."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "spawn"


@dataclass
class _Batch:
    task: Task
    jobs: list[Job]
    keys: dict[int, str]


class LogVerifier:
    """Steps 2, 3, 4 and 6 over a stream of entry lines (bundle or server).

    ``jobs`` worker processes check signatures (default: all cores; 1 checks
    them in this process); a pool starts only once a full batch is ready, so
    small logs never pay for it.  ``capture_sizes`` asks for the roots at
    those tree sizes (``roots``), e.g. an earlier trusted checkpoint's size.
    """

    def __init__(
        self,
        vkey: str | None,
        *,
        genesis_hash: str | None = None,
        jobs: int | None = None,
        batch_size: int = BATCH_SIZE,
        progress: Progress | None = None,
        capture_sizes: Iterable[int] = (),
        on_entry: Callable[[int, dict[str, Any]], None] | None = None,
    ) -> None:
        self.state = LogState(vkey=vkey, genesis_hash=genesis_hash, verify_signatures=False)
        self.jobs = max(1, jobs if jobs is not None else cores())
        self.batch_size = max(1, batch_size)
        self.progress = progress
        self.capture = set(capture_sizes)
        self.roots: dict[int, bytes] = {}
        self.on_entry = on_entry
        self.reports: list[tuple[int, dict[str, Any]]] = []
        self.lines_read = 0
        self.failed_line: bytes | None = None
        self._pool: WorkerPool | None = None
        self._pending: deque[_Batch] = deque()
        self._sig_bad: tuple[int, str] | None = None
        self.state.draw_mapper = functools.partial(
            pool_map, pool=self._start_pool, broken=self._give_up_pool
        )

    # -- the pool --------------------------------------------------------------
    def _start_pool(self) -> WorkerPool | None:
        """The worker pool, started on first use; None when checking in this process."""
        if self._pool is None and self.jobs > 1:
            self._pool = WorkerPool(self.jobs, start_method=_start_method())
        return self._pool

    # -- signatures ------------------------------------------------------------
    def _note_bad(self, bad: list[int], keys: dict[int, str]) -> None:
        if bad:
            first = min(bad)
            if self._sig_bad is None or first < self._sig_bad[0]:
                self._sig_bad = (first, keys[first])

    def _submit(self, batch: list[Job], keys: dict[int, str], *, last: bool = False) -> None:
        """Send a batch to the pool, or check it here (one job, a small log, a busy pool)."""
        pool = self._pool if last else self._start_pool()
        self._collect(wait=False)
        if pool is None or len(self._pending) >= 2 * self.jobs:
            # No pool, or its workers are busy: check this batch here rather than wait.
            self._note_bad(_verify_batch(batch), keys)
            return
        try:
            task = pool.submit(_verify_batch, batch)
        except BrokenWorkers:
            self._give_up_pool()
            self._note_bad(_verify_batch(batch), keys)
            return
        self._pending.append(_Batch(task, batch, keys))

    def _give_up_pool(self) -> None:
        """The pool broke (a worker died, or it could not start): check here from now on."""
        self.jobs = 1
        pending = list(self._pending)
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        for batch in pending:
            self._note_bad(_verify_batch(batch.jobs), batch.keys)

    def _collect(self, *, wait: bool) -> None:
        limit = 0 if wait else 2 * self.jobs
        while self._pending and (len(self._pending) > limit or self._pending[0].task.done()):
            batch = self._pending[0]
            try:
                bad = batch.task.result()
            except BrokenWorkers:
                self._give_up_pool()
                return
            self._pending.popleft()
            self._note_bad(bad, batch.keys)

    def close(self) -> None:
        """Stop the worker processes, if any; later draws (if any) replay in this process."""
        self.state.draw_mapper = None  # it points back here: a cycle, and a pool restart
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
            self._pending.clear()

    # -- the pass --------------------------------------------------------------
    def run(self, lines: Iterable[bytes]) -> Verdict | None:
        """Apply every line in order; return the failure with the lowest index, or None.

        On success ``state`` holds the whole log; ``lines_read`` counts lines.
        """
        state = self.state
        failure: Verdict | None = None
        batch: list[Job] = []
        keys: dict[int, str] = {}
        iterator: Iterator[bytes] = iter(lines)
        # The replay makes no reference cycles (with collection off over the
        # 200,000-entry bundles, the only cyclic garbage afterwards was the
        # finished verifier itself), while every full collection walks the whole
        # growing state: collection stays off for the pass (0.615 -> 0.668 of the
        # bench's ceiling in back-to-back runs).
        collecting = gc.isenabled()
        gc.disable()
        try:
            index = 0
            while True:
                if self._sig_bad is not None and index > self._sig_bad[0]:
                    break
                try:
                    line = next(iterator)
                except StopIteration:
                    break
                except LedgerError as exc:
                    failure = Verdict.from_error(2, exc, index=index, size=state.size,
                                                 root=state.root())
                    break
                self.lines_read = index + 1
                try:
                    entry = state.apply(line, index=index, verify_signatures=False)
                except LedgerError as exc:
                    failure = Verdict.from_error(step_of(exc), exc, index=index,
                                                 size=state.size, root=state.root())
                    self.failed_line = line
                    break
                job = state.command_signature_job(entry)
                if job is not None:
                    batch.append((index, *job))
                    keys[index] = entry["command"]["key"]
                if entry["type"] == "ReportPublished":
                    self.reports.append((index, entry["data"]))
                if self.on_entry is not None:
                    self.on_entry(index, entry)
                index += 1
                if index in self.capture:
                    self.roots[index] = state.root()
                if len(batch) >= self.batch_size:
                    self._submit(batch, keys)
                    batch, keys = [], {}
                if self.progress is not None and index % 1024 == 0:
                    self.progress.update(index)
            if batch:
                self._submit(batch, keys, last=True)
            self._collect(wait=True)
        finally:
            self.close()
            if collecting:
                gc.enable()
            if self.progress is not None:
                self.progress.done()
        if self._sig_bad is not None and (
            failure is None or failure.first_bad_index is None
            or self._sig_bad[0] <= failure.first_bad_index
        ):
            at, key = self._sig_bad
            return Verdict.fail(
                4, f"command.sig: signature does not verify for key {key} [A3 signature]",
                index=at, rule="A3 signature", size=at, root=b"",
            )
        if failure is None:
            try:
                owed = state.pending_system_entries()
            except LedgerError as exc:
                return Verdict.from_error(6, exc, index=state.size, size=state.size,
                                          root=state.root())
            if owed:
                return Verdict.fail(
                    6, f"the log ends while {owed[0][0]} on {owed[0][1]} is due at index "
                    f"{state.size} [A12 system entry]", rule="A12 system entry",
                    size=state.size, root=state.root(),
                )
        return failure


def step_of(exc: LedgerError) -> int:
    """The verify step a ``LogState`` refusal belongs to."""
    rule = exc.rule
    if rule.startswith("A1 ") or rule in ("A4 entry", "A4 index", "A9 bundle"):
        return 2
    if rule == "A3 signature":
        return 4
    if rule.startswith("A11"):
        return 6
    return 3


# ---------------------------------------------------------------------------
# Step 7


def _report_kinds() -> dict[str, Callable[..., Any]] | None:
    """``projections.registry.REPORT_KINDS`` when that module exists (imported lazily)."""
    try:
        module = importlib.import_module("projections.registry")
    except ModuleNotFoundError as exc:
        if exc.name in ("projections.registry", "projections"):
            return None
        raise
    kinds = getattr(module, "REPORT_KINDS", None)
    return kinds if isinstance(kinds, dict) else None


_NOT_PARAMS = frozenset({"report_id", "kind", "sha256", "params"})


def report_params(data: dict[str, Any]) -> dict[str, Any]:
    """The ``params`` of ``REPORT_KINDS[kind](entries, params)`` for a ``ReportPublished``.

    The entry's own members other than ``report_id``, ``kind`` and ``sha256``
    (e.g. ``plan_no``, ``tree_size``, ``root``), leaving out nulls, plus its
    ``params`` object when it has one.
    """
    params = {k: v for k, v in data.items() if k not in _NOT_PARAMS and v is not None}
    extra = data.get("params")
    if isinstance(extra, dict):
        params.update(extra)
    return params


@dataclass
class ReportCheck:
    """What step 7 found about one report."""

    report_id: str
    index: int
    kind: str
    tree_size: int
    sha256: str
    notes: list[str] = field(default_factory=list)


def check_reports(
    reader: BundleReader,
    reports: list[tuple[int, dict[str, Any]]],
    lines: Callable[[], Iterable[bytes]],
    *,
    only: str | None = None,
) -> tuple[Verdict | None, list[ReportCheck]]:
    """Step 7: each ``ReportPublished`` against its ``reports/<id>.json`` (C7, B4).

    The file is canonical JSON whose SHA-256 is the entry's ``sha256``; the
    entry's ``tree_size`` lies before the entry and its ``root`` is the log's
    root at that size (a second streaming pass over ``lines()``); a report
    file that carries ``tree_size``/``root`` agrees with the entry; and where
    ``projections.registry.REPORT_KINDS[kind](entries, params)`` exists, the
    recomputed report has the same bytes.  ``only`` restricts the check to
    one report id.  Returns the first failure (or None) and what was checked.
    """
    checks: list[ReportCheck] = []
    needed: dict[int, list[tuple[ReportCheck, dict[str, Any]]]] = {}
    logged = {str(data.get("report_id")) for _, data in reports}
    if only is None:
        for name in reader.report_ids():
            if name not in logged:
                return Verdict.fail(7, f"reports/{name}.json has no ReportPublished "
                                    "entry in the log", rule="A9 bundle"), checks
    for index, data in reports:
        report_id = str(data.get("report_id"))
        if only is not None and report_id != only:
            continue
        body = reader.report(report_id)
        if body is None:
            return Verdict.fail(7, f"reports/{report_id}.json is missing from the bundle",
                                index=index, rule="A9 bundle"), checks
        try:
            parsed = parse_canonical(body)
        except FormatError as exc:
            return Verdict.fail(7, f"reports/{report_id}.json: {exc.reason}", index=index,
                                rule=exc.rule), checks
        found = hashlib.sha256(body).hexdigest()
        if found != data.get("sha256"):
            return Verdict.fail(7, f"reports/{report_id}.json has SHA-256 {found}, the entry "
                                f"says {data.get('sha256')}", index=index, rule="C7 report"), checks
        size = data.get("tree_size")
        if type(size) is not int or not 1 <= size <= index:
            return Verdict.fail(7, f"tree_size {size!r} must lie in 1..{index} (the entries "
                                "before the report)", index=index, rule="C7 report"), checks
        if isinstance(parsed, dict):
            for name in ("tree_size", "root"):
                if name in parsed and parsed[name] != data.get(name):
                    return Verdict.fail(7, f"reports/{report_id}.json says {name} "
                                        f"{parsed[name]!r}, the entry {data.get(name)!r}",
                                        index=index, rule="C7 report"), checks
        check = ReportCheck(report_id, index, str(data.get("kind")), size, found)
        checks.append(check)
        needed.setdefault(size, []).append((check, data))
    if not needed:
        if only is not None and not checks:
            return Verdict.fail(7, f"no ReportPublished entry for report {only!r}",
                                rule="C7 report"), checks
        return None, checks

    kinds = _report_kinds()
    wanted_entries = max(
        (size for size, items in needed.items()
         if kinds is not None and any(str(d.get("kind")) in kinds for _, d in items)),
        default=0,
    )
    acc = RootAccumulator()
    entries: list[bytes] = []
    last = max(needed)
    for line in lines():
        acc.add(leaf_hash(line))
        if acc.size <= wanted_entries:
            entries.append(line)
        for check, data in needed.get(acc.size, ()):
            root = acc.root().hex()
            if root != data.get("root"):
                return Verdict.fail(7, f"report {check.report_id}: root {data.get('root')} is "
                                    f"not the log's root {root} at tree_size {acc.size}",
                                    index=check.index, rule="C7 report"), checks
            if kinds is None or check.kind not in kinds:
                check.notes.append(f"not recomputed: no recompute function for kind {check.kind}")
                continue
            try:
                result = kinds[check.kind](entries[: acc.size], report_params(data))
            except LedgerError as exc:
                return Verdict.fail(7, f"report {check.report_id}: cannot be recomputed: "
                                    f"{exc.reason}", index=check.index, rule=exc.rule), checks
            again = result if isinstance(result, bytes) else canonical(result)
            if again != reader.report(check.report_id):
                return Verdict.fail(7, f"report {check.report_id}: recomputed from entries "
                                    f"0..{acc.size - 1}, its bytes differ from the file",
                                    index=check.index, rule="B4 report"), checks
            check.notes.append("recomputed: same bytes")
        if acc.size >= last:
            break
    return None, checks


# ---------------------------------------------------------------------------
# The bundle


@dataclass
class LogCheck:
    """What :func:`verify_log` found: the failure (or None) and what it replayed."""

    failure: Verdict | None
    verifier: LogVerifier
    checkpoint: Checkpoint | None
    reports: list[ReportCheck]


def verify_log(
    reader: BundleReader,
    vkey: str | None,
    *,
    genesis_hash: str | None = None,
    jobs: int | None = None,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
) -> LogCheck:
    """Steps 1-7 over an open bundle; the first failure, or None, and the replayed state.

    Without ``vkey`` the checkpoint is checked with the ``log_vkey`` of the
    log's own genesis (self-consistency only: nothing pins the key).
    """
    checkpoint: Checkpoint | None = None
    total: int | None = None
    # 1. checkpoint signature
    if vkey is not None:
        try:
            checkpoint = verify_checkpoint(reader.checkpoint, vkey)
        except LedgerError as exc:
            return LogCheck(Verdict.from_error(1, exc), LogVerifier(vkey), None, [])
        total = checkpoint.size
    # 2-4, 6. one streaming pass
    verifier = LogVerifier(
        vkey,
        genesis_hash=genesis_hash,
        jobs=jobs,
        batch_size=batch_size,
        progress=Progress("verifying", total) if progress else None,
    )
    failure = verifier.run(reader.lines())
    if failure is not None:
        return LogCheck(failure, verifier, checkpoint, [])
    state = verifier.state
    if checkpoint is None:
        try:
            checkpoint = verify_checkpoint(reader.checkpoint, state.log_vkey or "")
        except LedgerError as exc:
            return LogCheck(Verdict.from_error(1, exc, size=state.size, root=state.root()),
                            verifier, None, [])
    # 5. size and root against the checkpoint
    failure = check_root(checkpoint, state.size, state.root())
    if failure is not None:
        return LogCheck(failure, verifier, checkpoint, [])
    # 7. reports
    failure, checks = check_reports(reader, verifier.reports, reader.lines)
    if failure is not None:
        failure.size, failure.root = state.size, state.root()
    return LogCheck(failure, verifier, checkpoint, checks)


def verify_bundle(
    path: Path,
    vkey: str,
    *,
    genesis_hash: str | None = None,
    jobs: int | None = None,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
) -> Verdict:
    """Run steps 1-7 on the bundle at ``path``; returns the :class:`Verdict`.

    Raises ``OSError`` when the bundle cannot be read at all (exit code 2).
    """
    with open_bundle(path) as reader:
        check = verify_log(reader, vkey, genesis_hash=genesis_hash, jobs=jobs,
                           batch_size=batch_size, progress=progress)
    if check.failure is not None:
        return check.failure
    state = check.verifier.state
    origin = check.checkpoint.origin if check.checkpoint else "?"
    draws = [d for d in state.draws.values() if d.performed is not None]
    recomputed = sum(1 for c in check.reports if any(n.startswith("recomputed") for n in c.notes))
    summary = (
        f"{state.size} entries, root {base64.b64encode(state.root()).decode()}, "
        f"checkpoint signed by {origin}, {len(state.keys)} keys, "
        f"{len(draws)} draw(s) replayed, {len(check.reports)} report(s) checked "
        f"({recomputed} recomputed)"
    )
    return Verdict(True, state.size, state.root(), summary=summary)


def check_root(checkpoint: Checkpoint, size: int, root: bytes) -> Verdict | None:
    """Step 5: the log's size and root equal the checkpoint's (A5, A9)."""
    if size != checkpoint.size:
        return Verdict.fail(
            5, f"the checkpoint is for {checkpoint.size} entries, the log has {size}",
            rule="A9 checkpoint size", size=size, root=root,
        )
    if root != checkpoint.root:
        return Verdict.fail(
            5, f"the Merkle root of the entries is {base64.b64encode(root).decode()}, the "
            f"checkpoint says {base64.b64encode(checkpoint.root).decode()}",
            rule="A5 root", size=size, root=root,
        )
    return None
