"""The compliance report (DESIGN.md C7) on the seed's 2023 season: the acceptance scenario.

The season (``tests/projection_season.py``) holds, through the real domain
rules, a voided draw, a conflict declared after the draw froze the pool, an
overdue rectification nobody followed up, an unacknowledged referral, a 重大
hazard closed without 曝光 or 处罚, a missing 廉洁承诺, a publication that never
came and one that came late (调休 counted), and an enterprise inspected twice
in 2023 by two plans. Each must be in the report of its plan, citing exactly
the entries that prove it. Then: the report as of an earlier tree size, the
publish-and-recompute round trip the verify tool makes, and findings the
domain would refuse to log (from hand-built entries, as another
implementation's bundle could carry them).
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

from ledger.entries import parse_entry
from ledger.errors import FormatError, NotFoundError
from projections.compliance import RULES
from projections.registry import REPORT_KINDS, report_bytes, report_id
from tests.projection_season import (
    TASK_001,
    TASK_002,
    TASK_003,
    VOID_REASON,
    Facts,
    SeedSeason,
    build,
)

Season = tuple[SeedSeason, Facts, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def season() -> Season:
    s, facts = build()
    return s, facts, [parse_entry(data, index=i) for i, data in enumerate(s.h.entries)]


def compliance(entries: list[dict[str, Any]], plan_no: str | None, **params: Any
               ) -> dict[str, Any]:
    return REPORT_KINDS["compliance"](entries, {"plan_no": plan_no, **params})


def only(report: dict[str, Any], rule: str) -> dict[str, Any]:
    found = [f for f in report["findings"] if f["rule"] == rule]
    assert len(found) == 1, (rule, found)
    return found[0]


def index_of(entries: list[dict[str, Any]], type_: str, **match: Any) -> int:
    (index,) = [e["index"] for e in entries if e["type"] == type_
                and all(e["data"].get(k) == v or e.get(k) == v for k, v in match.items())]
    return int(index)


# ---------------------------------------------------------------------------
# the acceptance scenario


def test_plan_001_voided_draw_conflict_overdue_referral_and_trigger(season: Season):
    s, facts, entries = season
    report = compliance(entries, "联202301")
    assert report["tree_size"] == len(entries) and report["as_of_date"] == "2023-10-16"
    assert report["root"] == s.h.root.hex()
    case_a, case_b = facts.cases["A"], facts.cases["B"]

    voided = only(report, "draw_voided")
    assert voided["draw_id"] == "D1" and voided["reason"] == VOID_REASON
    assert voided["by"] == {"key": s.discipline.key_id, "name": "派驻纪检监察组",
                            "department": None}
    assert voided["entries"] == [facts.index["D1 scheduled"],
                                 index_of(entries, "DrawPerformed", draw_id="D1"),
                                 facts.index["D1 voided"]]

    conflict = only(report, "conflict_assignment")
    assert (conflict["case_id"], conflict["inspector"]) == (case_a, facts.conflict_inspector)
    assert conflict["declared"] == "after_draw"
    assert conflict["on_team"] and conflict["present_at_inspection"]
    assert conflict["entries"] == [facts.index["D1R scheduled"],
                                   index_of(entries, "CaseOpened", stream=f"case/{case_a}"),
                                   facts.index["conflict"], facts.index["A inspection"]]

    overdue = only(report, "rectification_overdue_without_follow_up")
    assert overdue["case_id"] == case_a and overdue["deadline"] == "2023-03-20"
    assert overdue["entries"] == [facts.index["A order"], facts.index["A overdue"]]

    referral = only(report, "referral_unacknowledged")
    assert (referral["case_id"], referral["to"]) == (case_a, "GAJ")
    assert referral["entries"] == [facts.index["A referral"]]

    trigger = only(report, "trigger_without_enforcement")
    assert trigger["case_id"] == case_b and trigger["trigger"] == ["major_hazard"]
    assert trigger["entries"] == [facts.index["B major"], facts.index["B closed"]]

    repeat = only(report, "repeat_inspection")
    assert repeat["enterprise"] == facts.repeat_enterprise and repeat["year"] == 2023
    assert [(i["plan_no"], i["task_id"]) for i in repeat["inspections"]] == [
        ("联202301", TASK_001), ("联202303", TASK_003)]
    assert repeat["entries"] == [facts.index["B inspection"], facts.index["E inspection"]]

    assert {rule for rule, n in report["summary"].items() if n} == {
        "draw_voided", "conflict_assignment", "rectification_overdue_without_follow_up",
        "referral_unacknowledged", "trigger_without_enforcement", "repeat_inspection"}
    (plan,) = report["plans"]
    (task,) = plan["tasks"]
    assert [(d["draw_id"], d["status"], d["replaces"]) for d in task["draws"]] == [
        ("D1", "voided", None), ("D1R", "performed", "D1")]
    assert task["draws"][0]["voided"]["by"]["key"] == s.discipline.key_id
    assert task["cases"] == {"drawn": 6, "inspected": 2, "published": 2, "closed": 1, "void": 6}


def test_plan_002_missing_publication_and_integrity(season: Season):
    _s, facts, entries = season
    report = compliance(entries, "联202302")
    calendar = index_of(entries, "WorkCalendarSet", year=2023)
    plan = index_of(entries, "PlanImported", plan_no="联202302")
    missing = only(report, "publication_missing")
    assert missing["case_id"] == facts.cases["D"] and missing["task_id"] == TASK_002
    assert (missing["inspection_end"], missing["deadline"]) == ("2023-04-04", "2023-04-14")
    assert missing["entries"] == [calendar, plan, facts.index["D inspection"],
                                  facts.index["D publication overdue"]]
    integrity = only(report, "integrity_missing")
    assert integrity["case_id"] == facts.cases["C"]
    assert integrity["inspectors"] == [facts.absent_declarer]
    assert integrity["entries"] == [index_of(entries, "CaseOpened",
                                             stream=f"case/{facts.cases['C']}"),
                                    facts.index["C inspection"]]
    assert {rule for rule, n in report["summary"].items() if n} == {
        "publication_missing", "integrity_missing"}


def test_plan_003_late_publication_on_the_official_calendar(season: Season):
    _s, facts, entries = season
    report = compliance(entries, "联202303")
    late = only(report, "publication_late")
    assert late["case_id"] == facts.cases["E"]
    # 7 工作日 after Thursday 2023-09-28: 10-07 and 10-08 are 调休 working days.
    assert (late["inspection_end"], late["deadline"], late["published"]) == (
        "2023-09-28", "2023-10-13", "2023-10-16")
    assert late["entries"] == [index_of(entries, "WorkCalendarSet", year=2023),
                               index_of(entries, "PlanImported", plan_no="联202303"),
                               facts.index["E inspection"],
                               facts.index["E publication overdue"], facts.index["E published"]]
    assert only(report, "repeat_inspection")["entries"] == [facts.index["B inspection"],
                                                             facts.index["E inspection"]]
    assert {rule for rule, n in report["summary"].items() if n} == {
        "publication_late", "repeat_inspection"}


def test_the_whole_log_report_lists_every_plan(season: Season):
    _s, _facts, entries = season
    report = compliance(entries, None)
    assert [p["plan_no"] for p in report["plans"]] == ["联202301", "联202302", "联202303"]
    per_plan = [compliance(entries, p) for p in ("联202301", "联202302", "联202303")]
    for rule in RULES:
        if rule != "repeat_inspection":
            assert report["summary"][rule] == sum(r["summary"][rule] for r in per_plan)
    assert report["summary"]["repeat_inspection"] == 1
    for finding in report["findings"]:
        assert finding["entries"] == sorted(set(finding["entries"]))
        assert all(0 <= i < len(entries) for i in finding["entries"])
    assert [f["rule"] for f in report["findings"]] == sorted(
        (f["rule"] for f in report["findings"]), key=RULES.index)


def test_every_cited_entry_belongs_to_the_finding(season: Season):
    _s, _facts, entries = season
    allowed = {
        "draw_voided": {"DrawScheduled", "DrawPerformed", "DrawVoided"},
        "conflict_assignment": {"ConflictDeclared", "DrawScheduled", "CaseOpened",
                                "InspectorRecused", "InspectionRecorded"},
        "publication_late": {"WorkCalendarSet", "PlanImported", "InspectionRecorded",
                             "PublicationOverdue", "ResultPublished"},
        "publication_missing": {"WorkCalendarSet", "PlanImported", "InspectionRecorded",
                                "PublicationOverdue"},
        "rectification_overdue_without_follow_up": {"RectificationOrdered",
                                                    "RectificationOverdue"},
        "referral_unacknowledged": {"Referred"},
        "integrity_missing": {"CaseOpened", "InspectionRecorded", "InspectorRecused"},
        "repeat_inspection": {"InspectionRecorded"},
        "trigger_without_enforcement": {"FindingRecorded", "InterviewHeld", "CaseClosed"},
    }
    for finding in compliance(entries, None)["findings"]:
        types = {entries[i]["type"] for i in finding["entries"]}
        assert types <= allowed[finding["rule"]], finding
        case_id = finding.get("case_id")
        for i in finding["entries"]:
            stream = entries[i]["stream"]
            if stream.startswith("case/"):
                assert case_id is None or stream == f"case/{case_id}"


def test_the_report_as_of_an_earlier_size(season: Season):
    """"Now" is the last entry covered: before E's publication it is missing, not late."""
    _s, facts, entries = season
    before = compliance(entries, "联202303", tree_size=facts.index["E published"])
    assert before["as_of_date"] == "2023-10-14"
    assert before["summary"]["publication_late"] == 0
    missing = only(before, "publication_missing")
    assert missing["case_id"] == facts.cases["E"]
    assert missing["entries"][-1] == facts.index["E publication overdue"]
    quiet = compliance(entries, "联202303", tree_size=facts.index["E publication overdue"])
    assert quiet["as_of_date"] == "2023-09-28"
    assert quiet["summary"]["publication_missing"] == 0
    early = compliance(entries, "联202301", tree_size=facts.index["A overdue"])
    assert early["summary"]["rectification_overdue_without_follow_up"] == 0
    assert early["as_of_date"] == "2023-03-16"


