"""Signatures checked ahead on worker processes (ledger/sigcheck.py, A3).

The ordered pass must give the same verdicts whether a batch's signatures
were checked ahead or in-line: a forged signature inside a large batch is
refused at its index and nothing else changes.
"""

from __future__ import annotations

import copy
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ledger import sigcheck
from ledger.errors import SignatureError
from ledger.sigcheck import Prechecks, check_signatures
from ledger.store import signatures as store_signatures
from ledger.store.ledger import Ledger
from tests.store_helpers import ADMIN, cmd, key, new_ledger, register_args


def _register(tag: str, n: int) -> list[dict[str, Any]]:
    return [
        cmd(ADMIN, "keys.register", register_args(key(f"{tag}{i}"), ["planner"]))
        for i in range(n)
    ]


def _forged(command: dict[str, Any]) -> dict[str, Any]:
    bad = copy.deepcopy(command)
    bad["args"]["holder"]["name"] = "someone else"  # the signature no longer covers it
    return bad


def test_check_signatures_true_false_and_unreadable() -> None:
    good = _register("sc-a", 1)[0]
    unreadable = dict(good, args={"x": 1.5})  # a float cannot be canonicalised (A1)
    public = ADMIN.public_key
    assert check_signatures([(public, good), (public, _forged(good)), (public, unreadable)]) == [
        True, False, None
    ]
    assert check_signatures([(key("other").public_key, good)]) == [False]


def test_lookup_answers_only_for_the_same_object_and_key() -> None:
    commands = _register("sc-b", sigcheck.MIN_BATCH)
    prechecks = Prechecks(commands, lambda kid: ADMIN.public_key if kid == ADMIN.key_id else None)
    try:
        if not len(prechecks):
            pytest.skip("one core: no worker pool")
        assert prechecks.lookup(commands[0], ADMIN.public_key) is True
        assert prechecks.lookup(copy.deepcopy(commands[0]), ADMIN.public_key) is None
        assert prechecks.lookup(commands[1], key("other").public_key) is None
    finally:
        prechecks.cancel()


def test_small_batches_are_checked_in_line() -> None:
    commands = _register("sc-c", sigcheck.MIN_BATCH - 1)
    assert len(Prechecks(commands, lambda kid: ADMIN.public_key)) == 0


def test_forged_command_in_a_large_batch_is_refused_alone(database_url: str) -> None:
    ledger: Ledger = new_ledger(database_url)
    commands = _register("sc-d", 40)
    commands[17] = _forged(commands[17])
    # A key registered in this batch signs later in it: not known ahead, checked in-line.
    newcomer = key("sc-d-new")
    commands[5] = cmd(ADMIN, "keys.register", register_args(newcomer, ["admin"]))
    commands.append(cmd(newcomer, "keys.register", register_args(key("sc-d-late"), ["planner"])))
    late_forged = _forged(cmd(newcomer, "keys.register", register_args(key("sc-d-x"), ["planner"])))
    commands.append(late_forged)
    size = ledger.log.size
    results = ledger.submit_many(commands)
    refused = {i: r for i, r in enumerate(results) if isinstance(r, Exception)}
    assert set(refused) == {17, 41}
    for error in refused.values():
        assert isinstance(error, SignatureError)
        assert error.rule == "A3 signature"
        assert error.field == "command.sig"
    assert ledger.log.size == size + len(commands) - 2
    assert ledger.log.prechecked is None


def test_chunks_are_sent_ahead_of_the_pass_and_answer_alike() -> None:
    # Deep in a batch longer than the window: chunks go out as the pass moves.
    n = (sigcheck.AHEAD + 6) * sigcheck.CHUNK
    commands = _register("sc-e", n)
    forged_at = n - 3
    commands[forged_at] = _forged(commands[forged_at])
    prechecks = Prechecks(commands, lambda kid: ADMIN.public_key, store_signatures.check_signatures)
    try:
        if not len(prechecks):
            pytest.skip("one core: no worker pool")
        assert len(prechecks._tasks) == sigcheck.AHEAD
        verdicts = []
        for command in commands:
            verdicts.append(prechecks.lookup(command, ADMIN.public_key))
            time.sleep(0.002)  # a pass slower than the worker: its answers are used
        assert len(prechecks._tasks) == n // sigcheck.CHUNK
        assert all(task.done() for task in prechecks._tasks[:-1])
        assert verdicts == [i != forged_at for i in range(n)]
    finally:
        prechecks.cancel()


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for a reaper)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


CHILD = """
import sys, time
from ledger import sigcheck
from tests.test_sigcheck import _register
from tests.store_helpers import ADMIN
commands = _register("sc-orphan", sigcheck.MIN_BATCH)
checks = sigcheck.Prechecks(commands, lambda kid: ADMIN.public_key)
assert checks.lookup(commands[0], ADMIN.public_key) is True
print(" ".join(str(p.pid) for p in sigcheck._POOL._processes), flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(sigcheck.cores() < 2, reason="one core: no worker pool")
def test_workers_exit_when_the_parent_is_killed() -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).parent.parent)
    try:
        assert child.stdout is not None
        workers = [int(pid) for pid in child.stdout.readline().split()]
        assert workers and all(_alive(pid) for pid in workers)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)
