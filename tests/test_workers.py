"""The worker pool the store and the verifier share (ledger/workers.py).

Answers come back in order and equal the in-line calls; an exception in a
task is raised to the caller; a dead worker makes the pool "broken" and
its callers fall back to doing the work themselves; answers nobody wants
any more are discarded; the caller's process runs no helper thread.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest

from ledger import sigcheck
from ledger.workers import BrokenWorkers, WorkerPool


def square(x: int) -> int:
    return x * x


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    return x


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def die(_: object) -> None:
    os._exit(7)


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    workers = WorkerPool(2)
    yield workers
    workers.shutdown()


def test_map_answers_in_order_and_equals_the_calls(pool: WorkerPool) -> None:
    items = list(range(200))
    assert pool.map(square, items) == [square(x) for x in items]


def test_an_exception_in_a_task_is_raised_and_the_pool_goes_on(pool: WorkerPool) -> None:
    with pytest.raises(ValueError, match="three"):
        pool.map(fail_on_three, [1, 2, 3, 4, 5])
    assert pool.map(square, [6, 7]) == [36, 49]  # the answers for 4 and 5 were discarded


def test_done_does_not_block_and_result_does(pool: WorkerPool) -> None:
    task = pool.submit(nap, 0.5)
    start = time.perf_counter()
    assert task.done() is False
    assert time.perf_counter() - start < 0.25
    assert task.result() == 0.5
    assert task.done() is True and task.result() == 0.5  # the answer is kept


def test_dropped_answers_do_not_reach_later_tasks(pool: WorkerPool) -> None:
    dropped = [pool.submit(square, x) for x in range(10)]
    pool.drop(dropped)
    assert [pool.submit(square, x).result() for x in (11, 12)] == [121, 144]


def test_the_caller_runs_no_helper_thread() -> None:
    before = threading.active_count()
    workers = WorkerPool(2)
    try:
        assert workers.map(square, list(range(50))) == [x * x for x in range(50)]
        assert threading.active_count() == before
    finally:
        workers.shutdown()


def test_a_dead_worker_breaks_the_pool_and_pool_map_works_here() -> None:
    workers = WorkerPool(2)
    try:
        task = workers.submit(die, None)
        with pytest.raises(BrokenWorkers):
            task.result()
        assert workers.broken and task.done()
        with pytest.raises(BrokenWorkers):
            workers.submit(square, 2)
        gave_up: list[bool] = []
        assert sigcheck.pool_map(square, [1, 2, 3], pool=lambda: workers,
                                 broken=lambda: gave_up.append(True)) == [1, 4, 9]
        assert gave_up == [True]
    finally:
        workers.shutdown()


def big_answer(n: int) -> bytes:
    return bytes(n)


def test_map_of_large_tasks_and_answers_does_not_deadlock(pool: WorkerPool) -> None:
    # Tasks and answers each larger than a pipe's buffer, many more than the workers:
    # the caller reads answers while a task does not fit.
    items = [1_000_000 + i for i in range(24)]
    answers = pool.map(big_answer, items)
    assert [len(a) for a in answers] == items
    padded = [(bytes(300_000), 200_000)] * 16
    assert [len(a) for a in pool.map(_padded_answer, padded)] == [200_000] * 16


def _padded_answer(job: tuple[bytes, int]) -> bytes:
    return bytes(job[1])


@pytest.mark.parametrize("start_method", ["spawn", "fork"])
def test_shutdown_stops_the_workers_at_once(start_method: str) -> None:
    # A forked worker holds copies of the other pipes' ends: closing ours does not end it.
    workers = WorkerPool(2, start_method=start_method)
    assert workers.map(square, [1, 2, 3, 4]) == [1, 4, 9, 16]
    start = time.perf_counter()
    workers.shutdown()
    assert time.perf_counter() - start < 2.0
    assert not any(process.is_alive() for process in workers._processes)


def whose(_: object) -> int:
    time.sleep(0.02)
    return os.getpid()


def test_map_computes_in_the_calling_thread_too(pool: WorkerPool) -> None:
    pids = set(pool.map(whose, list(range(20))))
    assert os.getpid() in pids
    assert len(pids - {os.getpid()}) >= 1  # and on the workers