# ---------------------------------------------------------------------------
# publishing and recomputing (what the verify tool does)


def test_a_published_report_is_recomputed_byte_for_byte(season: Season):
    s, _facts, _entries = season
    h = s.h
    size = h.size
    body = report_bytes("compliance", h.entries, {"plan_no": "联202301"})
    assert body == report_bytes("compliance", [parse_entry(d) for d in h.entries],
                                {"plan_no": "联202301"})
    args = {"report_id": report_id("compliance", "联202301", size), "kind": "compliance",
            "plan_no": "联202301", "sha256": hashlib.sha256(body).hexdigest(),
            "tree_size": size, "root": h.root_at(size).hex()}
    (entry,) = h.submit(s.discipline, "reports.publish", args)
    assert entry["type"] == "ReportPublished" and entry["data"] == args
    # the verifier: entries of the bundle + the logged data -> the same bytes
    logged = entry["data"]
    again = report_bytes(logged["kind"], h.entries, {
        "plan_no": logged["plan_no"], "tree_size": logged["tree_size"], "root": logged["root"]})
    assert again == body and hashlib.sha256(again).hexdigest() == logged["sha256"]


def test_report_parameters_are_checked(season: Season):
    _s, _facts, entries = season
    with pytest.raises(FormatError) as info:
        compliance(entries, "联202301", root="00" * 32)
    assert info.value.rule == "C7 report" and info.value.field == "root"
    with pytest.raises(FormatError) as info:
        compliance(entries, "联202301", tree_size=len(entries) + 1)
    assert info.value.field == "tree_size"
    with pytest.raises(NotFoundError) as missing:
        compliance(entries, "联209999")
    assert missing.value.field == "plan_no"
    with pytest.raises(FormatError) as info:
        REPORT_KINDS["compliance"](entries, {"plan_no": None, "year": 2023})
    assert info.value.field == "year"
    with pytest.raises(FormatError) as info:
        report_bytes("nope", entries, {})
    assert info.value.field == "kind"
    shuffled = [entries[1], entries[0], *entries[2:]]
    with pytest.raises(FormatError) as info:
        compliance(shuffled, None)
    assert info.value.rule == "A4 index"


