"""Each fold of ``projections/`` over the seed season (DESIGN.md B4, C4-C7, STYLE.md point 10).

The season (``tests/projection_season.py``) runs through the real ``decide``;
the folds read its entries. Checks: what each projection says about the
season's cases, draws and inspectors; that the public register (一公开) holds
nothing private; that a fold split anywhere with a JSON round trip in the
middle gives the same bytes as one run (what the runner relies on); and that
the light path stays light.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from ledger.canonical import canonical
from ledger.entries import parse_entry
from projections.cases import CasesProjection, case_summary, missing_declarations
from projections.fairness import FairnessProjection, chi_square, chi_square_p_value, fairness_view
from projections.fold import decimal_string, load_state, run, state_bytes
from projections.progress import ProgressProjection, progress_view
from projections.register import RegisterProjection, public_register
from projections.registry import PROJECTIONS, REPORT_KINDS
from projections.workload import WorkloadProjection, workload_view
from tests.projection_season import (
    CONFLICT_REASON,
    ITEMS,
    PHOTO,
    REFERRAL_SUMMARY,
    TASK_001,
    TASK_002,
    TASK_003,
    VOID_REASON,
    Facts,
    SeedSeason,
    build,
    enterprise_rows,
)

BUNDLE = Path(__file__).parent / "vectors" / "bundles" / "valid" / "entries.jsonl"


@pytest.fixture(scope="module")
def season() -> tuple[SeedSeason, Facts, list[dict[str, Any]]]:
    s, facts = build()
    entries = [parse_entry(data, index=i) for i, data in enumerate(s.h.entries)]
    return s, facts, entries


# ---------------------------------------------------------------------------
# cases


def test_cases_follow_the_lifecycle(season):
    _s, facts, entries = season
    state = run(CasesProjection(), entries)
    a = state["cases"][facts.cases["A"]]
    assert a["status"] == "published" and a["plan_no"] == "联202301" and a["task_id"] == TASK_001
    assert a["inspection"]["index"] == facts.index["A inspection"]
    assert [(f["item"], f["result"], f["hazard"], f["problem"]) for f in a["findings"]] == [
        (ITEMS[0], "违反其他部门相关规定", "重大", True),
        (ITEMS[1], "发现问题待后续处理", "一般", True),
        (ITEMS[2], "未发现问题", None, False),  # logged as the alias 正常
    ]
    (order,) = a["rectifications"]
    assert order["index"] == facts.index["A order"] and order["deadline"] == "2023-03-20"
    assert order["status"] == "overdue" and order["verified"] is None
    assert order["overdue"] == {"deadline": "2023-03-20", "index": facts.index["A overdue"]}
    assert [p["amount_fen"] for p in a["penalties"]] == [500000]
    assert len(a["exposures"]) == 1
    (referral,) = a["referrals"]
    assert referral["to"] == "GAJ" and referral["acknowledged"] is None
    assert referral["index"] == facts.index["A referral"]
    assert sorted(d["inspector"] for d in a["integrity"]) == sorted(a["team"])
    assert facts.conflict_inspector in a["team"]

    b = state["cases"][facts.cases["B"]]
    assert b["status"] == "closed" and b["closed"]["index"] == facts.index["B closed"]
    c = state["cases"][facts.cases["C"]]
    assert missing_declarations(c) == [facts.absent_declarer]
    assert case_summary(c)["missing_declarations"] == [facts.absent_declarer]
    d = state["cases"][facts.cases["D"]]
    assert d["status"] == "inspected"
    assert d["publication_overdue"]["index"] == facts.index["D publication overdue"]
    e = state["cases"][facts.cases["E"]]
    assert e["publications"][0]["date"] == "2023-10-16" and e["plan_no"] == "联202303"


def test_cases_of_a_voided_draw_are_void(season):
    s, facts, entries = season
    state = run(CasesProjection(), entries)
    d1 = [c for c in state["cases"].values() if c["draw_id"] == "D1"]
    assert d1 and all(c["status"] == "void" for c in d1)
    assert {c["void"]["index"] for c in d1} == {facts.index["D1 voided"]}
    assert {c["void"]["reason"] for c in d1} == {VOID_REASON}
    assert state["draws"]["D1"]["void"]["index"] == facts.index["D1 voided"]
    assert all(c["status"] != "void" for c in state["cases"].values() if c["draw_id"] != "D1")
    # the domain's own fold agrees on every status and team
    domain = s.h.state
    assert {cid: c["status"] for cid, c in state["cases"].items()} == {
        cid: c.status for cid, c in domain.cases.items()}
    assert {cid: c["team"] for cid, c in state["cases"].items()} == {
        cid: c.team for cid, c in domain.cases.items()}


def test_a_recusal_replaces_the_inspector(season):
    s, facts, entries = season
    case_id = facts.cases["C"]
    team = s.team(case_id)
    opened = next(e for e in entries if e["type"] == "CaseOpened"
                  and e["stream"] == f"case/{case_id}")
    recusal = {
        "format": "spotcheck-ledger/1", "index": len(entries),
        "logged_at": entries[-1]["logged_at"],
        "stream": f"case/{case_id}", "seq": 99, "type": "InspectorRecused",
        "data": {"case_id": case_id, "inspector": team[0], "reason": "回避", "replacement": "X-9"},
        "command": {},
    }
    state = run(CasesProjection(), [*entries, recusal])
    case = state["cases"][case_id]
    assert case["team"] == ["X-9", *team[1:]]
    assert case["initial_team"] == opened["data"]["inspectors"]
    assert case["recusals"][0]["replacement"] == "X-9"
    work = workload_view(run(WorkloadProjection(), [*entries, recusal]))
    rows = {r["inspector"]: r for r in work["inspectors"]}
    assert rows["X-9"]["assigned"] == rows["X-9"]["replacing"] == 1
    assert rows[team[0]]["recused"] == 1


# ---------------------------------------------------------------------------
# the public register (一公开)


def _private_values(entries: list[dict[str, Any]]) -> set[str]:
    """Everything the law keeps private that the season logged."""
    private = {PHOTO, CONFLICT_REASON, REFERRAL_SUMMARY}
    for entry in entries:
        data = entry["data"]
        if entry["command"]:
            private.add(entry["command"]["key"])
        if entry["type"] == "KeyRegistered":
            private.update({data["key"], data["public_key"]})
        if entry["type"] == "LedgerGenesis":
            private.update(k["key"] for k in data["root_keys"])
        if entry["type"] == "InspectorsImported":
            for row in data["rows"]:
                private.update({row["id"], row["name"], row["cert_no"]})
        if entry["type"] == "FindingRecorded":
            private.add(data["text"])
            private.update(data["evidence"])
        if entry["type"] in ("PenaltyDecided", "InterviewHeld", "Referred", "ConflictDeclared",
                             "DrawVoided", "InspectorRecused"):
            private.update(v for k, v in data.items() if k in (
                "basis", "decision", "person", "summary", "reason"))
    return private


def test_the_public_register_leaks_nothing_private(season):
    _s, _facts, entries = season
    view = public_register(run(RegisterProjection(), entries))
    report = REPORT_KINDS["register"](entries, {"plan_no": None})
    text = canonical(view).decode() + canonical(report).decode()
    for value in _private_values(entries):
        assert value not in text, f"the public register shows {value!r}"
    assert "inspectors" not in text and "evidence" not in text and "summary" not in text


def test_the_public_register_shows_plans_units_and_results(season):
    s, facts, entries = season
    state = run(RegisterProjection(), entries)
    view = public_register(state)
    assert [p["plan_no"] for p in view["plans"]] == ["联202301", "联202302", "联202303"]
    task1 = view["plans"][0]["tasks"][0]
    assert task1["task_id"] == TASK_001 and task1["kind"] == "定向"
    assert task1["initiator"] == "县应急管理局"
    assert task1["joint_departments"] == ["县统计局", "县市场监管局"]
    assert task1["window"] == {"start": "2023-02-01", "end": "2023-11-30"}
    firms = {row["usc"]: row["name"] for e in entries if e["type"] == "EnterprisesImported"
             for row in e["data"]["rows"]}
    units = {u["enterprise"]["usc"]: u for u in task1["units"]}
    a = units[s.h.state.cases[facts.cases["A"]].enterprise]
    assert a["enterprise"]["name"] == firms[a["enterprise"]["usc"]]
    assert a["inspection"] == {"start": "2023-03-10", "end": "2023-03-10"}
    assert set(a["departments"]) == {"县应急管理局", "县统计局", "县市场监管局"}
    assert [r["result"] for r in a["results"]] == [
        "违反其他部门相关规定", "发现问题待后续处理", "未发现问题"]
    assert a["rectification"] == "逾期未整改" and a["published"] == "2023-03-15"
    assert units[facts.repeat_enterprise]["rectification"] == "无需整改"
    # only published cases of live draws are listed: D's case was never published
    task2 = view["plans"][1]["tasks"][0]
    assert task2["task_id"] == TASK_002 and task2["kind"] == "定向"
    listed = {u["enterprise"]["usc"] for u in task2["units"]}
    assert s.h.state.cases[facts.cases["D"]].enterprise not in listed
    assert len(task2["units"]) == 1
    task3 = view["plans"][2]["tasks"][0]
    assert task3["task_id"] == TASK_003 and task3["kind"] is None
    assert [u["published"] for u in task3["units"]] == ["2023-10-16"]
    assert public_register(state, "联202302")["plans"] == [view["plans"][1]]
    assert public_register(state, "nope") == {"plans": []}


# ---------------------------------------------------------------------------
# workload, progress


def test_workload_counts_assignments_and_cases_by_status(season):
    s, _facts, entries = season
    view = workload_view(run(WorkloadProjection(), entries))
    rows = {r["inspector"]: r for r in view["inspectors"]}
    assert len(rows) == 13 and rows["AJJ-4"]["active"] is False
    opened = [e for e in entries if e["type"] == "CaseOpened"]
    assert sum(r["assigned"] for r in rows.values()) == sum(
        len(e["data"]["inspectors"]) for e in opened)
    domain = s.h.state
    for inspector, row in rows.items():
        mine = [c for c in domain.cases.values() if inspector in c.team]
        assert sum(row["cases"].values()) == len(mine)
        for status in ("opened", "inspected", "published", "closed", "void"):
            assert row["cases"][status] == sum(1 for c in mine if c.status == status)
        assert row["open"] == sum(1 for c in mine if c.status in ("opened", "inspected",
                                                                   "published"))


def test_progress_per_task(season):
    _s, _facts, entries = season
    view = progress_view(run(ProgressProjection(), entries))
    tasks = {t["task_id"]: t for p in view["plans"] for t in p["tasks"]}
    assert {k: v for k, v in tasks[TASK_001].items() if k not in ("task_id", "task_name")} == {
        "draws": 2, "performed": 2, "voided_draws": 1, "drawn": 6, "inspected": 2,
        "published": 2, "closed": 1, "void": 6}
    assert {k: tasks[TASK_002][k] for k in ("drawn", "inspected", "published", "closed")} == {
        "drawn": 4, "inspected": 2, "published": 1, "closed": 0}
    assert {k: tasks[TASK_003][k] for k in ("draws", "inspected", "published")} == {
        "draws": 1, "inspected": 1, "published": 1}
    assert [p["plan_no"] for p in progress_view(run(ProgressProjection(), entries),
                                                "联202303")["plans"]] == ["联202303"]


# ---------------------------------------------------------------------------
# fairness


def test_fairness_per_stratum_repeats_and_pairs(season):
    s, facts, entries = season
    state = run(FairnessProjection(), entries)
    view = fairness_view(state)
    assert [d["draw_id"] for d in view["draws"]] == ["D1", "D1R", "D2", "D3"]
    for draw in view["draws"]:
        performed = s.h.state.draws[draw["draw_id"]].selection()
        assert [(r["stratum"], r["selected"]) for r in draw["strata"]] == [
            (p["stratum"], p["count"]) for p in performed]
        assert all(r["matches"] for r in draw["strata"])
    assert view["draws"][0]["status"] == "voided"
    repeats = {r["enterprise"]: [d["draw_id"] for d in r["draws"]]
               for r in view["repeat_selections"]}
    assert repeats[facts.repeat_enterprise] == ["D1", "D1R", "D3"]
    live_teams = [t["inspectors"] for d in ("D1R", "D2", "D3")
                  for t in s.h.state.draws[d].teams()]
    counts = {r["inspector"]: r["assignments"] for r in view["inspector_assignments"]}
    assert sum(counts.values()) == sum(len(t) for t in live_teams)
    for pair in view["repeated_pairs"]:
        assert pair["teams"] == sum(1 for t in live_teams if set(pair["inspectors"]) <= set(t))
        assert pair["teams"] > 1
    one = fairness_view(state, "联202301")
    assert [d["draw_id"] for d in one["draws"]] == ["D1", "D1R"]


def test_chi_square_against_the_samplers_expectation(season):
    s, _facts, entries = season
    view = fairness_view(run(FairnessProjection(), entries))
    by = {row["by"]: row for row in view["chi_square"]}
    towns = by["town"]
    assert sum(g["observed"] for g in towns["groups"]) == sum(
        len(s.h.state.draws[d].case_ids) for d in ("D1R", "D2", "D3"))
    expected = [Fraction(g["expected"]) for g in towns["groups"]]
    assert abs(sum(expected) - sum(g["observed"] for g in towns["groups"])) < Fraction(1, 10**5)
    statistic = sum((g["observed"] - e) ** 2 / e for g, e in zip(towns["groups"], expected,
                                                                   strict=True))
    assert abs(Fraction(towns["statistic"]) - statistic) < Fraction(1, 10**5)
    assert towns["df"] == len(towns["groups"]) - 1
    p = float(Fraction(towns["p_value"]))
    assert 0 <= p <= 1
    assert towns["p_value"] == chi_square_p_value(*chi_square(
        [g["observed"] for g in towns["groups"]],
        _expected_exact(s)))


def _expected_exact(s: SeedSeason) -> list[Fraction]:
    """Expected selections per town over the live draws, computed directly."""
    firms = {row["usc"]: row for row in enterprise_rows()}
    expected: dict[str, Fraction] = {}
    for draw_id in ("D1R", "D2", "D3"):
        draw = s.h.state.draws[draw_id]
        counts = {p["stratum"]: p["count"] for p in draw.selection()}
        for stratum in draw.scheduled["strata"]:
            size = len(stratum["candidates"])
            for usc in stratum["candidates"]:
                town = firms[usc]["town"]
                expected[town] = expected.get(town, Fraction(0)) + Fraction(
                    counts[stratum["stratum"]], size)
    return [expected[t] for t in sorted(expected)]


@pytest.mark.parametrize("x", ["0.1", "0.5", "1", "3", "7.5", "20", "60"])
def test_p_value_matches_closed_forms(x: str):
    statistic = Fraction(x)
    value = float(statistic)
    for df, exact in ((1, math.erfc(math.sqrt(value / 2))), (2, math.exp(-value / 2)),
                      (4, math.exp(-value / 2) * (1 + value / 2))):
        p = chi_square_p_value(statistic, df)
        assert p is not None and len(p.split(".")[1]) == 6
        assert abs(float(p) - exact) <= 5e-7, (x, df, p, exact)


def test_p_value_known_quantiles_and_edges():
    assert chi_square_p_value(Fraction("3.841458820694124"), 1) == "0.050000"
    assert chi_square_p_value(Fraction("23.684791304840576"), 14) == "0.050000"
    assert chi_square_p_value(Fraction("124.342"), 100) == "0.050001"
    assert chi_square_p_value(Fraction(0), 3) == "1.000000"
    assert chi_square_p_value(Fraction(10**6), 3) == "0.000000"
    assert chi_square_p_value(Fraction(5), 0) is None
    assert chi_square([3, 0], [Fraction(3), Fraction(0)]) == (Fraction(0), 0)


@pytest.mark.parametrize(("value", "digits", "text"), [
    (Fraction(2, 3), 6, "0.666667"), (Fraction(1, 3), 6, "0.333333"), (Fraction(1, 8), 2, "0.13"),
    (Fraction(-1, 8), 2, "-0.13"), (Fraction(-1, 1000), 2, "0.00"), (7, 0, "7"),
    (Fraction(5, 2), 0, "3"), (Fraction(123456789, 1000), 1, "123456.8"),
])
def test_decimal_string(value, digits, text):
    assert decimal_string(value, digits) == text


# ---------------------------------------------------------------------------
# folds in general


@pytest.mark.parametrize("name", sorted(PROJECTIONS))
def test_a_split_fold_with_a_json_round_trip_gives_the_same_bytes(season, name):
    _s, _facts, entries = season
    fold = PROJECTIONS[name]
    whole = state_bytes(fold, run(fold, entries))
    assert whole == canonical(json.loads(whole))  # the fast path is canonical (A1)
    for split in range(0, len(entries) + 1, 7):
        first = state_bytes(fold, run(fold, entries[:split]))
        resumed = run(fold, entries[split:], load_state(fold, first))
        assert state_bytes(fold, resumed) == whole, f"{name} split at {split}"


def test_state_bytes_handles_member_names_outside_the_bmp():
    fold = PROJECTIONS["register"]
    state = fold.initial()
    state["cases"]["\U0001f600"] = {"x": 1}
    state["cases"]["\uff5e"] = {"x": 2}
    data = state_bytes(fold, state)
    assert data == canonical(state)
    assert data.index("\U0001f600".encode()) < data.index("\uff5e".encode())  # UTF-16 order


@pytest.mark.parametrize("kind", sorted(REPORT_KINDS))
def test_reports_fold_the_conformance_bundle(kind):
    """Other implementations' entries (fewer data fields) fold without error."""
    lines = BUNDLE.read_bytes().splitlines()
    params = {} if kind == "workload" else {"plan_no": None}
    report = REPORT_KINDS[kind](lines, params)
    assert report["report"] == kind and report["tree_size"] == len(lines)
    assert canonical(report)  # integers and strings only


def test_the_light_path_stays_light():
    code = ("import sys, projections.registry, projections.fold; "
            "bad = [m for m in ('eventsourcing', 'psycopg', 'fastapi', 'sqlalchemy', 'typer', "
            "'rich') if m in sys.modules]; print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parent.parent)
    assert out.stdout.strip() == ""
