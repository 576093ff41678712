"""Domain rules of DESIGN.md Part C, through decide + the in-memory store (B1, B5).

Every refusal test breaks one rule and checks the error class, that the
message names the field and the rule, and that nothing was appended (size
and root unchanged, STYLE.md point 12). Then a whole season: registry, plan,
draws with commit-reveal, a void and a re-draw, a recusal, a case from
inspection to close, the overdue ticks on the 2023 calendar, and a replay
from index 0.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import ledger.domain.draws as draws
from ledger.domain.decide import decide, due_system_entries
from ledger.domain.draws import perform_draw, replacement_after_recusal
from ledger.domain.registry import ImportRowsError
from ledger.domain.state import DomainState
from ledger.entries import entry_bytes
from ledger.errors import (
    AuthorityError,
    FormatError,
    LedgerError,
    NotFoundError,
    RuleError,
)
from ledger.keys import KeyPair
from ledger.replay import LogState
from tests.domain_helpers import (
    BLANK,
    CALENDAR_2023,
    DIRECTED,
    Harness,
    Season,
    commitment_of,
    enterprise_rows,
    inspector_rows,
    plan_data,
    secret_of,
)

ITEMS = ["安全生产责任制", "特种作业人员持证上岗", "消防设施"]
PHOTO = hashlib.sha256(b"photo-001.jpg").hexdigest()
BUNDLE = Path(__file__).parent / "vectors" / "bundles" / "valid" / "entries.jsonl"


def refused(
    h: Harness,
    error: type[LedgerError],
    *,
    rule: str,
    field: str | None,
    pair: KeyPair,
    action: str,
    args: dict[str, Any],
) -> LedgerError:
    """Submit a command that must be refused; nothing may be appended."""
    size, root, state_size = h.size, h.root, h.state.size
    with pytest.raises(error) as info:
        h.submit(pair, action, args)
    err = info.value
    assert err.rule == rule, str(err)
    assert f"[{rule}]" in str(err)
    assert err.field == field, str(err)
    if field is not None:
        assert f"field {field!r}" in str(err)
    assert (h.size, h.root, h.state.size) == (size, root, state_size)
    return err


# ---------------------------------------------------------------------------
# fixtures


@dataclass
class At:
    """A season with one case of draw D1 in focus."""

    s: Season
    case_id: str

    @property
    def h(self) -> Harness:
        return self.s.h

    @property
    def team(self) -> list[str]:
        return self.s.team(self.case_id)

    def member(self, k: int = 0) -> KeyPair:
        return self.s.member(self.case_id, k)

    def submit(self, action: str, args: dict[str, Any], pair: KeyPair | None = None) -> Any:
        return self.h.submit(pair or self.member(), action, {"case_id": self.case_id, **args})

    def refused(self, error: type[LedgerError], rule: str, field: str | None, action: str,
                args: dict[str, Any], pair: KeyPair | None = None) -> LedgerError:
        return refused(self.h, error, rule=rule, field=field, pair=pair or self.member(),
                       action=action, args={"case_id": self.case_id, **args})


def inspection_args(team: list[str], day: str = "2023-03-10", **over: Any) -> dict[str, Any]:
    return {"date": day, "inspectors": list(team), "items": list(ITEMS), **over}


def finding_args(item: str, result: str, hazard: str | None, **over: Any) -> dict[str, Any]:
    return {"item": item, "result": result, "hazard": hazard, "text": f"{item}: 检查记录",
            "evidence": [PHOTO] if hazard else [], **over}


@pytest.fixture
def season() -> Season:
    return Season().setup()


@pytest.fixture
def drawn(season: Season) -> At:
    season.draw("D1", DIRECTED, ["AJJ", "SCJ", "observer"])
    return At(season, season.case_ids("D1")[0])


@pytest.fixture
def opened(drawn: At) -> At:
    drawn.h.at("2023-03-10")
    return drawn


@pytest.fixture
def visited(opened: At) -> At:
    opened.submit("cases.record_inspection", inspection_args(opened.team))
    return opened


@pytest.fixture
def inspected(visited: At) -> At:
    """Findings: 重大 problem on item 0, 一般 problem on item 1, no problem on item 2."""
    visited.submit("cases.record_finding", finding_args(ITEMS[0], "违反其他部门相关规定", "重大"))
    visited.submit("cases.record_finding", finding_args(ITEMS[1], "发现问题待后续处理", "一般"))
    visited.submit("cases.record_finding", finding_args(ITEMS[2], "未发现问题", None))
    return visited


@pytest.fixture
def minor(visited: At) -> At:
    """Only a 一般 problem: no trigger for 曝光/处罚 yet."""
    visited.submit("cases.record_finding", finding_args(ITEMS[0], "发现问题待后续处理", "一般"))
    return visited


# ---------------------------------------------------------------------------
# C1 registries and C5 calendar


def bad_rows() -> list[dict[str, str]]:
    rows = enterprise_rows()[:5]
    rows[1] = {**rows[1], "usc": rows[1]["usc"][:-1] + ("0" if rows[1]["usc"][-1] != "0" else "1")}
    rows[2] = {**rows[2], "usc": rows[0]["usc"]}
    rows[4] = {k: v for k, v in rows[4].items() if k != "sector"}
    return rows


def test_enterprise_import_with_bad_rows_appends_nothing_and_lists_every_row():
    s = Season().keys()
    s.h.submit(s.planner, "departments.register", {"department": "AJJ", "name": "县应急管理局"})
    err = refused(s.h, ImportRowsError, rule="C1 import", field=None, pair=s.planner,
                  action="enterprises.import", args={"rows": bad_rows()})
    assert isinstance(err, ImportRowsError)
    assert [(row, field) for row, field, _, _ in err.problems] == [
        (2, "usc"), (3, "usc"), (5, "sector")]
    assert "GB 32100-2015 check character" in str(err)
    assert "repeats row 1" in str(err)


def test_enterprise_import_refuses_registered_codes(season: Season):
    err = refused(season.h, ImportRowsError, rule="C1 import", field=None, pair=season.planner,
                  action="enterprises.import", args={"rows": enterprise_rows()[:2]})
    assert isinstance(err, ImportRowsError)
    assert {p[2] for p in err.problems} == {"C1 registry"}
    assert "already registered" in str(err)


def test_enterprise_import_must_be_signed_in_normalised_form():
    s = Season().keys()
    rows = enterprise_rows()[:2]
    rows[1] = {**rows[1], "grade": "B类"}
    err = refused(s.h, ImportRowsError, rule="C1 import", field=None, pair=s.planner,
                  action="enterprises.import", args={"rows": rows})
    assert isinstance(err, ImportRowsError)
    assert err.problems[0][:3] == (2, "grade", "C1 normalised form")


def test_inspector_import_needs_registered_departments():
    s = Season().keys()
    err = refused(s.h, ImportRowsError, rule="C1 import", field=None, pair=s.planner,
                  action="inspectors.import", args={"rows": inspector_rows()})
    assert isinstance(err, ImportRowsError)
    assert len(err.problems) == len(inspector_rows())
    assert all(p[1] == "department" and "not registered" in p[3] for p in err.problems)


def test_inspector_import_refuses_a_certificate_number_in_use(season: Season):
    row = {**inspector_rows()[0], "id": "AJJ-9"}
    err = refused(season.h, ImportRowsError, rule="C1 import", field=None, pair=season.planner,
                  action="inspectors.import", args={"rows": [row]})
    assert isinstance(err, ImportRowsError)
    assert err.problems[0][1:3] == ("cert_no", "C1 registry")


def test_department_ids_are_unique(season: Season):
    refused(season.h, RuleError, rule="C1 registry", field="department", pair=season.planner,
            action="departments.register", args={"department": "AJJ", "name": "另一个局"})


def test_conflict_needs_a_registered_enterprise(season: Season):
    refused(season.h, RuleError, rule="C1 conflicts", field="enterprise", pair=season.planner,
            action="conflicts.declare",
            args={"inspector": "AJJ-1", "enterprise": "914403001922038216", "reason": "亲属"})


def test_conflict_is_declared_once(season: Season):
    refused(season.h, RuleError, rule="C1 conflicts", field="enterprise", pair=season.planner,
            action="conflicts.declare",
            args={"inspector": "AJJ-2", "enterprise": season.firms[0], "reason": "再次申报"})


def test_update_needs_a_registered_enterprise(season: Season):
    refused(season.h, NotFoundError, rule="C1 registry", field="usc", pair=season.planner,
            action="enterprises.update", args={"usc": "914403001922038216", "status": "closed"})


def test_update_values_are_checked_like_an_import(season: Season):
    err = refused(season.h, ImportRowsError, rule="C1 import", field=None, pair=season.planner,
                  action="inspectors.update", args={"id": "AJJ-1", "department": "XXX"})
    assert isinstance(err, ImportRowsError)
    assert err.problems[0][1] == "department"


def test_calendar_data_is_validated():
    s = Season().keys()
    bad = {**CALENDAR_2023, "workdays": ["2023-01-30"]}  # a Monday
    refused(s.h, FormatError, rule="C5 calendar", field="workdays[0]", pair=s.admin,
            action="calendar.set", args=bad)


def test_calendar_is_set_once_per_year(season: Season):
    refused(season.h, RuleError, rule="C5 calendar", field="year", pair=season.admin,
            action="calendar.set", args=CALENDAR_2023)


# ---------------------------------------------------------------------------
# C2 plans


def plan_with(**task_over: Any) -> dict[str, Any]:
    plan = plan_data()
    plan["plan_no"] = "联202399"
    plan["tasks"] = [{**plan["tasks"][0], "task_id": "联202399-001", **task_over}]
    return plan


def test_plan_numbers_are_unique(season: Season):
    refused(season.h, RuleError, rule="C2 plan", field="plan_no", pair=season.planner,
            action="plans.import", args=plan_data())


def test_plan_departments_must_be_registered(season: Season):
    refused(season.h, RuleError, rule="C2 departments", field="tasks[0].initiator",
            pair=season.planner, action="plans.import", args=plan_with(initiator="XJJ"))


def test_plan_joint_department_must_be_registered(season: Season):
    refused(season.h, RuleError, rule="C2 departments", field="tasks[0].joint_departments[0]",
            pair=season.planner, action="plans.import",
            args=plan_with(joint_departments=["QXJ"]))


def test_plan_task_window_must_not_end_before_it_starts(season: Season):
    refused(season.h, RuleError, rule="C2 window", field="tasks[0].window_end",
            pair=season.planner, action="plans.import",
            args=plan_with(window_start="2023-11-30", window_end="2023-02-01"))


def test_plan_task_must_be_well_formed(season: Season):
    plan = plan_with()
    del plan["tasks"][0]["initiator"]
    refused(season.h, FormatError, rule="C2 task", field="tasks[0].initiator",
            pair=season.planner, action="plans.import", args=plan)


def test_plan_needs_grade_ratios_when_the_ratio_is_by_grade(season: Season):
    plan = plan_with()
    del plan["tasks"][0]["grade_ratios"]
    refused(season.h, RuleError, rule="C2 grade ratios", field="tasks[0].grade_ratios",
            pair=season.planner, action="plans.import", args=plan)


def test_plan_needs_a_ratio_for_every_grade(season: Season):
    plan = plan_with(grade_ratios={"A": "0.1", "B": "0.2", "C": "0.3"})
    refused(season.h, RuleError, rule="C2 grade ratios", field="tasks[0].grade_ratios.D",
            pair=season.planner, action="plans.import", args=plan)


def test_directed_task_needs_sectors(season: Season):
    refused(season.h, RuleError, rule="C2 sectors", field="tasks[0].sectors",
            pair=season.planner, action="plans.import", args=plan_with(sectors=[]))


def test_task_ids_are_unique_across_plans(season: Season):
    refused(season.h, RuleError, rule="C2 task", field="tasks[0].task_id",
            pair=season.planner, action="plans.import", args=plan_with(task_id=DIRECTED))


def test_plan_publication_rule_is_checked(season: Season):
    plan = plan_with()
    plan["publication"] = {"days": 7, "unit": "周"}
    refused(season.h, FormatError, rule="C5 publication", field="publication.unit",
            pair=season.planner, action="plans.import", args=plan)


# ---------------------------------------------------------------------------
# C3 draws: scheduling


def draft(s: Season, draw_id: str = "D9", task_id: str = DIRECTED,
          parties: tuple[str, ...] = ("AJJ", "SCJ", "observer"), **extra: Any) -> dict[str, Any]:
    from ledger.domain.decide import draft_schedule

    return draft_schedule(s.h.state, draw_id=draw_id, task_id=task_id,
                          parties=s.party_list(parties), **extra)


def schedule_refused(s: Season, args: dict[str, Any], error: type[LedgerError], rule: str,
                     field: str | None) -> LedgerError:
    return refused(s.h, error, rule=rule, field=field, pair=s.planner, action="draws.schedule",
                   args=args)


def test_schedule_needs_an_imported_task(season: Season):
    schedule_refused(season, {**draft(season), "task_id": "联202301-777"}, NotFoundError,
                     "C3 schedule", "task_id")


def test_a_draw_through_a_mapper_is_the_same_draw(season: Season, monkeypatch):
    # The store hands a large draw to its worker pool: decide and the Part A re-check
    # both go through the mapper, and the entries are those of the in-line draw.
    in_line = Season().setup()
    expected = in_line.draw("D1", DIRECTED, ["AJJ", "SCJ", "observer"])
    monkeypatch.setattr(draws, "PARALLEL_MIN_ENTERPRISES", 1)
    calls: list[int] = []

    def mapper(fn, items):
        calls.append(len(items))
        return [fn(item) for item in items]

    season.h.log.draw_mapper = mapper
    assert season.draw("D1", DIRECTED, ["AJJ", "SCJ", "observer"]) == expected
    assert len(calls) == 2  # decide's DrawPerformed, then LogState's check of it


def test_schedule_needs_a_new_draw_id(drawn: At):
    s = drawn.s
    s.h.submit(s.discipline, "draws.void", {"draw_id": "D1", "reason": "重新抽取"})
    schedule_refused(s, draft(s, "D1", replaces="D1"), RuleError, "C3 draw", "draw_id")


def test_a_task_with_a_live_draw_cannot_be_drawn_again(drawn: At):
    schedule_refused(drawn.s, draft(drawn.s), RuleError, "C3 re-draw", "task_id")


def test_a_redraw_names_the_voided_draw(drawn: At):
    s = drawn.s
    s.h.submit(s.discipline, "draws.void", {"draw_id": "D1", "reason": "重新抽取"})
    schedule_refused(s, draft(s), RuleError, "C3 re-draw", "replaces")
    schedule_refused(s, draft(s, replaces="D7"), RuleError, "C3 re-draw", "replaces")


def test_a_first_draw_replaces_nothing(season: Season):
    schedule_refused(season, draft(season, replaces="D0"), RuleError, "C3 re-draw", "replaces")


def test_frozen_candidates_equal_the_registry(season: Season):
    args = draft(season)
    dropped = copy.deepcopy(args)
    dropped["strata"][0]["candidates"].pop()
    schedule_refused(season, dropped, RuleError, "C3 frozen candidates", "strata")
    closed = copy.deepcopy(args)  # the closed 工贸 enterprise is not a candidate
    closed["strata"][0]["candidates"].append(season.firms[11])
    schedule_refused(season, closed, RuleError, "C3 frozen candidates", "strata")
    other_sector = copy.deepcopy(args)  # a 危化 enterprise is outside the directed task
    other_sector["strata"][0]["candidates"].append(season.firms[12])
    schedule_refused(season, other_sector, RuleError, "C3 frozen candidates", "strata")


def test_blank_type_task_draws_from_all_active_enterprises(season: Season):
    args = draft(season, task_id=BLANK, parties=("AJJ", "TJJ"))
    frozen = sorted(c for stratum in args["strata"] for c in stratum["candidates"])
    active = sorted(r["usc"] for r in enterprise_rows() if r["status"] == "active")
    assert frozen == active
    assert {st["ratio"] for st in args["strata"]} == {"0.2"}
    season.h.submit(season.planner, "draws.schedule", args)


def test_stratum_ratio_is_the_tasks(season: Season):
    args = draft(season)
    args["strata"][0]["ratio"] = "0.05"
    schedule_refused(season, args, RuleError, "C3 stratum ratio", "strata[0].ratio")


def test_frozen_inspector_pool_equals_the_registry(season: Season):
    args = draft(season)
    args["inspectors"][3]["active"] = True  # AJJ-4 is not active
    schedule_refused(season, args, RuleError, "C3 frozen pool", "inspectors")


def test_frozen_conflicts_equal_the_declarations(season: Season):
    args = draft(season)
    args["conflicts"] = []
    schedule_refused(season, args, RuleError, "C3 frozen conflicts", "conflicts")


def test_required_departments_are_initiator_and_joint(season: Season):
    args = draft(season)
    args["required_departments"] = ["AJJ"]
    schedule_refused(season, args, RuleError, "C3 required departments", "required_departments")


def test_every_required_department_needs_an_active_inspector(season: Season):
    for ident in ("TJJ-1", "TJJ-2"):
        season.h.submit(season.planner, "inspectors.update", {"id": ident, "active": False,
                                                              "reason": "调离"})
    schedule_refused(season, draft(season, task_id=BLANK, parties=("AJJ", "TJJ")), RuleError,
                     "draw.required_department", "required_departments")


def test_parties_are_not_empty(season: Season):
    schedule_refused(season, draft(season, parties=()), FormatError, "draw.parties", "parties")


def test_party_keys_hold_draw_party(season: Season):
    args = draft(season)
    args["parties"][0]["key"] = season.planner.key_id
    schedule_refused(season, args, RuleError, "C3 parties", "parties[0].key")


def test_team_size_is_at_least_two(season: Season):
    schedule_refused(season, draft(season, team_size=1), RuleError, "C3 team size", "team_size")


def test_max_load_is_a_positive_integer_or_null(season: Season):
    schedule_refused(season, draft(season, max_load=0), FormatError, "draw.max_load", "max_load")


# ---------------------------------------------------------------------------
# C3 draws: commit, reveal, void


@pytest.fixture
def scheduled(season: Season) -> Season:
    season.schedule("D1", DIRECTED, ["AJJ", "SCJ", "observer"])
    return season


def commit_args(draw_id: str, party: str) -> dict[str, Any]:
    return {"draw_id": draw_id, "party": party,
            "commitment": commitment_of(secret_of(draw_id, party))}


def test_commit_only_by_the_named_party(scheduled: Season):
    s = scheduled
    refused(s.h, AuthorityError, rule="A12 roles", field="command.key", pair=s.parties["SCJ"],
            action="draws.commit", args=commit_args("D1", "AJJ"))


def test_commit_needs_a_scheduled_draw(scheduled: Season):
    s = scheduled
    refused(s.h, NotFoundError, rule="C3 draw", field="draw_id", pair=s.parties["AJJ"],
            action="draws.commit", args=commit_args("D5", "AJJ"))


def test_commit_once(scheduled: Season):
    s = scheduled
    s.commit("D1", "AJJ")
    refused(s.h, RuleError, rule="C3 commit once", field="party", pair=s.parties["AJJ"],
            action="draws.commit", args=commit_args("D1", "AJJ"))


def test_reveal_after_every_commitment(scheduled: Season):
    s = scheduled
    s.commit("D1", "AJJ")
    s.commit("D1", "SCJ")
    refused(s.h, RuleError, rule="C3 commit before reveal", field="party",
            pair=s.parties["AJJ"], action="draws.reveal",
            args={"draw_id": "D1", "party": "AJJ", "secret": secret_of("D1", "AJJ")})


def test_reveal_matches_the_commitment(scheduled: Season):
    s = scheduled
    for party in ("AJJ", "SCJ", "observer"):
        s.commit("D1", party)
    refused(s.h, RuleError, rule="draw.reveal_matches_commitment", field="secret",
            pair=s.parties["AJJ"], action="draws.reveal",
            args={"draw_id": "D1", "party": "AJJ", "secret": secret_of("D1", "AJJ", "other")})


def test_reveal_once(scheduled: Season):
    s = scheduled
    for party in ("AJJ", "SCJ", "observer"):
        s.commit("D1", party)
    s.reveal("D1", "AJJ")
    refused(s.h, RuleError, rule="C3 reveal once", field="party", pair=s.parties["AJJ"],
            action="draws.reveal",
            args={"draw_id": "D1", "party": "AJJ", "secret": secret_of("D1", "AJJ")})


def test_no_commit_on_a_voided_draw(scheduled: Season):
    s = scheduled
    s.h.submit(s.discipline, "draws.void", {"draw_id": "D1", "reason": "当事方未到场"})
    refused(s.h, RuleError, rule="C3 draw state", field="draw_id", pair=s.parties["AJJ"],
            action="draws.commit", args=commit_args("D1", "AJJ"))


def test_no_reveal_on_a_performed_draw(drawn: At):
    s = drawn.s
    refused(s.h, RuleError, rule="C3 draw state", field="draw_id", pair=s.parties["AJJ"],
            action="draws.reveal",
            args={"draw_id": "D1", "party": "AJJ", "secret": secret_of("D1", "AJJ")})


def test_void_needs_a_reason(drawn: At):
    s = drawn.s
    refused(s.h, FormatError, rule="C3 void", field="reason", pair=s.discipline,
            action="draws.void", args={"draw_id": "D1", "reason": "  "})


def test_void_needs_discipline_or_admin(drawn: At):
    s = drawn.s
    refused(s.h, AuthorityError, rule="A12 roles", field="command.key", pair=s.planner,
            action="draws.void", args={"draw_id": "D1", "reason": "想换一批"})


def test_void_once(drawn: At):
    s = drawn.s
    s.h.submit(s.admin, "draws.void", {"draw_id": "D1", "reason": "抽签程序有误"})
    refused(s.h, RuleError, rule="C3 void", field="draw_id", pair=s.discipline,
            action="draws.void", args={"draw_id": "D1", "reason": "again"})


def test_void_refused_once_a_case_was_inspected(visited: At):
    s = visited.s
    refused(s.h, RuleError, rule="C3 void", field="draw_id", pair=s.discipline,
            action="draws.void", args={"draw_id": "D1", "reason": "检查后作废"})


# ---------------------------------------------------------------------------
# C3 recusal


def test_recusal_of_an_inspector_not_on_the_team(opened: At):
    outsider = next(x for x in ("AJJ-1", "AJJ-2", "AJJ-3") if x not in opened.team)
    opened.refused(RuleError, "C3 recusal", "inspector", "cases.recuse",
                   {"inspector": outsider, "reason": "利害关系"}, pair=opened.s.planner)


def test_recusal_replacement_is_drawn_never_chosen(opened: At):
    inspector = opened.team[0]
    chosen = next(x for x in ("AJJ-1", "AJJ-2", "AJJ-3") if x not in opened.team)
    state = opened.h.state
    draw = state.draws["D1"]
    drawn_one = replacement_after_recusal(draw.scheduled, draw.reveals, draw.performed or {},
                                          state.cases[opened.case_id].enterprise, inspector)
    if chosen == drawn_one:
        chosen = "SCJ-3" if "SCJ-3" not in opened.team else "SCJ-2"
    opened.refused(RuleError, "C3 recusal", "replacement", "cases.recuse",
                   {"inspector": inspector, "reason": "利害关系", "replacement": chosen},
                   pair=opened.member(0))


def test_recusal_before_the_inspection(visited: At):
    visited.refused(RuleError, "C3 recusal", "case_id", "cases.recuse",
                    {"inspector": visited.team[0], "reason": "利害关系"})


# ---------------------------------------------------------------------------
# C4 cases: generic


def test_case_actions_need_an_opened_case(opened: At):
    refused(opened.h, NotFoundError, rule="C4 case", field="case_id", pair=opened.member(),
            action="cases.record_inspection",
            args={"case_id": "D1:914403001922038216", **inspection_args(opened.team)})


def test_no_case_action_on_a_voided_draw(opened: At):
    s = opened.s
    s.h.submit(s.discipline, "draws.void", {"draw_id": "D1", "reason": "抽签程序有误"})
    opened.refused(RuleError, "C3 void", "case_id", "cases.record_inspection",
                   inspection_args(opened.team))


def test_inspectors_outside_the_team_may_not_act(opened: At):
    outsider = next(x for x in opened.s.inspectors if x not in opened.team)
    opened.refused(AuthorityError, "A12 roles", "command.key", "cases.record_inspection",
                   inspection_args(opened.team), pair=opened.s.inspectors[outsider])


# ---------------------------------------------------------------------------
# C4 inspection


def test_finding_only_after_the_inspection(opened: At):
    opened.refused(RuleError, "C4 transition", "case_id", "cases.record_finding",
                   finding_args(ITEMS[0], "未发现问题", None))


def test_inspection_date_inside_the_task_window(drawn: At):
    drawn.h.at("2023-12-05")
    drawn.refused(RuleError, "C4 inspection window", "date", "cases.record_inspection",
                  inspection_args(drawn.team, "2023-12-04"))


def test_inspection_date_not_in_the_future(opened: At):
    opened.refused(RuleError, "C4 inspection", "date", "cases.record_inspection",
                   inspection_args(opened.team, "2023-03-11"))


def test_inspectors_present_are_on_the_team(opened: At):
    outsider = next(x for x in opened.s.inspectors if x not in opened.team)
    opened.refused(RuleError, "C4 inspection", "inspectors[1]", "cases.record_inspection",
                   inspection_args([opened.team[0], outsider]))


def test_at_least_two_inspectors_present(opened: At):
    opened.refused(RuleError, "C4 inspection", "inspectors", "cases.record_inspection",
                   inspection_args(opened.team[:1]))


def test_inspection_recorded_by_an_inspector_present(season: Season):
    season.draw("D1", DIRECTED, ["AJJ", "SCJ", "observer"], team_size=3)
    case = At(season, season.case_ids("D1")[0])
    season.h.at("2023-03-10")
    assert len(case.team) == 3
    case.refused(RuleError, "C4 inspection", "inspectors", "cases.record_inspection",
                 inspection_args(case.team[1:]), pair=case.member(0))


def test_inspection_items_listed(opened: At):
    opened.refused(FormatError, "C4 args", "items", "cases.record_inspection",
                   inspection_args(opened.team, items=[]))


def test_one_inspection_per_case(visited: At):
    visited.refused(RuleError, "C4 inspection", "case_id", "cases.record_inspection",
                    inspection_args(visited.team))


# ---------------------------------------------------------------------------
# C4 findings


def test_finding_item_was_inspected(visited: At):
    visited.refused(RuleError, "C4 finding", "item", "cases.record_finding",
                    finding_args("危险作业审批", "未发现问题", None))


def test_finding_result_from_the_official_list(visited: At):
    visited.refused(FormatError, "C4 result category", "result", "cases.record_finding",
                    finding_args(ITEMS[0], "还行", None))


def test_finding_hazard_level(visited: At):
    visited.refused(FormatError, "C4 hazard level", "hazard", "cases.record_finding",
                    finding_args(ITEMS[0], "发现问题待后续处理", "严重"))


def test_finding_problem_needs_a_hazard_level(visited: At):
    visited.refused(RuleError, "C4 hazard level", "hazard", "cases.record_finding",
                    finding_args(ITEMS[0], "发现问题待后续处理", None))


def test_finding_text(visited: At):
    visited.refused(FormatError, "C4 args", "text", "cases.record_finding",
                    finding_args(ITEMS[0], "未发现问题", None, text=""))


def test_finding_evidence_is_sha256_hex(visited: At):
    visited.refused(FormatError, "C4 evidence", "evidence[0]", "cases.record_finding",
                    finding_args(ITEMS[0], "发现问题待后续处理", "一般", evidence=["photo.jpg"]))


def test_one_finding_per_item(inspected: At):
    inspected.refused(RuleError, "C4 finding", "item", "cases.record_finding",
                      finding_args(ITEMS[2], "未发现问题", None))


# ---------------------------------------------------------------------------
# C4 rectification


def order_args(order: str = "承县应急责改〔2023〕001号", day: str = "2023-03-10",
               deadline: str = "2023-03-20", items: list[str] | None = None) -> dict[str, Any]:
    return {"order": order, "date": day, "deadline": deadline,
            "items": items if items is not None else [ITEMS[1]]}


def test_order_only_after_the_inspection(opened: At):
    opened.refused(RuleError, "C4 transition", "case_id", "cases.order_rectification",
                   order_args())


def test_order_issued_on_the_spot(inspected: At):
    inspected.h.at("2023-03-11")
    inspected.refused(RuleError, "C4 rectification", "date", "cases.order_rectification",
                      order_args(day="2023-03-11"))


def test_order_deadline_after_the_order(inspected: At):
    inspected.refused(RuleError, "C4 rectification", "deadline", "cases.order_rectification",
                      order_args(deadline="2023-03-10"))


def test_order_needs_a_finding_with_a_problem(inspected: At):
    inspected.refused(RuleError, "C4 rectification", "items[0]", "cases.order_rectification",
                      order_args(items=[ITEMS[2]]))


def test_order_number_used_once(inspected: At):
    inspected.submit("cases.order_rectification", order_args())
    inspected.refused(RuleError, "C4 rectification", "order", "cases.order_rectification",
                      order_args(items=[ITEMS[0]]))


def test_verify_only_after_an_order(inspected: At):
    err = inspected.refused(RuleError, "C4 transition", "order", "cases.verify_rectification",
                            {"order": "承县应急责改〔2023〕001号", "date": "2023-03-10"})
    assert "can only be verified after it was ordered" in str(err)


def test_verify_once(inspected: At):
    inspected.submit("cases.order_rectification", order_args())
    inspected.submit("cases.verify_rectification",
                     {"order": "承县应急责改〔2023〕001号", "date": "2023-03-10"})
    inspected.refused(RuleError, "C4 rectification", "order", "cases.verify_rectification",
                      {"order": "承县应急责改〔2023〕001号", "date": "2023-03-10"})


# ---------------------------------------------------------------------------
# C4 约谈, 处罚, 曝光, 移交


def test_interview_outcome(inspected: At):
    inspected.refused(FormatError, "C4 interview", "outcome", "cases.record_interview",
                      {"date": "2023-03-10", "person": "主要负责人 王某", "outcome": "maybe"})


def test_interview_follows_a_problem(visited: At):
    visited.submit("cases.record_finding", finding_args(ITEMS[0], "未发现问题", None))
    visited.refused(RuleError, "C4 interview", "case_id", "cases.record_interview",
                    {"date": "2023-03-10", "person": "主要负责人 王某", "outcome": "agreed"})


def penalty_args(amount: Any = 500000, decision: str = "(承县)应急罚〔2023〕7号") -> dict[str, Any]:
    return {"decision": decision, "date": "2023-03-10", "amount_fen": amount,
            "basis": "《中华人民共和国安全生产法》第一百零二条"}


def test_penalty_amount_is_positive_fen(inspected: At):
    inspected.refused(RuleError, "C4 penalty", "amount_fen", "cases.decide_penalty",
                      penalty_args(0))
    inspected.refused(FormatError, "C4 penalty", "amount_fen", "cases.decide_penalty",
                      penalty_args("5000.00"))


def test_penalty_needs_the_trigger(minor: At):
    minor.refused(RuleError, "C4 enforcement trigger", "case_id", "cases.decide_penalty",
                  penalty_args())


def test_penalty_after_a_refusal_to_rectify(minor: At):
    minor.submit("cases.record_interview",
                 {"date": "2023-03-10", "person": "主要负责人 王某", "outcome": "refused"})
    minor.submit("cases.decide_penalty", penalty_args())
    assert minor.h.state.cases[minor.case_id].penalties[0].amount_fen == 500000


def test_exposure_needs_the_trigger(minor: At):
    minor.refused(RuleError, "C4 enforcement trigger", "case_id", "cases.expose",
                  {"date": "2023-03-10", "where": "承德县人民政府网站"}, pair=minor.s.publisher)


def test_exposure_by_a_publisher(inspected: At):
    inspected.refused(AuthorityError, "A12 roles", "command.key", "cases.expose",
                      {"date": "2023-03-10", "where": "承德县人民政府网站"})


def refer_args(to: str = "GAJ") -> dict[str, Any]:
    return {"referral": "移送-001", "date": "2023-03-10", "to": to,
            "summary": "涉嫌非法储存危险物品，移送公安机关"}


def test_referral_to_a_registered_body(inspected: At):
    inspected.refused(RuleError, "C4 referral", "to", "cases.refer", refer_args("县纪委监委"))


def test_acknowledge_an_existing_referral(inspected: At):
    inspected.refused(RuleError, "C4 referral", "referral", "cases.acknowledge_referral",
                      {"referral": "移送-001", "date": "2023-03-10"}, pair=inspected.s.receiver)


def test_acknowledge_by_the_receiving_body(inspected: At):
    inspected.submit("cases.refer", refer_args())
    inspected.refused(RuleError, "C4 referral", "referral", "cases.acknowledge_referral",
                      {"referral": "移送-001", "date": "2023-03-10"},
                      pair=inspected.s.other_receiver)
    inspected.refused(AuthorityError, "A12 roles", "command.key", "cases.acknowledge_referral",
                      {"referral": "移送-001", "date": "2023-03-10"})


def test_acknowledge_once(inspected: At):
    inspected.submit("cases.refer", refer_args())
    ack = {"referral": "移送-001", "date": "2023-03-10"}
    inspected.submit("cases.acknowledge_referral", ack, pair=inspected.s.receiver)
    inspected.refused(RuleError, "C4 referral", "referral", "cases.acknowledge_referral", ack,
                      pair=inspected.s.receiver)


# ---------------------------------------------------------------------------
# C5 publication, C4 integrity and close


def publish_args(day: str = "2023-03-10", **over: Any) -> dict[str, Any]:
    return {"date": day, "where": "承德县人民政府网站", **over}


def test_publish_after_every_item_has_a_finding(minor: At):
    minor.refused(RuleError, "C5 publication", "case_id", "cases.publish", publish_args(),
                  pair=minor.s.publisher)


def test_publish_once_unless_corrected(inspected: At):
    publisher = inspected.s.publisher
    inspected.refused(RuleError, "C5 publication", "correction", "cases.publish",
                      publish_args(correction=True), pair=publisher)
    inspected.submit("cases.publish", publish_args(), pair=publisher)
    inspected.refused(RuleError, "C5 publication", "correction", "cases.publish",
                      publish_args(), pair=publisher)
    inspected.submit("cases.publish", publish_args(correction=True), pair=publisher)
    assert len(inspected.h.state.cases[inspected.case_id].publications) == 2


def integrity_args(inspector: str, **over: Any) -> dict[str, Any]:
    return {"inspector": inspector, "date": "2023-03-10", "no_banquet": True, "no_gift": True,
            "no_money": True, **over}


def test_integrity_after_the_inspection(opened: At):
    opened.refused(RuleError, "C4 transition", "case_id", "cases.declare_integrity",
                   integrity_args(opened.team[0]))


def test_integrity_pledges_all_true(visited: At):
    visited.refused(RuleError, "C4 integrity", "no_gift", "cases.declare_integrity",
                    integrity_args(visited.team[0], no_gift=False))


def test_integrity_once_per_inspector(visited: At):
    visited.submit("cases.declare_integrity", integrity_args(visited.team[0]))
    visited.refused(RuleError, "C4 integrity", "inspector", "cases.declare_integrity",
                    integrity_args(visited.team[0]))


def test_integrity_declared_by_the_inspector_own(visited: At):
    visited.refused(AuthorityError, "A12 roles", "command.key", "cases.declare_integrity",
                    integrity_args(visited.team[1]), pair=visited.member(0))


def close_ready(at: At) -> None:
    at.submit("cases.publish", publish_args(), pair=at.s.publisher)
    for k, inspector in enumerate(at.team):
        at.submit("cases.declare_integrity", integrity_args(inspector), pair=at.member(k))


def test_close_needs_the_publication(inspected: At):
    for k, inspector in enumerate(inspected.team):
        inspected.submit("cases.declare_integrity", integrity_args(inspector),
                         pair=inspected.member(k))
    inspected.refused(RuleError, "C4 close", "case_id", "cases.close", {"date": "2023-03-10"})


def test_close_needs_every_integrity_declaration(inspected: At):
    inspected.submit("cases.publish", publish_args(), pair=inspected.s.publisher)
    inspected.submit("cases.declare_integrity", integrity_args(inspected.team[0]))
    err = inspected.refused(RuleError, "C4 close", "case_id", "cases.close",
                            {"date": "2023-03-10"})
    assert inspected.team[1] in str(err)


def test_close_needs_rectifications_settled(inspected: At):
    inspected.submit("cases.order_rectification", order_args())
    close_ready(inspected)
    inspected.refused(RuleError, "C4 close", "case_id", "cases.close", {"date": "2023-03-10"})
    inspected.h.at("2023-03-21")
    assert [e["type"] for e in inspected.h.tick()] == ["RectificationOverdue"]
    inspected.refused(RuleError, "C4 close", "case_id", "cases.close", {"date": "2023-03-21"})
    inspected.submit("cases.record_interview",
                     {"date": "2023-03-21", "person": "主要负责人 王某", "outcome": "agreed"})
    inspected.submit("cases.close", {"date": "2023-03-21"})


def test_no_action_after_close(inspected: At):
    close_ready(inspected)
    inspected.submit("cases.close", {"date": "2023-03-10"})
    inspected.refused(RuleError, "C4 transition", "case_id", "cases.refer", refer_args())


# ---------------------------------------------------------------------------
# C7 reports


def report_args(h: Harness, size: int | None = None, **over: Any) -> dict[str, Any]:
    size = h.size if size is None else size
    return {"report_id": "compliance-2023-03", "kind": "compliance", "plan_no": "联202301",
            "sha256": hashlib.sha256(b"{}").hexdigest(), "tree_size": size,
            "root": h.root_at(size).hex(), **over}


def test_report_tree_size_inside_the_log(season: Season):
    h = season.h
    args = report_args(h)
    args["tree_size"] = h.size + 1
    refused(h, RuleError, rule="C7 report", field="tree_size", pair=season.discipline,
            action="reports.publish", args=args)


def test_report_root_is_the_tree_root_at_its_size(season: Season):
    h = season.h
    args = report_args(h, h.size - 1)
    args["root"] = h.root.hex()
    refused(h, RuleError, rule="C7 report", field="root", pair=season.discipline,
            action="reports.publish", args=args)


def test_report_sha256_is_hex(season: Season):
    h = season.h
    refused(h, FormatError, rule="C7 report", field="sha256", pair=season.discipline,
            action="reports.publish", args=report_args(h, sha256="not-a-hash"))


def test_report_id_once(season: Season):
    h = season.h
    h.submit(season.discipline, "reports.publish", report_args(h, 10))
    h.submit(season.publisher, "reports.publish", report_args(h, report_id="register-2023"))
    refused(h, RuleError, rule="C7 report", field="report_id", pair=season.discipline,
            action="reports.publish", args=report_args(h))
    assert h.state.reports["compliance-2023-03"]["tree_size"] == 10


# ---------------------------------------------------------------------------
# Decisions are pure


def test_decide_is_deterministic_and_changes_nothing(scheduled: Season):
    s = scheduled
    for party in ("AJJ", "SCJ"):
        s.commit("D1", party)
    s.commit("D1", "observer")
    s.reveal("D1", "AJJ")
    s.reveal("D1", "SCJ")
    command = s.h.sign(s.parties["observer"], "draws.reveal",
                       {"draw_id": "D1", "party": "observer",
                        "secret": secret_of("D1", "observer")})
    size, root = s.h.size, s.h.root
    first = decide(s.h.state, s.h.log, command, now=s.h.now)
    second = decide(s.h.state, s.h.log, command, now=s.h.now)
    assert first == second
    assert [p.type for p in first][:2] == ["DrawRevealed", "DrawPerformed"]
    assert {p.type for p in first[2:]} == {"CaseOpened"}
    assert (s.h.size, s.h.root, s.h.state.size) == (size, root, s.h.state.size)
    assert s.h.state.draws["D1"].status == "revealing"


# ---------------------------------------------------------------------------
# The season


def test_season(season: Season):
    s, h, state = season, season.h, season.h.state
    assert state.draws == {}
    assert len(state.enterprises) == 20 and len(state.inspectors) == 9

    # Draw D1 of the directed task, then void it and re-draw it as D2.
    s.draw("D1", DIRECTED, ["AJJ", "SCJ", "observer"])
    assert state.draws["D1"].status == "performed"
    h.submit(s.discipline, "draws.void", {"draw_id": "D1", "reason": "纪检监察组未到场监督"})
    assert state.draws["D1"].status == "voided"
    assert all(state.cases[c].status == "void" for c in s.case_ids("D1"))
    entries = s.draw("D2", DIRECTED, ["AJJ", "SCJ", "observer"], replaces="D1")
    assert [e["type"] for e in entries][:2] == ["DrawRevealed", "DrawPerformed"]
    performed = entries[1]["data"]
    opened = [e for e in entries[2:]]
    assert [e["data"]["enterprise"] for e in opened] == [
        t["enterprise"] for t in performed["teams"]]
    assert [e["stream"] for e in opened] == [f"case/D2:{e['data']['enterprise']}" for e in opened]
    assert all(set(e["data"]) == {"case_id", "draw_id", "task_id", "enterprise", "inspectors"}
               for e in opened)
    counts = {st["stratum"]: st["count"] for st in performed["selection"]}
    assert counts == {"A": 2, "B": 2, "C": 1}  # ceil(0.2*6), ceil(0.5*3), ceil(0.5*2)
    assert state.draws["D1"].replaced_by == "D2"
    for case_id in s.case_ids("D2"):
        team = s.team(case_id)
        assert len(team) >= 2
        assert {x.split("-")[0] for x in team} >= {"AJJ", "SCJ"}

    # The blank-type task draws from every active enterprise.
    s.draw("D3", BLANK, ["AJJ", "TJJ", "observer"])
    assert len(s.case_ids("D3")) == sum(
        st["count"] for st in state.draws["D3"].selection())

    # A recusal before the visit: the replacement is drawn, from the same department.
    case = At(s, s.case_ids("D2")[0])
    h.at("2023-03-02")
    recused = case.team[0]
    (entry,) = case.submit("cases.recuse", {"inspector": recused, "reason": "配偶在该企业任职"},
                           pair=s.inspectors[recused])
    replacement = entry["data"]["replacement"]
    assert replacement is not None and replacement != recused
    assert replacement.split("-")[0] == recused.split("-")[0]
    assert case.team[0] == replacement and recused not in case.team
    assert h.log.team(f"case/{case.case_id}") == tuple(case.team)

    # The visit, findings, orders, integrity.
    h.at("2023-03-10")
    case.submit("cases.record_inspection", inspection_args(case.team))
    case.submit("cases.record_finding", finding_args(ITEMS[0], "违反其他部门相关规定", "重大"))
    case.submit("cases.record_finding", finding_args(ITEMS[1], "发现问题待后续处理", "一般"),
                pair=case.member(1))
    case.submit("cases.record_finding", finding_args(ITEMS[2], "正常", None))
    case.submit("cases.order_rectification", order_args("承县应急责改〔2023〕001号",
                                                        deadline="2023-03-20", items=[ITEMS[1]]))
    case.submit("cases.order_rectification", order_args("承县应急责改〔2023〕002号",
                                                        deadline="2023-03-25", items=[ITEMS[0]]))
    for k, inspector in enumerate(case.team):
        case.submit("cases.declare_integrity", integrity_args(inspector), pair=case.member(k))
    h.at("2023-03-15")
    case.submit("cases.publish", publish_args("2023-03-15"), pair=s.publisher)
    assert state.cases[case.case_id].status == "published"
    h.at("2023-03-20")
    case.submit("cases.verify_rectification",
                {"order": "承县应急责改〔2023〕001号", "date": "2023-03-20"})

    # Scheduler: the second order's deadline passes (Beijing date), once.
    h.at("2023-03-25", 23)
    assert h.tick() == []
    h.at("2023-03-26", 7)  # 2023-03-25 23:00 UTC
    (overdue,) = h.tick()
    assert overdue["type"] == "RectificationOverdue" and overdue["command"] is None
    assert overdue["data"] == {"case_id": case.case_id, "order": "承县应急责改〔2023〕002号",
                               "deadline": "2023-03-25"}
    assert h.tick() == []

    # 约谈 refused, then 处罚, 曝光, 移交 and its acknowledgement.
    h.at("2023-03-27")
    case.submit("cases.record_interview",
                {"date": "2023-03-27", "person": "主要负责人 王某", "outcome": "refused"})
    case.submit("cases.decide_penalty", {**penalty_args(), "date": "2023-03-27"})
    case.submit("cases.expose", {"date": "2023-03-27", "where": "承德县人民政府网站"},
                pair=s.publisher)
    case.submit("cases.refer", {**refer_args(), "date": "2023-03-27"})
    case.submit("cases.acknowledge_referral", {"referral": "移送-001", "date": "2023-03-27"},
                pair=s.receiver)
    h.at("2023-03-28")
    case.submit("cases.close", {"date": "2023-03-28"})
    closed = state.cases[case.case_id]
    assert closed.status == "closed"
    assert closed.referrals["移送-001"].acknowledged_index is not None
    assert [p.amount_fen for p in closed.penalties] == [500000]
    assert closed.findings[ITEMS[2]].result == "未发现问题"

    # 一公开: 7 working days after 2023-09-28 is 2023-10-13 (调休 10-07, 10-08 counted).
    other = At(s, s.case_ids("D3")[0])
    h.at("2023-09-28")
    other.submit("cases.record_inspection", inspection_args(other.team, "2023-09-28"))
    h.at("2023-10-13", 23)
    assert h.tick() == []
    h.at("2023-10-14", 8)
    (late,) = h.tick()
    assert late["type"] == "PublicationOverdue"
    assert late["data"] == {"case_id": other.case_id, "deadline": "2023-10-13"}
    assert h.tick() == []
    assert state.cases[other.case_id].publication_overdue_index == late["index"]

    # Replay: the season's entries from index 0 give the same draws and teams.
    log, fresh = LogState(), DomainState()
    for data in h.entries:
        fresh.apply(log.apply(data))
    assert log.root() == h.root and fresh.size == h.size
    for draw_id in ("D1", "D2", "D3"):
        assert fresh.draws[draw_id].selection() == state.draws[draw_id].selection()
        assert fresh.draws[draw_id].teams() == state.draws[draw_id].teams()
        assert fresh.draws[draw_id].status == state.draws[draw_id].status
    assert {c: x.team for c, x in fresh.cases.items()} == {
        c: x.team for c, x in state.cases.items()}
    assert {c: x.status for c, x in fresh.cases.items()} == {
        c: x.status for c, x in state.cases.items()}


def test_one_changed_reveal_changes_the_draw(drawn: At):
    h = drawn.h
    draw = h.state.draws["D1"]
    checkpoint = draw.performed["checkpoint"] if draw.performed else {}
    again = perform_draw(draw.scheduled, draw.reveals, checkpoint["size"], checkpoint["root"])
    assert again == draw.performed
    changed = {**draw.reveals, "SCJ": secret_of("D1", "SCJ", "another secret")}
    other = perform_draw(draw.scheduled, changed, checkpoint["size"], checkpoint["root"])
    assert other["seed"] != again["seed"]
    assert other["selection"] != again["selection"]
    # A log whose reveal was changed no longer replays: the reveal breaks its commitment.
    log = LogState()
    with pytest.raises(LedgerError) as info:
        for data in h.entries:
            entry = json.loads(data)
            if entry["type"] == "DrawRevealed" and entry["data"]["party"] == "SCJ":
                entry["data"]["secret"] = changed["SCJ"]
                data = entry_bytes(entry)
            log.apply(data)
    assert info.value.index is not None


def test_publication_deadline_needs_the_calendar_year():
    s = Season().keys()
    h = s.h
    for dep, name in (("AJJ", "县应急管理局"), ("SCJ", "县市场监管局"), ("TJJ", "县统计局"),
                      ("GAJ", "县公安局")):
        h.submit(s.planner, "departments.register", {"department": dep, "name": name})
    h.submit(s.planner, "enterprises.import", {"rows": enterprise_rows()})
    h.submit(s.planner, "inspectors.import", {"rows": inspector_rows()})
    h.submit(s.planner, "plans.import", plan_data())
    s.draw("D1", DIRECTED, ["AJJ", "SCJ"])
    case = At(s, s.case_ids("D1")[0])
    h.at("2023-03-10")
    case.submit("cases.record_inspection", inspection_args(case.team))
    h.at("2023-03-11")
    size = h.size
    with pytest.raises(RuleError) as info:
        due_system_entries(h.state, h.log, now=h.now)
    assert info.value.rule == "C5 calendar" and info.value.field == "case_id"
    assert "2023" in str(info.value) and h.size == size


def test_the_conformance_bundle_folds():
    log, state = LogState(), DomainState()
    for line in BUNDLE.read_bytes().splitlines():
        state.apply(log.apply(line))
    draw = state.draws["D1"]
    assert draw.status == "performed"
    assert len(draw.case_ids) == 3
    case = state.cases["D1:91130821MA0A0000A1"]
    assert case.status == "inspected"
    assert case.findings["安全生产责任制"].result == "发现问题经责令已改正"
    assert case.team == ["I-A1", "I-S1"]


# ---------------------------------------------------------------------------
# More edges


def test_an_updated_registry_makes_an_older_draft_stale(season: Season):
    stale = draft(season)
    candidate = stale["strata"][0]["candidates"][0]
    season.h.submit(season.planner, "enterprises.update",
                    {"usc": candidate, "status": "closed", "reason": "已停业"})
    assert season.h.state.enterprises[candidate].status == "closed"
    schedule_refused(season, stale, RuleError, "C3 frozen candidates", "strata")
    fresh = draft(season)
    assert candidate not in fresh["strata"][0]["candidates"]
    season.h.submit(season.planner, "draws.schedule", fresh)
    assert season.h.state.draws["D9"].status == "scheduled"
    season.commit("D9", "AJJ")
    assert season.h.state.draws["D9"].status == "committing"


def test_a_task_matching_no_enterprise_cannot_be_drawn(season: Season):
    season.h.submit(season.planner, "plans.import", plan_with(sectors=["煤矿"]))
    schedule_refused(season, draft(season, task_id="联202399-001"), RuleError,
                     "C3 frozen candidates", "strata")


def test_no_hazard_level_without_a_problem(visited: At):
    visited.refused(RuleError, "C4 hazard level", "hazard", "cases.record_finding",
                    finding_args(ITEMS[0], "未发现问题", "一般"))


def test_unexpected_members_are_refused(visited: At):
    visited.refused(FormatError, "C4 args", "severity", "cases.record_finding",
                    {**finding_args(ITEMS[0], "未发现问题", None), "severity": 3})


def test_verification_not_before_the_order(inspected: At):
    inspected.submit("cases.order_rectification", order_args())
    inspected.h.at("2023-03-12")
    inspected.refused(RuleError, "C4 rectification", "date", "cases.verify_rectification",
                      {"order": "承县应急责改〔2023〕001号", "date": "2023-03-09"})


def test_penalty_decision_and_referral_numbers_once(inspected: At):
    inspected.submit("cases.decide_penalty", penalty_args())
    inspected.refused(RuleError, "C4 penalty", "decision", "cases.decide_penalty",
                      penalty_args(100))
    inspected.submit("cases.refer", refer_args())
    inspected.refused(RuleError, "C4 referral", "referral", "cases.refer", refer_args())


def test_report_names_an_imported_plan(season: Season):
    h = season.h
    refused(h, RuleError, rule="C7 report", field="plan_no", pair=season.discipline,
            action="reports.publish", args=report_args(h, plan_no="联209901"))


def test_publication_deadline_counts_only_known_years(season: Season):
    """Into 2024 with no 2024 calendar: not due while today is in 2023, an error after."""
    h = season.h
    season.h.submit(season.planner, "plans.import", plan_with(window_end="2023-12-31"))
    season.draw("D9", "联202399-001", ["AJJ", "SCJ"])
    case = At(season, season.case_ids("D9")[0])
    h.at("2023-12-28")
    case.submit("cases.record_inspection", inspection_args(case.team, "2023-12-28"))
    h.at("2023-12-31", 20)
    assert h.tick() == []
    h.at("2024-01-02")
    size = h.size
    with pytest.raises(RuleError) as info:
        h.tick()
    assert info.value.rule == "C5 calendar" and info.value.field == "case_id"
    assert "2024" in str(info.value) and h.size == size


@pytest.mark.parametrize(
    ("action", "args", "blank", "publisher"),
    [
        ("cases.decide_penalty", penalty_args(), "basis", False),
        ("cases.refer", refer_args(), "summary", False),
        ("cases.record_interview",
         {"date": "2023-03-10", "person": "主要负责人 王某", "outcome": "agreed"}, "person", False),
        ("cases.expose", {"date": "2023-03-10", "where": "承德县人民政府网站"}, "where", True),
        ("cases.publish", publish_args(), "where", True),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_required_text_fields(inspected: At, action: str, args: dict[str, Any], blank: str,
                              publisher: bool):
    pair = inspected.s.publisher if publisher else None
    rule = "C5 args" if action == "cases.publish" else "C4 args"
    inspected.refused(FormatError, rule, blank, action, {**args, blank: " "}, pair=pair)
