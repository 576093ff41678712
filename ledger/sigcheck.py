"""Command signatures checked ahead, on worker processes (DESIGN.md A3, B3 group commit).

A batch of signed commands is checked in order (A3, A7, the domain), and
each check starts with an Ed25519 verification that costs more than all the
rest of the work on a command.  :class:`Prechecks` sends those
verifications to worker processes in small chunks, a few chunks ahead of
the ordered pass; the pass then asks :meth:`Prechecks.lookup` instead of
verifying again.  The answer is the verification itself, computed by the
same code (:func:`ledger.commands.signing_bytes` and the given check) on the
command object the pass holds, for the public key the pass found: an answer
for another key, another object or a worker that failed is "don't know" and
the pass verifies in-line, so the result is the same either way.

Processes, not threads: a verification releases the GIL, but taking it back
while the ordered pass runs Python costs up to a switch interval each time
(measured: three times slower than in a process).  For the same reason the
pool is :class:`ledger.workers.WorkerPool`, which has no helper threads in
this process, and an answer not back when the pass needs it is computed
here instead of waited for.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.canonical import canonical
from ledger.commands import signing_bytes
from ledger.errors import LedgerError
from ledger.keys import b64decode
from ledger.workers import BrokenWorkers, Task, WorkerPool

Job = tuple[bytes, dict[str, Any]]  # (raw public key, command)

MIN_BATCH = 16  # fewer commands are verified in-line: a round trip costs more
# Commands per worker task.  A task's verdicts arrive together when it ends, and
# the ordered pass checks a command itself when its verdict is not back: small
# tasks keep the worker ahead of the pass (measured on batches of 100: 4 per task
# 84-88 us per entry; 4 doubling to 64, 94-100 us).
CHUNK = 4
AHEAD = 8  # chunks sent ahead of the ordered pass


def signed_parts(
    command: Any, encode: Callable[[Any], bytes] = canonical
) -> tuple[bytes, bytes] | None:
    """A command's A3 signing bytes and its 64-byte signature; None when it cannot be read.

    ``encode`` as for :func:`ledger.commands.signing_bytes`.
    """
    try:
        message = signing_bytes(command, encode)
        signature = b64decode(command["sig"], field="command.sig", length=64)
    except (LedgerError, KeyError, TypeError, ValueError):
        return None
    return message, signature


def check_signatures(jobs: Sequence[Job]) -> list[bool | None]:
    """Verify each command's ``sig`` over its A3 signing bytes with the given public key.

    True or False per command; None when the command cannot be read (its
    shape or canonical form is wrong: the ordered pass reports that).
    """
    keys: dict[bytes, Ed25519PublicKey] = {}
    out: list[bool | None] = []
    for public, command in jobs:
        parts = signed_parts(command)
        key = keys.get(public)
        if key is None and parts is not None:
            with contextlib.suppress(ValueError):
                key = keys[public] = Ed25519PublicKey.from_public_bytes(public)
        if parts is None or key is None:
            out.append(None)
            continue
        message, signature = parts
        try:
            key.verify(signature, message)
            out.append(True)
        except InvalidSignature:
            out.append(False)
    return out


_POOL: WorkerPool | None = None
_POOL_LOCK = threading.Lock()


def cores() -> int:
    """The cores this process may run on (all of them by default): one worker each."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _pool() -> WorkerPool | None:
    """The process-wide pool (``spawn``: the server forks nothing while it runs threads).

    One worker per core but one: the ordered pass keeps a core busy, and a
    worker sharing it waits for the scheduler (measured: a woken worker began
    its first task 3 ms late, and ran at half speed beside the other worker).
    :meth:`WorkerPool.map` also computes in the calling thread, so a draw's
    replay still uses every core.
    """
    global _POOL
    with _POOL_LOCK:
        if _POOL is None and cores() > 1:
            _POOL = WorkerPool(cores() - 1)
            atexit.register(_shutdown)
        return _POOL


def _ready(_: object) -> int:
    return os.getpid()


