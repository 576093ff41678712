"""The demo season of 2023 (``ledger.season.build_season``) on SQLite (issue 2/7).

One season is built per module on a store created at the start of 2023
(``ledger.demo.initialise_at``) with a smaller sample registry (300
enterprises) so the module stays fast. The tests check what the season holds,
that running it again appends nothing, that ``spotcheck export`` gives a bundle
the outside verifier accepts, and that one changed ``ResultPublished`` in the
store is caught by ``spotcheck check`` and by the verifier.
"""

from __future__ import annotations

import json
import shutil
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ledger.canonical import canonical
from ledger.cli import main as spotcheck
from ledger.config import Settings
from ledger.domain.calendar import WorkCalendar
from ledger.domain.registry import RESULT_CATEGORIES
from ledger.domain.sampling import stratum_count
from ledger.errors import NotFoundError, RuleError
from ledger.season import SEASON_DRAWS, SeasonSummary, build_season, load_sample
from ledger.store.ledger import Ledger
from ledger.store.open import open_ledger
from tools.verify.cli import main as verify

ENTERPRISES = 300


def env_of(home: Path) -> dict[str, str]:
    return {"SPOTCHECK_HOME": str(home), "SPOTCHECK_DATABASE_URL": f"sqlite:///{home}/ledger.db"}


@dataclass
class Built:
    home: Path
    summary: SeasonSummary
    vkey: str

    def settings(self) -> Settings:
        return Settings.from_env(env_of(self.home))

    def ledger(self) -> Ledger:
        return open_ledger(self.settings())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    from ledger.demo import prepare

    home = tmp_path_factory.mktemp("season") / "var"
    result = prepare(Settings.from_env(env_of(home)), enterprises=ENTERPRISES, inspectors=60)
    result.ledger.backend.close()
    yield Built(home, result.season, result.vkey)


@pytest.fixture
def use(built: Built, monkeypatch: pytest.MonkeyPatch) -> Built:
    """Point the CLI's SPOTCHECK_* variables at the season's store."""
    for name, value in env_of(built.home).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SPOTCHECK_LOG_KEY_FILE", raising=False)
    monkeypatch.delenv("SPOTCHECK_ORIGIN", raising=False)
    return built


def test_the_season_holds_every_story(built: Built) -> None:
    s = built.summary
    ledger = built.ledger()
    state = ledger.domain
    live = [d for d in SEASON_DRAWS if d.visits is not None]
    assert s.draws == {"联202301-001-D1": "performed", "联202302-002-D1": "voided",
                       "联202302-002-D2": "performed", "联202303-003-D1": "performed"}
    assert state.draws["联202302-002-D2"].replaces == "联202302-002-D1"
    # case counts follow from the registry: ceil(ratio x stratum size) per stratum
    expected = sum(stratum_count(st["ratio"], len(st["candidates"]))
                   for d in live for st in state.draws[d.draw_id].scheduled["strata"])
    assert s.cases == expected and s.closed == s.cases and s.publications == s.cases
    assert s.void_cases == len(state.draws["联202302-002-D1"].case_ids) > 0
    # every official result category, at least once
    assert set(s.findings) == {label for _, label in RESULT_CATEGORIES}
    assert all(count >= 1 for count in s.findings.values()), s.findings
    assert sum(s.findings.values()) == 3 * s.cases
    # the stories, each in its own case
    roles = s.roles
    assert None not in roles.values() and len(set(roles.values())) == 4
    assert s.overdue_orders == [roles["overdue"]]
    assert s.late_publications == [roles["late"]]
    assert (s.interviews, s.refused_interviews, s.exposures) == (1, 1, 1)
    assert s.penalties == 2 and s.penalty_fen == 8_000_000
    assert (s.referrals, s.acknowledged) == (1, 1)
    assert s.orders == s.verified + 1
    assert s.declarations == sum(len(state.cases[c].team) for d in live
                                 for c in state.draws[d.draw_id].case_ids)
    assert len(s.reports) == 3 and all(r.startswith("compliance-联2023") for r in s.reports)
    ledger.backend.close()


def test_case_details_follow_the_seed_rules(built: Built) -> None:
    ledger = built.ledger()
    state, roles = ledger.domain, built.summary.roles
    calendar = WorkCalendar(state.calendars)
    for draw in (d for d in SEASON_DRAWS if d.visits is not None):
        for case_id in state.draws[draw.draw_id].case_ids:
            case = state.cases[case_id]
            start, end = state.tasks[draw.task_id].window
            assert case.inspection is not None and start is not None and end is not None
            assert start <= case.inspection.date <= end  # inside the task window (抽查时间)
            assert set(case.declarations) == set(case.team)  # 廉洁承诺 by every inspector
            published = case.publications[0].date
            assert published is not None
            deadline = calendar.deadline(case.inspection.end_date, 7, "工作日")
            assert (published > deadline) == (case_id == roles["late"])
    major = state.cases[roles["major"] or ""]
    assert major.major_hazard() and major.penalties and not major.interviews
    overdue = state.cases[roles["overdue"] or ""]
    (order,) = overdue.orders.values()
    assert order.overdue_index is not None and order.verified_index is None
    assert overdue.interviews[0].outcome == "refused"
    assert overdue.interviews[0].index > order.overdue_index
    assert overdue.penalties[0].index > overdue.interviews[0].index
    assert overdue.exposures and overdue.exposures[0].index > overdue.penalties[0].index
    referred = state.cases[roles["referral"] or ""]
    (referral,) = referred.referrals.values()
    assert referral.to == "GAJ" and referral.acknowledged_index is not None
    late = state.cases[roles["late"] or ""]
    assert late.publication_overdue_index is not None
    assert late.publications[0].index > late.publication_overdue_index
    assert all(date(2023, 1, 1) <= (c.closed_date or date.min) <= date(2023, 12, 31)
               for c in state.cases.values() if c.closed)
    ledger.backend.close()


