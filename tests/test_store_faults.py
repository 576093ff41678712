"""Concurrency, crash and tamper tests of the store (issue 1/7 acceptance)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger import merkle
from ledger.checkpoint import verify_checkpoint
from ledger.receipts import verify_receipt
from ledger.replay import parse_entry_bytes
from ledger.store.check import check_store
from tests.store_helpers import LOG, new_ledger, open_ledger

ROOT_DIR = Path(__file__).parent.parent


def _writer(url: str, name: str, count: int, batch: int = 1) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.writer_proc", url, name, str(count), str(batch)],
        cwd=ROOT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _assert_dense(url: str, expected: int) -> None:
    ledger = open_ledger(url)
    seen = [parse_entry_bytes(data)["index"] for _, data in ledger.entries(0)]
    assert seen == list(range(expected))
    result = check_store(ledger.backend)
    assert result.ok, result.reason
    head = ledger.head()
    assert head is not None and head.size == expected
    assert verify_checkpoint(head.checkpoint, LOG.vkey).size == expected


def _concurrent(url: str, processes: int, each: int) -> None:
    new_ledger(url)
    writers = [_writer(url, f"w{p}", each) for p in range(processes)]
    receipts: list[dict] = []
    for w in writers:
        out, errors = w.communicate(timeout=240)
        assert w.returncode == 0, errors[-2000:]
        receipts.extend(json.loads(line) for line in out.splitlines())
    assert len(receipts) == processes * each
    assert sorted(r["index"] for r in receipts) == list(range(2, 2 + processes * each))
    _assert_dense(url, 2 + processes * each)


@pytest.mark.postgres
def test_four_processes_on_postgres(postgres_url: str) -> None:
    _concurrent(postgres_url, 4, 500)


def test_two_processes_on_sqlite(sqlite_url: str) -> None:
    _concurrent(sqlite_url, 2, 500)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_sigkill_in_a_loop_of_appends(backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(f"{backend}_url")
    new_ledger(url)
    printed: list[dict] = []
    for round_ in range(3):
        writer = _writer(url, f"crash{round_}", 100_000, batch=3)
        assert writer.stdout is not None
        deadline = time.monotonic() + 60
        while len(printed) < 40 * (round_ + 1) and time.monotonic() < deadline:
            line = writer.stdout.readline()
            if not line:
                break
            printed.append(json.loads(line))
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
        assert writer.stderr is not None
        writer.stderr.close()
    ledger = open_ledger(url)
    ledger.catch_up()
    head = ledger.head()
    assert head is not None
    assert check_store(ledger.backend).ok
    for receipt in printed:
        old = verify_receipt(receipt, LOG.vkey)
        proof = ledger.consistency_proof(old.size, head.size)
        merkle.verify_consistency(old.size, head.size, old.root, head.root, proof)
    # the log still accepts writes after the crashes
    writer = _writer(url, "after", 3)
    out, _ = writer.communicate(timeout=60)
    assert writer.returncode == 0 and len(out.splitlines()) == 3


def _tamper_ledger(url: str, count: int = 12) -> tuple[object, int]:
    ledger = new_ledger(url)
    writer = _writer(url, "t", count, batch=4)
    writer.communicate(timeout=60)
    size = ledger.catch_up()
    return ledger, size


def _events_table(ledger) -> str:
    return (
        ledger.backend.recorder.events_table_name
        if ledger.backend.url.kind == "sqlite"
        else f"{ledger.backend.url.schema}.{ledger.backend.recorder.events_table_name}"
    )


def _run(ledger, sql: str, *params: object) -> None:
    ledger.backend.recorder.execute(sql.format(table=_events_table(ledger)), params)


def _tamper_changed(ledger, size: int) -> int:
    data = next(d for i, d in ledger.entries(5, 6))
    forged = data.replace(b"planner", b"plannex", 1)
    _run(ledger, "UPDATE {table} SET state = ? WHERE originator_version = ?", forged, 6)
    return 5


def _tamper_deleted(ledger, size: int) -> int:
    _run(ledger, "DELETE FROM {table} WHERE originator_version = ?", 8)
    return 7


def _tamper_swapped(ledger, size: int) -> int:
    _run(ledger, "UPDATE {table} SET originator_version = -1 WHERE originator_version = ?", 5)
    _run(ledger, "UPDATE {table} SET originator_version = 5 WHERE originator_version = ?", 7)
    _run(ledger, "UPDATE {table} SET originator_version = 7 WHERE originator_version = ?", -1)
    return 4


def _tamper_inserted(ledger, size: int) -> int:
    # shift versions >= 4 up by one, then put a copy of entry 2 at version 4
    _run(
        ledger,
        "UPDATE {table} SET originator_version = originator_version + 1000 "
        "WHERE originator_version >= ?",
        4,
    )
    _run(
        ledger,
        "UPDATE {table} SET originator_version = originator_version - 999 "
        "WHERE originator_version >= ?",
        1000,
    )
    data = next(d for i, d in ledger.entries(1, 2))
    _run(
        ledger,
        "INSERT INTO {table} (originator_id, originator_version, topic, state) "
        "SELECT originator_id, 4, topic, ? FROM {table} WHERE originator_version = 2",
        data,
    )
    return 3


@pytest.mark.parametrize("how", ["changed", "deleted", "swapped", "inserted"])
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_tampering_is_found_at_the_first_bad_index(
    backend: str, how: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(f"{backend}_url")
    ledger, size = _tamper_ledger(url)
    assert check_store(ledger.backend).ok  # type: ignore[attr-defined]
    first_bad = globals()[f"_tamper_{how}"](ledger, size)
    result = check_store(ledger.backend)  # type: ignore[attr-defined]
    assert not result.ok
    assert result.first_bad_index == first_bad, result.reason
