"""The projection runner (投影) on SQLite and PostgreSQL (DESIGN.md B3, B4).

The seed season's entries go into a real store through ``Ledger`` (byte for
byte the entries of ``decide``). Checks: catching up incrementally gives the
same bytes as folding every entry from index 0 and as ``rebuild``; so does
any interleaving of appends and catch-ups (hypothesis); a runner killed with
SIGKILL in the middle of a catch-up resumes with no entry applied twice and
none skipped; two runners on one store never both apply an entry; a changed
fold version is rebuilt; and the CLI commands that use the runner.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.canonical import canonical
from ledger.cli import main as cli_main
from ledger.entries import entry_bytes, make_entry
from ledger.errors import StoreError
from ledger.keys import KeyPair, save_key_file
from ledger.store.backend import Backend
from ledger.store.projection_runner import (
    Conflict,
    ProjectionRunner,
    _entry_type,
    parse_stored_entry,
    report_at_head,
)
from projections.fold import run, state_bytes
from projections.progress import ProgressProjection
from projections.registry import PROJECTIONS, REPORT_KINDS, report_bytes
from tests.domain_helpers import ORIGIN, seed_of
from tests.projection_season import (
    CountingProjection,
    SeedSeason,
    append_entries,
    build,
    open_store,
)

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def season() -> SeedSeason:
    return build()[0]


def stored_entries(backend: Backend) -> list[dict[str, Any]]:
    return [json.loads(data) for _, data in backend.read_entries(0)]


def assert_matches_a_fresh_fold(runner: ProjectionRunner, backend: Backend) -> None:
    entries = stored_entries(backend)
    for name, fold in PROJECTIONS.items():
        expected = state_bytes(fold, run(fold, entries))
        position, data = runner.stored(name) or (None, b"")
        assert position == len(entries) - 1, name
        assert data == expected, f"{name}: incremental state differs from a fold from 0"
        assert state_bytes(fold, runner.state(name)) == expected


def test_incremental_equals_fold_from_zero_and_rebuild(database_url: str, season: SeedSeason):
    ledger, clock = open_store(database_url, season)
    entries = season.h.entries
    runner = ProjectionRunner(ledger.backend, commit_every=25)
    for cut in (1, 40, 77, 120):
        append_entries(ledger, clock, entries[:cut])
        assert runner.catch_up() == ledger.size
    fresh = ProjectionRunner(ledger.backend, commit_every=1000)  # reloads states from the table
    append_entries(ledger, clock, entries)
    assert fresh.catch_up() == len(entries)
    assert_matches_a_fresh_fold(fresh, ledger.backend)
    before = {name: fresh.stored(name) for name in PROJECTIONS}
    seen: list[tuple[int, int]] = []
    assert fresh.rebuild(progress=lambda done, total: seen.append((done, total))) == len(entries)
    assert seen[0] == (0, len(entries)) and seen[-1] == (len(entries), len(entries))
    assert {name: fresh.stored(name) for name in PROJECTIONS} == before
    # a report from the runner's states is the verifier's report, byte for byte
    report = report_at_head(fresh, "compliance", {"plan_no": "联202301"})
    assert canonical(report) == report_bytes("compliance", stored_entries(ledger.backend),
                                             {"plan_no": "联202301"})
    assert report["root"] == ledger.head().root.hex()  # type: ignore[union-attr]
    ledger.backend.close()


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_interleaving_of_appends_and_catch_ups(season: SeedSeason, data: st.DataObject):
    entries = season.h.entries
    cuts = sorted(data.draw(st.sets(st.integers(1, len(entries) - 1), max_size=6)))
    with tempfile.TemporaryDirectory() as tmp:
        ledger, clock = open_store(f"sqlite:///{tmp}/ledger.db", season)
        runner = ProjectionRunner(ledger.backend,
                                  commit_every=data.draw(st.sampled_from([1, 7, 50, 10_000])))
        for cut in [*cuts, len(entries)]:
            append_entries(ledger, clock, entries[:cut])
            action = data.draw(st.sampled_from(["catch up", "partly", "new runner", "skip"]))
            if action == "new runner":
                runner = ProjectionRunner(ledger.backend, page=data.draw(st.integers(1, 60)))
            if action == "partly":
                names = data.draw(st.lists(st.sampled_from(sorted(PROJECTIONS)), min_size=1,
                                           unique=True))
                until = data.draw(st.integers(0, ledger.size))
                runner.catch_up(names, until=until)
                assert all(runner.position(n) >= until - 1 for n in names)
            elif action != "skip":
                assert runner.catch_up() == ledger.size
        runner.catch_up()
        assert_matches_a_fresh_fold(runner, ledger.backend)
        ledger.backend.close()


# ---------------------------------------------------------------------------
# crashes and concurrent runners

CHILD = """
import sys
from ledger.store.backend import Backend
from ledger.store.projection_runner import ProjectionRunner
from tests.projection_season import CountingProjection