# ---------------------------------------------------------------------------
# findings the domain refuses to log, from hand-built entries


class Log:
    """Entries appended by hand after the season (as another implementation might log)."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.entries = copy.deepcopy(entries)

    def add(self, type_: str, stream: str, data: dict[str, Any], *,
            logged_at: str | None = None) -> int:
        index = len(self.entries)
        self.entries.append({
            "format": "spotcheck-ledger/1", "index": index,
            "logged_at": logged_at or self.entries[-1]["logged_at"], "stream": stream,
            "seq": 1, "type": type_, "data": data, "command": {"key": "0" * 16},
        })
        return index


def test_teams_conflicts_and_enforcement_the_domain_would_refuse(season: Season):
    s, facts, entries = season
    log = Log(entries)
    case_c = facts.cases["C"]
    team_c = s.team(case_c)
    recusals = [log.add("InspectorRecused", f"case/{case_c}",
                        {"case_id": case_c, "inspector": x, "reason": "回避",
                         "replacement": None}) for x in team_c[:2]]
    penalty = log.add("PenaltyDecided", f"case/{case_c}",
                      {"case_id": case_c, "decision": "罚-1", "date": "2023-10-16",
                       "amount_fen": 1000, "basis": "x"})
    # A draw whose team holds an inspector with a conflict declared before it, and no SCJ.
    enterprise_a = s.h.state.cases[facts.cases["A"]].enterprise
    scheduled = log.add("DrawScheduled", "draw/DX", {
        "draw_id": "DX", "task_id": TASK_003, "replaces": None, "parties": [], "strata": [],
        "inspectors": [{"id": "TJJ-2", "department": "TJJ", "active": True},
                       {"id": "AJJ-1", "department": "AJJ", "active": True}],
        "conflicts": [], "required_departments": ["AJJ", "SCJ"], "team_size": 2,
        "max_load": None})
    opened = log.add("CaseOpened", f"case/DX:{enterprise_a}", {
        "case_id": f"DX:{enterprise_a}", "draw_id": "DX", "task_id": TASK_003,
        "enterprise": enterprise_a, "inspectors": ["TJJ-2", "AJJ-1"]})
    report = compliance(log.entries, None)

    small = [f for f in report["findings"] if f["rule"] == "team_too_small"]
    assert [(f["case_id"], f["size"], f["entries"]) for f in small] == [
        (case_c, 1, sorted([index_of(entries, "CaseOpened", stream=f"case/{case_c}"),
                            *recusals]))]
    departments = {f["case_id"]: f for f in report["findings"]
                   if f["rule"] == "team_missing_department"}
    assert departments[f"DX:{enterprise_a}"]["missing"] == ["SCJ"]
    assert departments[f"DX:{enterprise_a}"]["entries"] == [scheduled, opened]
    assert case_c in departments
    before = [f for f in report["findings"] if f["rule"] == "conflict_assignment"
              and f["declared"] == "before_draw"]
    assert [(f["case_id"], f["inspector"], f["entries"]) for f in before] == [
        (f"DX:{enterprise_a}", "TJJ-2", [facts.index["conflict"], scheduled, opened])]
    without = only(report, "enforcement_without_trigger")
    assert without["case_id"] == case_c and without["enforcement"] == ["penalty"]
    findings_c = [e["index"] for e in entries if e["type"] == "FindingRecorded"
                  and e["stream"] == f"case/{case_c}"]
    assert without["entries"] == sorted([*findings_c, penalty])


def test_a_deadline_in_a_year_without_calendar_is_reported_not_guessed(season: Season):
    s, facts, entries = season
    log = Log(entries)
    case_id = f"D3:{s.h.state.cases[facts.cases['C']].enterprise}"
    opened = log.add("CaseOpened", f"case/{case_id}", {
        "case_id": case_id, "draw_id": "D3", "task_id": TASK_003,
        "enterprise": s.h.state.cases[facts.cases["C"]].enterprise,
        "inspectors": ["AJJ-1", "SCJ-1"]}, logged_at="2023-12-28T01:00:00.000000Z")
    inspected = log.add("InspectionRecorded", f"case/{case_id}", {
        "case_id": case_id, "date": "2023-12-28", "inspectors": ["AJJ-1", "SCJ-1"],
        "items": ["消防设施"]}, logged_at="2023-12-28T02:00:00.000000Z")
    quiet = compliance(log.entries, "联202303")  # as of 2023-12-28: nothing can be late yet
    assert quiet["summary"]["publication_deadline_unknown"] == 0
    log.add("DepartmentRegistered", "registry/departments",
            {"department": "JW", "name": "县纪委监委"}, logged_at="2024-01-20T01:00:00.000000Z")
    report = compliance(log.entries, "联202303")
    unknown = only(report, "publication_deadline_unknown")
    assert unknown["case_id"] == case_id and "2024" in unknown["reason"]
    assert unknown["entries"] == [index_of(entries, "PlanImported", plan_no="联202303"),
                                  inspected]
    assert report["summary"]["publication_missing"] == 0
    assert opened < inspected