def test_running_the_season_again_appends_nothing(built: Built) -> None:
    ledger = built.ledger()
    size = ledger.size
    assert load_sample(ledger, built.settings().keys_dir, enterprises=ENTERPRISES) == {}
    again = build_season(ledger, built.settings().keys_dir)
    assert again.appended == 0 and ledger.size == size
    assert ledger.backend.head_size() == size
    assert replace(again, appended=built.summary.appended) == built.summary
    ledger.backend.close()


def test_the_store_replays_draws_on_the_worker_pool(built: Built,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # Opening the store replays the log; every DrawPerformed's draw goes to the pool.
    import ledger.domain.draws as draws
    import ledger.store.ledger as store_ledger
    from ledger import sigcheck

    monkeypatch.setattr(draws, "PARALLEL_MIN_ENTERPRISES", 1)
    calls: list[int] = []

    def spy(fn: Any, items: Any) -> list[Any]:
        calls.append(len(items))
        return sigcheck.pool_map(fn, items)

    monkeypatch.setattr(store_ledger, "pool_map", spy)
    ledger = built.ledger()
    try:
        assert ledger.size == built.summary.size  # every draw checked against the pool's
        performed = sum(
            b'"type":"DrawPerformed"' in data for _, data in ledger.entries(0)
        )
        assert performed >= 1 and len(calls) == performed
    finally:
        ledger.backend.close()


def _verify(bundle: Path, vkey: str) -> int:
    return verify(["bundle", str(bundle), "--vkey", vkey, "--jobs", "1"])


def test_export_verifies(use: Built, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    assert spotcheck(["export", str(bundle)]) == 0
    assert spotcheck(["check"]) == 0
    lines = (bundle / "entries.jsonl").read_bytes().count(b"\n")
    assert lines == use.summary.size
    assert sorted(p.stem for p in (bundle / "reports").iterdir()) == use.summary.reports
    assert _verify(bundle, use.vkey) == 0


def test_a_changed_result_is_found(built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "var"
    shutil.copytree(built.home, home)
    for name, value in env_of(home).items():
        monkeypatch.setenv(name, value)
    ledger = open_ledger(Settings.from_env(env_of(home)))
    case_id = built.summary.roles["late"]
    index = ledger.domain.cases[case_id or ""].publications[0].index
    data = next(iter(ledger.entries(index, index + 1)))[1]
    entry = json.loads(data)
    assert entry["type"] == "ResultPublished"
    entry["data"]["date"] = entry["data"]["date"][:8] + "01"  # backdate the late publication
    forged = canonical(entry)
    assert forged != data and json.loads(forged) == entry
    table = ledger.backend.recorder.events_table_name
    ledger.backend.recorder.execute(
        f"UPDATE {table} SET state = ? WHERE originator_version = ?", (forged, index + 1))
    ledger.backend.close()
    capsys.readouterr()
    assert spotcheck(["check"]) == 1
    assert f"first bad index {index}:" in capsys.readouterr().err
    bundle = tmp_path / "bundle"
    assert spotcheck(["export", str(bundle)]) == 0
    capsys.readouterr()
    assert _verify(bundle, built.vkey) == 1
    assert capsys.readouterr().out.startswith("FAIL: ")


def test_the_season_needs_a_log_that_starts_before_it(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A store initialised today cannot hold a 2023 season: a clear error, nothing appended."""
    home = tmp_path / "var"
    for name, value in env_of(home).items():
        monkeypatch.setenv(name, value)
    assert spotcheck(["init"]) == 0
    ledger = open_ledger(Settings.from_env(env_of(home)))
    with pytest.raises(NotFoundError, match="spotcheck sample"):
        build_season(ledger, home / "keys")
    assert load_sample(ledger, home / "keys", enterprises=100, inspectors=20)["plans"] == 3
    size = ledger.size
    with pytest.raises(RuleError, match="logged_at never decreases") as info:
        build_season(ledger, home / "keys")
    assert info.value.field == "logged_at" and ledger.size == size
    ledger.backend.close()


def test_serve_without_the_service_factory_fails_clearly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from ledger import demo

    monkeypatch.setitem(sys.modules, "api.app", types.ModuleType("api.app"))
    for name, value in env_of(tmp_path / "var").items():
        monkeypatch.setenv(name, value)
    assert demo.main(["--serve"]) == 2
    assert "no create_app(settings) factory" in capsys.readouterr().err
    assert not (tmp_path / "var").exists()  # refused before anything was built