runner = ProjectionRunner(Backend(sys.argv[1]), [CountingProjection(delay=0.003)], page=7,
                          commit_every=5)
runner.catch_up(progress=lambda done, total: print(done, flush=True))
print("done", flush=True)
"""


def _run_and_kill(url: str, commits: int, extra_delay: float) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD, url], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)
    try:
        seen = 0
        assert child.stdout is not None
        while seen <= commits:
            line = child.stdout.readline()
            assert line and line.strip() != "done", "the child finished before it was killed"
            seen += 1
        time.sleep(extra_delay)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


def _check_counts(url: str, size: int | None = None) -> int:
    runner = ProjectionRunner(Backend(url), [CountingProjection()])
    position, data = runner.stored("counting") or (-2, b"")
    applied = json.loads(data)["applied"]
    assert sorted(map(int, applied)) == list(range(position + 1)), "an entry was skipped"
    assert set(applied.values()) <= {1}, "an entry was applied twice"
    if size is not None:
        assert position == size - 1
    runner.backend.close()
    return position


def test_a_runner_killed_mid_catch_up_resumes_exactly_once(database_url: str,
                                                            season: SeedSeason):
    ledger, clock = open_store(database_url, season)
    append_entries(ledger, clock, season.h.entries)
    size = ledger.size
    _run_and_kill(database_url, commits=3, extra_delay=0.004)
    first = _check_counts(database_url)
    assert 10 <= first < size - 1
    _run_and_kill(database_url, commits=4, extra_delay=0.011)
    second = _check_counts(database_url)
    assert first < second < size - 1
    resumed = ProjectionRunner(ledger.backend, [CountingProjection()])
    assert resumed.catch_up() == size
    _check_counts(database_url, size)
    ledger.backend.close()


def test_two_runners_never_apply_an_entry_twice(sqlite_url: str, season: SeedSeason,
                                               monkeypatch: pytest.MonkeyPatch):
    ledger, clock = open_store(sqlite_url, season)
    append_entries(ledger, clock, season.h.entries)
    one = ProjectionRunner(ledger.backend, [CountingProjection()], commit_every=10)
    other = ProjectionRunner(Backend(sqlite_url), [CountingProjection()], commit_every=10)
    one.catch_up(until=50)
    assert other.position("counting") == 49  # loaded, then left behind
    one.catch_up(until=100)
    reloads: list[int] = []
    forget = other.forget

    def spy() -> None:
        reloads.append(1)
        forget()

    monkeypatch.setattr(other, "forget", spy)
    assert other.catch_up() == ledger.size  # its first write conflicts; it reloads and resumes
    assert reloads == [1]
    with pytest.raises(Conflict):  # a write from a stale position is refused whole
        other._write({"counting": (1, 120, b'{"applied":{}}', 99)})
    _check_counts(sqlite_url, ledger.size)
    assert one.catch_up() == ledger.size
    _check_counts(sqlite_url, ledger.size)


def test_a_new_fold_version_is_rebuilt(sqlite_url: str, season: SeedSeason):
    ledger, clock = open_store(sqlite_url, season)
    append_entries(ledger, clock, season.h.entries)
    ProjectionRunner(ledger.backend, [ProgressProjection()]).catch_up()

    class Changed(ProgressProjection):
        version = 2

        def apply(self, state: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
            state["seen"] = state.get("seen", 0) + 1
            return super().apply(state, entry)

    runner = ProjectionRunner(ledger.backend, [Changed()])
    assert runner.position("progress") == -1
    runner.catch_up()
    assert runner.state("progress")["seen"] == ledger.size
    with pytest.raises(StoreError) as info:
        runner.catch_up(["nope"])
    assert info.value.field == "name"


def test_entry_types_are_read_from_canonical_bytes(season: SeedSeason):
    for data in season.h.entries:
        assert _entry_type(data) == json.loads(data)["type"].encode()
    assert _entry_type(b'{"type":"X"') is None


def test_stored_entries_parse_to_the_same_objects(season: SeedSeason):
    for data in season.h.entries:
        full = json.loads(data)
        fast = parse_stored_entry(data)
        assert fast.get("command") == full["command"]
        assert dict(fast) == full
    # a stream with escapes, and args that mimic the end of a command: both still exact
    odd = make_entry(index=7, logged_at="2023-01-01T00:00:00.000000Z", stream='case/a"b\\c',
                     seq=1, type="CaseOpened", data={"x": "y"}, command=None)
    assert parse_stored_entry(entry_bytes(odd)) == odd
    sig = "A" * 86 + "=="
    tricky = make_entry(index=8, logged_at="2023-01-01T00:00:00.000000Z", stream="case/x",
                        seq=2, type="FindingRecorded",
                        data={"a": 1},
                        command={"action": "x", "args": {"a": {"sig": sig}, "data": {"b": 2}},
                                 "issued_at": "t", "key": "k", "nonce": "n", "sig": sig})
    parsed = parse_stored_entry(entry_bytes(tricky))
    assert dict(parsed) == tricky and parsed["data"] == {"a": 1}


# ---------------------------------------------------------------------------
# the CLI


def test_cli_projections_reports_and_tick(tmp_path: Path, season: SeedSeason,
                                          monkeypatch: pytest.MonkeyPatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    ledger, clock = open_store(url, season)
    append_entries(ledger, clock, season.h.entries)
    size = ledger.size
    ledger.backend.close()
    log_key = tmp_path / "log.key"
    save_key_file(log_key, KeyPair.from_seed("log", seed_of("log key")))
    signer = tmp_path / "discipline.key"
    save_key_file(signer, season.discipline)
    monkeypatch.setenv("SPOTCHECK_DATABASE_URL", url)
    monkeypatch.setenv("SPOTCHECK_LOG_KEY_FILE", str(log_key))
    monkeypatch.setenv("SPOTCHECK_ORIGIN", ORIGIN)
    monkeypatch.setenv("COLUMNS", "200")

    assert cli_main(["projections", "rebuild", "register"]) == 0
    assert cli_main(["projections", "rebuild"]) == 0
    assert cli_main(["projections", "rebuild", "nope"]) == 2
    out = tmp_path / "report.json"
    assert cli_main(["report", "compliance", "--plan", "联202301", "--out", str(out)]) == 0
    assert out.read_bytes() == report_bytes("compliance", season.h.entries,
                                            {"plan_no": "联202301"})

    assert cli_main(["report", "publish", "--plan", "联202301", "--signer", str(signer)]) == 0
    backend = Backend(url)
    published = json.loads(next(iter(backend.read_entries(size, size + 1)))[1])
    assert published["type"] == "ReportPublished"
    data = published["data"]
    assert data["tree_size"] == size and data["plan_no"] == "联202301"
    body = report_bytes(data["kind"], [d for _, d in backend.read_entries(0, size)],
                        {"plan_no": data["plan_no"], "tree_size": size, "root": data["root"]})
    assert hashlib.sha256(body).hexdigest() == data["sha256"]
    assert backend.recorder.read_reports(size + 1) == {data["report_id"]: body}

    assert cli_main(["tick"]) == 0
    assert backend.head_size() == size + 1  # nothing was due
    backend.close()
    assert REPORT_KINDS["progress"]([d for _, d in Backend(url).read_entries(0)],
                                    {"plan_no": None})["tree_size"] == size + 1
