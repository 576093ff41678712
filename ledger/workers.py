"""Worker processes that the calling thread feeds and reads itself, pipe by pipe (B3).

``concurrent.futures.ProcessPoolExecutor`` hands each task and each answer
through two threads of the calling process (its manager thread and a queue
feeder).  While the calling thread runs Python — the ordered pass of a store
batch, the verifier's replay — those threads wait for the GIL, up to a
switch interval per hand-off, so an answer a worker computed long ago still
reads as "not done" (measured on a store batch: 42% of the signature
answers were not back when the ordered pass asked for them; the pass then
checked them itself).  Here the calling thread writes each task to a
worker's pipe and reads answers from the pipes when it asks for them:
nothing in this process runs between the worker and the caller.

Each worker runs one task at a time, in one thread (a second one would wait
for the first's GIL), and answers in order.  The caller's end of each pipe
is non-blocking: while a task does not fit into the pipe, the caller reads
the answers the worker is writing, so neither side can wait for the other
forever however large tasks and answers are.  Messages are pickles behind
an 8-byte length.  Workers are started with ``spawn`` by default (the
server forks nothing while it runs threads) and exit when their parent is
gone.

Standard library only: the verify tool uses this too.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import select
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

_LENGTH = struct.Struct("!Q")


class BrokenWorkers(RuntimeError):
    """A worker died or its pipe closed: the caller does the work itself."""


def follow_parent(parent: int) -> None:
    """In a worker: exit when the parent is gone (a ``kill -9`` leaves no orphans)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="follow-parent", daemon=True).start()


def _frame(message: Any) -> bytes:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(payload)) + payload


def _read_exact(fd: int, size: int) -> bytes:
    """``size`` bytes from ``fd``, waiting for them if it is non-blocking; EOFError at the end."""
    parts: list[bytes] = []
    while size:
        try:
            part = os.read(fd, min(size, 1 << 20))
        except BlockingIOError:
            select.select([fd], [], [])
            continue
        if not part:
            raise EOFError("the pipe closed")
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _read_message(fd: int) -> Any:
    (size,) = _LENGTH.unpack(_read_exact(fd, _LENGTH.size))
    return pickle.loads(_read_exact(fd, size))


def _serve(conn: Connection, parent: int) -> None:
    """Worker main: run tasks in arrival order, answer ``(task number, ok, value)``."""
    follow_parent(parent)
    fd = conn.fileno()
    os.set_blocking(fd, True)
    while True:
        try:
            message = _read_message(fd)
        except (EOFError, OSError):
            return
        if message is None:  # shutdown
            return
        number, fn, arg = message
        try:
            answer: tuple[int, bool, Any] = (number, True, fn(arg))
        except BaseException as exc:  # handed to the caller as the answer
            answer = (number, False, exc)
        try:
            data = _frame(answer)
        except Exception as exc:  # an answer that does not pickle
            data = _frame((number, False, RuntimeError(f"unpicklable answer: {exc!r}")))
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(fd, view):]
        except OSError:
            return


class Task:
    """One submitted call; :meth:`done` never blocks, :meth:`result` does."""

    __slots__ = ("answer", "number", "pool", "worker")

    def __init__(self, pool: WorkerPool, worker: int, number: int) -> None:
        self.pool, self.worker, self.number = pool, worker, number
        self.answer: tuple[bool, Any] | None = None  # (ok, value) once read

    def done(self) -> bool:
        return self.answer is not None or self.pool._poll(self)

    def result(self) -> Any:
        """The value ``fn(arg)`` returned, or raise what it raised (or BrokenWorkers)."""
        if self.answer is None:
            self.answer = self.pool._result(self)
        ok, value = self.answer
        if not ok:
            raise value
        return value


