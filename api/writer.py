"""Group commit: one writer thread per server process (DESIGN.md B3, B7).

Request handlers never write the store themselves.  They hand their signed
command to :meth:`GroupCommitWriter.submit` and wait on the returned future.
The writer thread takes the first pending command, gathers whatever else
arrives within ``window`` seconds (at most ``max_batch`` commands) and calls
``Ledger.submit_many(batch)`` once: one validation pass against the state at
the head and one transaction for the whole batch.  Each future then gets its
own receipt (A8) or its own ``LedgerError``; a refused command appends nothing
and does not affect the others.

Several server processes may run this at once: ``Ledger.submit_many`` takes
the store's cross-process writer lock and catches up before validating, so
the index stays dense (B3).

:class:`TickScheduler` asks the same thread to run ``Ledger.tick()`` every N
seconds (the scheduler's system entries of A12), so all writes of a process
go through one thread.  :meth:`GroupCommitWriter.stop` refuses new work,
finishes every command already queued, and then returns: a graceful shutdown
never drops an accepted request.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

from ledger.errors import LedgerError, StoreError

log = logging.getLogger("spotcheck.writer")

Receipt = dict[str, Any]
Result = Receipt | LedgerError


class CommitLedger(Protocol):
    """What the writer needs of :class:`ledger.store.ledger.Ledger`."""

    def submit_many(self, commands: list[dict[str, Any]]) -> list[Result]: ...

    def tick(self) -> list[dict[str, Any]]: ...


@dataclass
class _Job:
    command: dict[str, Any]
    future: Future[Receipt] = field(default_factory=Future)


@dataclass
class _Tick:
    future: Future[int] = field(default_factory=Future)


class _Stop:
    pass


BatchObserver = Callable[[int, float], None]
"""``observer(batch size, seconds in submit_many)`` after each batch (metrics)."""


class GroupCommitWriter:
    """A single writer thread that commits queued commands in batches."""

    def __init__(
        self,
        ledger: CommitLedger,
        *,
        window_seconds: float = 0.002,
        max_batch: int = 500,
        observer: BatchObserver | None = None,
    ) -> None:
        self.ledger = ledger
        self.window = window_seconds
        self.max_batch = max_batch
        self.observer = observer
        self._queue: queue.Queue[_Job | _Tick | _Stop] = queue.Queue()
        self._closing = False
        self._guard = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="spotcheck-writer", daemon=True)

    # -- public -------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._closing

    def submit(self, command: dict[str, Any]) -> Future[Receipt]:
        """Queue one signed command; the future resolves to its receipt or raises.

        Raises ``StoreError`` (503) at once when the writer is shutting down.
        """
        job = _Job(command)
        with self._guard:
            if self._closing:
                raise StoreError("B3 writer", "the server is shutting down: retry later")
            self._queue.put(job)
        return job.future

    def request_tick(self) -> Future[int]:
        """Queue a ``Ledger.tick()``; the future resolves to the number of entries appended."""
        tick = _Tick()
        with self._guard:
            if self._closing:
                tick.future.set_result(0)
                return tick.future
            self._queue.put(tick)
        return tick.future

    def stop(self, timeout: float = 30.0) -> None:
        """Refuse new work, finish everything queued, then stop the thread."""
        with self._guard:
            if self._closing:
                return
            self._closing = True
            self._queue.put(_Stop())
        if self._thread.is_alive():
            self._thread.join(timeout)

    # -- the thread -------------------------------------------------------------------
    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if isinstance(first, _Stop):
                break
            if isinstance(first, _Tick):
                self._tick(first)
                continue
            batch = [first]
            others: list[_Tick] = []
            deadline = time.monotonic() + self.window
            while len(batch) < self.max_batch:
                remaining = deadline - time.monotonic()
                try:
                    item = (self._queue.get(timeout=remaining) if remaining > 0
                            else self._queue.get_nowait())
                except queue.Empty:
                    break
                if isinstance(item, _Stop):
                    stopping = True  # finish this batch (and everything before it) first
                    break
                if isinstance(item, _Tick):
                    others.append(item)
                else:
                    batch.append(item)
            self._commit(batch)
            for tick in others:
                self._tick(tick)
        log.info("writer stopped")

    def _commit(self, queued: list[_Job]) -> None:
        # A request whose future was cancelled before its turn (client gone) is dropped:
        # nothing is appended for it.  From here on the futures cannot be cancelled.
        batch = [job for job in queued if job.future.set_running_or_notify_cancel()]
        if not batch:
            return
        started = time.perf_counter()
        try:
            results = self.ledger.submit_many([job.command for job in batch])
        except BaseException as exc:  # the store failed: every request of the batch learns it
            if not isinstance(exc, LedgerError):
                log.exception("batch of %d failed", len(batch))
            for job in batch:
                job.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        if self.observer is not None:
            self.observer(len(batch), time.perf_counter() - started)
        for job, result in zip(batch, results, strict=True):
            if isinstance(result, LedgerError):
                job.future.set_exception(result)
            else:
                job.future.set_result(result)

    def _tick(self, tick: _Tick) -> None:
        if not tick.future.set_running_or_notify_cancel():
            return
        try:
            appended = self.ledger.tick()
        except Exception as exc:
            log.warning("tick failed: %s", exc)
            tick.future.set_exception(exc)
            return
        if appended:
            log.info("tick appended %d system entries", len(appended))
        tick.future.set_result(len(appended))


class TickScheduler:
    """Calls ``writer.request_tick()`` every ``interval`` seconds (A12 overdue entries)."""

    def __init__(self, writer: GroupCommitWriter, interval: float) -> None:
        self.writer = writer
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="spotcheck-tick", daemon=True)

    def start(self) -> None:
        if self.interval > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.writer.request_tick()
