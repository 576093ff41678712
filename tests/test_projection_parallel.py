"""The runner's fast paths: parallel rebuild, parser, state encoder, stamped folds (DESIGN.md B4).

Checks: a rebuild split over worker processes stores byte for byte the states
of the sequential fold (SQLite and PostgreSQL), keeps a projection that is
not one of ``PROJECTIONS`` in this process, and writes nothing when a worker
fails; the stored states of a parallel rebuild carry on incrementally;
``parse_entry`` (``orjson`` when installed) gives the objects ``json.loads``
gives; ``encode_state`` gives ``canonical`` bytes, with or without
``orjson``; a fold with a ``last_key`` is folded from its own entry types only
and stamped, with the same bytes as a fold over every entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import MAX_SAFE_INTEGER, canonical
from ledger.entries import entry_bytes, make_entry
from ledger.errors import StoreError
from ledger.store import projection_runner
from ledger.store.backend import Backend
from ledger.store.ledger import Ledger
from ledger.store.projection_runner import (
    COSTS,
    ProjectionRunner,
    _partition,
    _types_of,
    encode_state,
    parse_entry,
)
from projections.compliance import ComplianceProjection
from projections.fold import run, state_bytes
from projections.registry import PROJECTIONS
from tests.projection_season import (
    CountingProjection,
    SeedSeason,
    append_entries,
    build,
    open_store,
)


@pytest.fixture(scope="module")
def season() -> SeedSeason:
    return build()[0]


@pytest.fixture
def season_ledger(sqlite_url: str, season: SeedSeason) -> Iterator[Ledger]:
    """An SQLite store holding the whole seed season."""
    ledger, clock = open_store(sqlite_url, season)
    append_entries(ledger, clock, season.h.entries)
    yield ledger
    ledger.backend.close()


def fresh_fold(backend: Backend) -> dict[str, bytes]:
    entries = [json.loads(data) for _, data in backend.read_entries(0)]
    return {name: state_bytes(fold, run(fold, entries)) for name, fold in PROJECTIONS.items()}


def stored(runner: ProjectionRunner) -> dict[str, tuple[int, bytes]]:
    """Position and state bytes of every projection, as the table holds them."""
    rows = {name: runner.stored(name) for name in PROJECTIONS}
    return {name: row for name, row in rows.items() if row is not None}


def stored_bytes(runner: ProjectionRunner) -> dict[str, bytes]:
    return {name: data for name, (_, data) in stored(runner).items()}


def parallel_runner(backend: Backend, workers: int, monkeypatch: pytest.MonkeyPatch,
                    projections: Any = None) -> tuple[ProjectionRunner, list[list[str]]]:
    """A runner that rebuilds in ``workers`` processes from any size; records the split."""
    runner = ProjectionRunner(backend, projections, workers=workers, parallel_from=0)
    splits: list[list[str]] = []
    split = projection_runner._partition

    def spy(names: Any, parts: int) -> list[list[str]]:
        groups = split(names, parts)
        splits.extend(groups)
        return groups

    monkeypatch.setattr(projection_runner, "_partition", spy)

    def no_catch_up(*args: Any, **kwargs: Any) -> int:
        raise AssertionError("the parallel rebuild fell back to a catch-up")

    monkeypatch.setattr(runner, "catch_up", no_catch_up)
    return runner, splits


@pytest.mark.parametrize("workers", [2, 3])
def test_a_parallel_rebuild_stores_the_sequential_bytes(database_url: str, season: SeedSeason,
                                                        workers: int,
                                                        monkeypatch: pytest.MonkeyPatch):
    ledger, clock = open_store(database_url, season)
    entries = season.h.entries
    append_entries(ledger, clock, entries[: len(entries) * 2 // 3])
    size = ledger.size
    sequential = ProjectionRunner(ledger.backend, workers=1)
    assert sequential.rebuild() == size
    expected = stored(sequential)
    assert stored_bytes(sequential) == fresh_fold(ledger.backend)

    runner, splits = parallel_runner(ledger.backend, workers, monkeypatch)
    seen: list[tuple[int, int]] = []
    assert runner.rebuild(progress=lambda done, total: seen.append((done, total))) == size
    assert len(splits) == workers  # this process and workers - 1 others each folded a group
    assert sorted(n for group in splits for n in group) == sorted(PROJECTIONS)
    assert seen[0] == (0, size) and seen[-1] == (size, size)
    assert stored(runner) == expected
    for name in PROJECTIONS:  # the states in memory, parsed from the workers' bytes on demand
        assert runner.position(name) == size - 1
        assert state_bytes(PROJECTIONS[name], runner.state(name)) == expected[name][1]

    monkeypatch.undo()  # incremental catch-ups go on from the parallel rebuild's states
    append_entries(ledger, clock, entries)
    assert runner.catch_up() == ledger.size
    assert stored_bytes(runner) == fresh_fold(ledger.backend)
    ledger.backend.close()


def test_a_projection_of_another_package_is_folded_in_this_process(
        season_ledger: Ledger, monkeypatch: pytest.MonkeyPatch):
    ledger = season_ledger
    runner, splits = parallel_runner(ledger.backend, 2, monkeypatch,
                                     [*PROJECTIONS.values(), CountingProjection()])
    assert runner.rebuild() == ledger.size
    assert "counting" not in {n for group in splits for n in group}
    position, data = runner.stored("counting") or (None, b"")
    assert position == ledger.size - 1
    assert json.loads(data)["applied"] == {str(i): 1 for i in range(ledger.size)}
    assert stored_bytes(runner) == fresh_fold(ledger.backend)


def test_a_failed_worker_writes_nothing(season_ledger: Ledger, sqlite_url: str):
    ledger = season_ledger
    runner = ProjectionRunner(ledger.backend, workers=2, parallel_from=0)
    runner.catch_up(until=30)
    # the worker cannot open this store (a folder inside a file); this process still can
    ledger.backend.url_text = sqlite_url + "/inside/a/file.db"
    with pytest.raises(StoreError):
        runner.rebuild()
    # the reset to -1 was committed first; nothing of the rebuild was written
    assert {n: pos for n, (pos, _) in stored(runner).items()} == dict.fromkeys(PROJECTIONS, -1)
    assert ProjectionRunner(ledger.backend).catch_up() == ledger.size
    assert stored_bytes(runner) == fresh_fold(ledger.backend)


def test_small_stores_and_single_projections_rebuild_in_this_process(
        season_ledger: Ledger, monkeypatch: pytest.MonkeyPatch):
    ledger = season_ledger

    def no_pool(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a worker process was started")

    monkeypatch.setattr(projection_runner, "ProcessPoolExecutor", no_pool)
    assert ProjectionRunner(ledger.backend, workers=2).rebuild() == ledger.size  # below 20,000
    assert ProjectionRunner(ledger.backend, workers=2, parallel_from=0).rebuild("cases") \
        == ledger.size
    assert ProjectionRunner(ledger.backend, workers=1, parallel_from=0).rebuild() == ledger.size


def test_the_split_covers_every_projection_once_heaviest_first():
    for parts in (1, 2, 3, 6, 8):
        groups = _partition(PROJECTIONS, parts)
        assert len(groups) == min(parts, len(PROJECTIONS))
        assert sorted(n for g in groups for n in g) == sorted(PROJECTIONS)
        loads = [sum(COSTS[n] for n in g) for g in groups]
        assert loads == sorted(loads, reverse=True)
    assert _partition(PROJECTIONS, 2) == [["cases", "fairness"],
                                          ["register", "workload", "progress", "compliance"]]
    assert _partition(["x", "y"], 4) == [["x"], ["y"]]  # unknown names weigh 1


# ---------------------------------------------------------------------------
# parser and encoder

_INTS = st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | _INTS | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=25,
)


def typed(value: Any) -> str:
    """A rendering that tells ``True`` from ``1`` and keeps member order."""
    return json.dumps(value, ensure_ascii=True)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(value=JSON_VALUES)
def test_orjson_and_json_parse_canonical_bytes_alike(value: Any):
    orjson = pytest.importorskip("orjson")
    data = canonical(value)
    assert typed(orjson.loads(data)) == typed(json.loads(data))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(data=st.dictionaries(st.text(), JSON_VALUES, max_size=4), stream=st.text(min_size=1),
       signed=st.booleans())
def test_parse_entry_gives_the_objects_of_json_loads(data: dict[str, Any], stream: str,
                                                     signed: bool):
    command = {"action": "x", "args": data, "issued_at": "t", "key": "k", "nonce": "n",
               "sig": "A" * 86 + "=="} if signed else None
    entry = make_entry(index=3, logged_at="2023-01-01T00:00:00.000000Z", stream=stream, seq=1,
                       type="FindingRecorded", data=data, command=command)
    raw = entry_bytes(entry)
    assert typed(parse_entry(raw)) == typed(json.loads(raw))


def test_parse_entry_on_the_season_with_and_without_orjson(season: SeedSeason,
                                                          monkeypatch: pytest.MonkeyPatch):
    for data in season.h.entries:
        assert typed(parse_entry(data)) == typed(json.loads(data))
    monkeypatch.setattr(projection_runner, "_ORJSON", None)
    for data in season.h.entries:  # parse_stored_entry: the command is parsed on demand
        entry, full = parse_entry(data), json.loads(data)
        assert entry.get("command") == full["command"] and dict(entry) == full
    lone = b'"\\ud800"'
    assert projection_runner._loads(lone) == json.loads(lone)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(value=st.dictionaries(st.text(), JSON_VALUES, max_size=6))
def test_encode_state_is_canonical(value: dict[str, Any]):
    fold = PROJECTIONS["cases"]  # to_json is the identity
    assert encode_state(fold, value) == canonical(value) == state_bytes(fold, value)


def test_encode_state_falls_back_outside_its_fast_path(monkeypatch: pytest.MonkeyPatch):
    fold = PROJECTIONS["cases"]
    astral = {"\U0001f600": 1, "\uffff": 2, "a": {"\U00010000": [], "\ue000": None}}
    assert encode_state(fold, astral) == canonical(astral)
    assert canonical(astral) != json.dumps(astral, ensure_ascii=False, sort_keys=True,
                                           separators=(",", ":")).encode()  # order differs
    big = {"n": 2**60}  # beyond A1's integers: whatever state_bytes does
    assert encode_state(fold, big) == state_bytes(fold, big)
    monkeypatch.setattr(projection_runner, "_ORJSON", None)
    value = {"名": ["值", 1, True, None], "\U0001f600": "x"}
    assert encode_state(fold, value) == canonical(value)


# ---------------------------------------------------------------------------
# a fold with a last_key


def test_a_stamped_fold_reads_only_its_own_entry_types(season_ledger: Ledger,
                                                       monkeypatch: pytest.MonkeyPatch):
    ledger = season_ledger
    fold = ComplianceProjection()
    types = _types_of(fold)
    assert types is not None and fold.last_key == "last"
    parsed: list[int] = []
    parse = projection_runner.parse_entry

    def counting(data: bytes) -> dict[str, Any]:
        entry = parse(data)
        parsed.append(entry["index"])
        return entry

    monkeypatch.setattr(projection_runner, "parse_entry", counting)
    runner = ProjectionRunner(ledger.backend, [fold], commit_every=40)
    assert runner.catch_up() == ledger.size
    entries = [json.loads(data) for _, data in ledger.backend.read_entries(0)]
    own = {e["index"] for e in entries if e["type"] in types}
    commits = set(range(39, ledger.size, 40)) | {ledger.size - 1}
    assert set(parsed) == own | commits  # its own types, and the last entry before each commit
    assert len(own) < len(entries) / 2
    position, data = runner.stored("compliance") or (None, b"")
    assert position == ledger.size - 1
    assert data == state_bytes(fold, run(fold, entries))
    assert json.loads(data)["last"] == {"index": entries[-1]["index"],
                                        "logged_at": entries[-1]["logged_at"]}