class WorkerPool:
    """``count`` worker processes, each behind its own pipe; safe to share between threads."""

    def __init__(self, count: int, *, start_method: str = "spawn") -> None:
        context: Any = multiprocessing.get_context(start_method)
        self._lock = threading.RLock()
        self._conns: list[Connection] = []
        self._processes: list[Any] = []
        self._waiting: list[deque[int]] = []  # per worker: task numbers sent, not yet answered
        self._answers: dict[int, tuple[bool, Any]] = {}
        self._dropped: set[int] = set()
        self._count = 0
        self.broken = False
        for _ in range(max(1, count)):
            mine, theirs = context.Pipe(duplex=True)
            process = context.Process(target=_serve, args=(theirs, os.getpid()), daemon=True,
                                      name="spotcheck-worker")
            process.start()
            theirs.close()
            os.set_blocking(mine.fileno(), False)
            self._conns.append(mine)
            self._processes.append(process)
            self._waiting.append(deque())

    def __len__(self) -> int:
        return len(self._conns)

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Task:
        """Send ``fn(arg)`` to the worker with the fewest unanswered tasks.

        ``fn`` is a module-level function; ``fn`` and ``arg`` must pickle.
        Raises :class:`BrokenWorkers` when the pool is broken or shut down.
        """
        with self._lock:
            if self.broken:
                raise BrokenWorkers("the worker pool is broken or shut down")
            worker = min(range(len(self._conns)), key=lambda w: len(self._waiting[w]))
            self._count += 1
            number = self._count
            self._waiting[worker].append(number)
            self._write(worker, _frame((number, fn, arg)))
            return Task(self, worker, number)

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``[fn(x) for x in items]``, in order, on the workers and in the calling thread.

        Each worker gets up to two items at a time; while none of their
        answers is back, the caller computes the next item itself.  An
        exception ``fn`` raised is raised here (the answers still to come are
        then discarded); BrokenWorkers when the pool breaks.
        """
        out: list[Any] = [None] * len(items)
        pending: deque[tuple[int, Task]] = deque()
        given = 0  # items handed out so far, to a worker or to this thread
        try:
            while given < len(items) or pending:
                while given < len(items) and len(pending) < 2 * len(self._conns):
                    pending.append((given, self.submit(fn, items[given])))
                    given += 1
                if pending and pending[0][1].done():
                    position, task = pending.popleft()
                    out[position] = task.result()
                elif given < len(items):
                    out[given] = fn(items[given])
                    given += 1
                else:
                    position, task = pending.popleft()
                    out[position] = task.result()
        except BaseException:
            self.drop([task for _, task in pending])
            raise
        return out

    def drop(self, tasks: Sequence[Task]) -> None:
        """Forget tasks whose answers are no longer wanted (they are read and discarded)."""
        with self._lock:
            for task in tasks:
                if task.answer is None and self._answers.pop(task.number, None) is None:
                    self._dropped.add(task.number)

    def shutdown(self) -> None:
        """Ask the workers to exit (after their current task) and wait for them.

        A worker forked from this process holds copies of the other pipes'
        ends, so closing ours is not enough to end it: each is sent a stop.
        """
        with self._lock:
            if not self.broken:
                for worker in range(len(self._conns)):
                    try:
                        self._write(worker, _frame(None))
                    except BrokenWorkers:
                        break
            self.broken = True
            for conn in self._conns:
                conn.close()
            deadline = time.monotonic() + 5
            for process in self._processes:
                process.join(timeout=max(0.0, deadline - time.monotonic()))
                if process.is_alive():
                    process.kill()
                    process.join()

    # -- the pipes -------------------------------------------------------------
    def _write(self, worker: int, data: bytes) -> None:
        """Write a whole message; while the pipe is full, read the worker's answers."""
        fd = self._conns[worker].fileno()
        view = memoryview(data)
        try:
            while view:
                try:
                    view = view[os.write(fd, view):]
                    continue
                except BlockingIOError:
                    pass
                readable, _, _ = select.select([fd], [fd], [])
                if readable:
                    self._take(worker)
        except (OSError, BrokenWorkers) as exc:
            self._break()
            raise BrokenWorkers(f"worker {worker} is gone: {exc!r}") from None

    def _take(self, worker: int) -> None:
        """Read one answer from ``worker`` (waits for it); keep it unless it was dropped."""
        try:
            number, ok, value = _read_message(self._conns[worker].fileno())
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            self._break()
            raise BrokenWorkers(f"worker {worker} is gone: {exc!r}") from None
        if not self._waiting[worker] or self._waiting[worker][0] != number:
            self._break()
            raise BrokenWorkers(f"worker {worker} answered task {number} out of turn")
        self._waiting[worker].popleft()
        if number in self._dropped:
            self._dropped.discard(number)
        else:
            self._answers[number] = (ok, value)

    def _poll(self, task: Task) -> bool:
        with self._lock:
            if task.number in self._answers or self.broken:
                return True  # when broken, result() raises BrokenWorkers at once
            fd = self._conns[task.worker].fileno()
            try:
                while task.number in self._waiting[task.worker] and select.select(
                    [fd], [], [], 0
                )[0]:
                    self._take(task.worker)
            except (BrokenWorkers, OSError):
                self._break()
                return True
            return task.number in self._answers

    def _result(self, task: Task) -> tuple[bool, Any]:
        with self._lock:
            while task.number not in self._answers:
                if self.broken or task.number not in self._waiting[task.worker]:
                    raise BrokenWorkers("the worker pool broke before answering")
                self._take(task.worker)
            return self._answers.pop(task.number)

    def _break(self) -> None:
        if not self.broken:
            self.broken = True
            for process in self._processes:
                if process.is_alive():
                    process.kill()