def start_workers() -> int:
    """Start the pool now rather than on the first large batch, e.g. before timing appends.

    Waits until its workers answer (a spawned interpreter imports the ledger
    first: a fraction of a second); returns how many answered (0: no pool,
    one core).
    """
    pool = _pool()
    if pool is None:
        return 0
    return len(set(pool.map(_ready, [None] * len(pool))))


def pool_map(
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    pool: Callable[[], WorkerPool | None] | None = None,
    broken: Callable[[], None] | None = None,
) -> list[Any]:
    """``[fn(x) for x in items]`` on a worker pool (a large draw's replay, A11/C3), in order.

    ``pool()`` gives the pool (default: this module's process-wide one) and
    ``broken()`` is called when it turns out broken or shut down (default:
    drop that pool); with no pool (one core) or a broken one, the work is
    done in this process.  ``fn`` is a module-level function and ``items``
    are picklable.
    """
    workers = (pool or _pool)()
    if workers is not None:
        try:
            return workers.map(fn, items)
        except BrokenWorkers:
            (broken or _shutdown)()
    return [fn(item) for item in items]


def _shutdown() -> None:
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.shutdown()
            _POOL = None


class Prechecks:
    """Verifications of a batch's commands, running on worker processes.

    ``keys`` maps a key id to its raw public key as the log knows it before
    the batch; commands by other keys (e.g. registered in the same batch)
    are left to the ordered pass.  ``check`` is a module-level function
    that gives :func:`check_signatures`'s answers (the store passes its
    faster one, ledger/store/signatures.py).
    """

    def __init__(
        self,
        commands: Sequence[Any],
        keys: Callable[[str], bytes | None],
        check: Callable[[Sequence[Job]], list[bool | None]] = check_signatures,
    ) -> None:
        # id(command) -> (command, public key, chunk number, position in the chunk)
        self._slots: dict[int, tuple[Any, bytes, int, int]] = {}
        self._chunks: list[list[Job]] = []
        self._tasks: list[Task] = []  # of the chunks sent so far, in order
        self._pool: WorkerPool | None = None
        self._check = check
        jobs: list[tuple[Any, Job]] = []
        for command in commands:
            if type(command) is not dict or type(command.get("key")) is not str:
                continue
            public = keys(command["key"])
            if public is not None:
                jobs.append((command, (public, command)))
        pool = _pool() if len(jobs) >= MIN_BATCH else None
        if pool is None:
            return
        self._pool = pool
        for start in range(0, len(jobs), CHUNK):
            chunk = jobs[start : start + CHUNK]
            for position, (command, (public, _)) in enumerate(chunk):
                self._slots[id(command)] = (command, public, len(self._chunks), position)
            self._chunks.append([job for _, job in chunk])
        self._send_up_to(AHEAD)

    def _send_up_to(self, count: int) -> None:
        """Send the chunks before ``count`` that are not sent yet."""
        while self._pool is not None and len(self._tasks) < min(count, len(self._chunks)):
            try:
                self._tasks.append(self._pool.submit(self._check, self._chunks[len(self._tasks)]))
            except BrokenWorkers:  # the rest is verified in-line
                _shutdown()
                self._pool = None

    def __len__(self) -> int:
        return len(self._slots)

    def lookup(self, command: Any, public_key: bytes) -> bool | None:
        """The verification of ``command`` under ``public_key``, or None when not checked here.

        A command whose worker answer is not back yet is checked here, by the
        same ``check``, rather than waited for (one check ~50 us; a worker's
        answer may be milliseconds away).  Chunks are sent ``AHEAD`` of the
        pass, so a worker that falls behind it wastes little on commands
        the pass has checked itself.
        """
        slot = self._slots.get(id(command))
        if slot is None or slot[0] is not command or slot[1] != public_key:
            return None
        chunk = slot[2]
        self._send_up_to(chunk + AHEAD)
        task = self._tasks[chunk] if chunk < len(self._tasks) else None
        if task is None or not task.done():
            return self._check([(public_key, command)])[0]
        try:
            return task.result()[slot[3]]
        except Exception:  # a worker died: the pass verifies in-line
            return None

    def cancel(self) -> None:
        """Forget the batch: answers still to come are read and discarded."""
        if self._pool is not None:
            self._pool.drop(self._tasks)
        self._slots.clear()
