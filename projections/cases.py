"""Case state, one per (task, enterprise) drawn (DESIGN.md C4, C6; 案件 / 检查记录).

The fold follows a case from ``CaseOpened`` (the draw's team, A11) through the
C4 lifecycle: ``InspectionRecorded`` -> ``FindingRecorded`` ->
``RectificationOrdered`` -> ``RectificationVerified`` / ``RectificationOverdue``
-> ``InterviewHeld`` -> ``PenaltyDecided`` -> ``Exposed`` -> ``Referred`` /
``ReferralAcknowledged`` -> ``ResultPublished`` (and ``PublicationOverdue``) ->
``IntegrityDeclared`` -> ``CaseClosed``. The cases of a voided draw are void
(C3: a projection fact, no further entry). Every fact keeps the index of the
entry that logged it, so a reader can fetch and check that entry (A8).

State (JSON, see ``projections.fold``)::

    {"cases": {case_id: Case}, "draws": {draw_id: {"task_id", "index", "cases": [...],
     "void": null | {"index", "reason"}}}, "tasks": {task_id: plan_no}}

where a Case is ``{"case_id", "draw_id", "task_id", "plan_no", "enterprise",
"team", "initial_team", "status", "opened": {"index", "date"}, "recusals",
"inspection", "findings", "rectifications", "interviews", "penalties",
"exposures", "referrals", "publications", "publication_overdue", "integrity",
"closed", "void"}`` (field lists below). ``status`` is
opened / inspected / published / closed / void, the furthest milestone.

Standard library and ``ledger``'s pure modules only (light path, B2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.common import (
    Entry,
    State,
    beijing_day,
    case_id_of,
    day_or_logged,
    is_problem,
    optional_day,
    result_label,
)
from projections.fold import DictFold

__all__ = ["CASE_HANDLERS", "CasesProjection", "case_status", "new_case"]


def new_case(entry: Entry) -> State:
    """The case record a ``CaseOpened`` entry starts (A11 data)."""
    data = entry["data"]
    case_id = case_id_of(entry)
    team = [str(x) for x in data.get("inspectors", [])]
    return {
        "case_id": case_id,
        "draw_id": data.get("draw_id", case_id.split(":", 1)[0]),
        "task_id": data.get("task_id"),
        "plan_no": None,
        "enterprise": data["enterprise"],
        "team": team,
        "initial_team": list(team),
        "status": "opened",
        "opened": {"index": entry["index"], "date": beijing_day(entry["logged_at"])},
        "recusals": [],
        "inspection": None,
        "findings": [],
        "rectifications": [],
        "interviews": [],
        "penalties": [],
        "exposures": [],
        "referrals": [],
        "publications": [],
        "publication_overdue": None,
        "integrity": [],
        "closed": None,
        "void": None,
    }


def case_status(case: State) -> str:
    """void / closed / published / inspected / opened: the furthest milestone (C3, C4)."""
    if case["void"] is not None:
        return "void"
    if case["closed"] is not None:
        return "closed"
    if case["publications"]:
        return "published"
    if case["inspection"] is not None:
        return "inspected"
    return "opened"


# ---------------------------------------------------------------------------
# Handlers: (state, entry) -> None, updating the state in place.


def _plan(state: State, entry: Entry) -> None:
    for task in entry["data"].get("tasks", []):
        state["tasks"][task["task_id"]] = entry["data"]["plan_no"]


def _draw_scheduled(state: State, entry: Entry) -> None:
    data = entry["data"]
    state["draws"][data["draw_id"]] = {
        "task_id": data.get("task_id"), "index": entry["index"], "cases": [], "void": None,
    }


def _draw_voided(state: State, entry: Entry) -> None:
    data = entry["data"]
    draw = state["draws"].get(data["draw_id"])
    if draw is None:
        return
    void = {"index": entry["index"], "reason": data.get("reason")}
    draw["void"] = void
    for case_id in draw["cases"]:
        case = state["cases"][case_id]
        case["void"] = dict(void)
        case["status"] = "void"


def _case_opened(state: State, entry: Entry) -> None:
    case = new_case(entry)
    draw = state["draws"].get(case["draw_id"])
    if case["task_id"] is None and draw is not None:
        case["task_id"] = draw["task_id"]
    case["plan_no"] = state["tasks"].get(case["task_id"] or "")
    state["cases"][case["case_id"]] = case
    if draw is not None:
        draw["cases"].append(case["case_id"])
        if draw["void"] is not None:
            case["void"] = dict(draw["void"])
            case["status"] = "void"


def _recused(case: State, entry: Entry) -> None:
    data = entry["data"]
    out = data.get("inspector")
    replacement = data.get("replacement")
    case["recusals"].append({
        "inspector": out, "reason": data.get("reason"), "replacement": replacement,
        "index": entry["index"],
    })
    team = case["team"]
    if out in team:
        at = team.index(out)
        if replacement is None:
            del team[at]
        else:
            team[at] = replacement


def _inspection(case: State, entry: Entry) -> None:
    data = entry["data"]
    day = day_or_logged(data, "date", entry)
    case["inspection"] = {
        "date": day,
        "end_date": optional_day(data, "end_date") or day,
        "inspectors": list(data.get("inspectors", [])),
        "items": list(data.get("items", [])),
        "index": entry["index"],
    }


def _finding(case: State, entry: Entry) -> None:
    data = entry["data"]
    label = result_label(data.get("result"))
    case["findings"].append({
        "item": str(data.get("item", "")),
        "result": label,
        "problem": is_problem(label),
        "hazard": data.get("hazard"),
        "text": data.get("text"),
        "evidence": list(data.get("evidence", [])),
        "index": entry["index"],
    })


def _ordered(case: State, entry: Entry) -> None:
    data = entry["data"]
    day = day_or_logged(data, "date", entry)
    case["rectifications"].append({
        "order": data.get("order"),
        "date": day,
        "deadline": optional_day(data, "deadline") or day,
        "items": list(data.get("items", [])),
        "index": entry["index"],
        "status": "ordered",
        "verified": None,
        "overdue": None,
    })


def _verified(case: State, entry: Entry) -> None:
    data = entry["data"]
    for order in case["rectifications"]:
        if order["order"] == data.get("order") and order["verified"] is None:
            order["verified"] = {"date": optional_day(data, "date"), "index": entry["index"]}
            order["status"] = "verified"
            return


def _rectification_overdue(case: State, entry: Entry) -> None:
    name = entry["data"].get("order")
    for order in case["rectifications"]:
        if (name is None or order["order"] == name) and order["overdue"] is None:
            order["overdue"] = {"deadline": entry["data"].get("deadline"),
                                "index": entry["index"]}
            if order["verified"] is None:
                order["status"] = "overdue"


def _interview(case: State, entry: Entry) -> None:
    data = entry["data"]
    case["interviews"].append({
        "date": optional_day(data, "date"), "person": data.get("person"),
        "outcome": data.get("outcome"), "index": entry["index"],
    })


def _penalty(case: State, entry: Entry) -> None:
    data = entry["data"]
    amount = data.get("amount_fen", 0)
    case["penalties"].append({
        "decision": data.get("decision"), "date": optional_day(data, "date"),
        "amount_fen": amount if isinstance(amount, int) else 0, "basis": data.get("basis"),
        "index": entry["index"],
    })


def _exposed(case: State, entry: Entry) -> None:
    data = entry["data"]
    case["exposures"].append({
        "date": optional_day(data, "date"), "where": data.get("where"), "index": entry["index"],
    })


def _referred(case: State, entry: Entry) -> None:
    data = entry["data"]
    case["referrals"].append({
        "referral": str(data.get("referral", entry["index"])), "to": data.get("to"),
        "summary": data.get("summary"), "date": optional_day(data, "date"),
        "index": entry["index"], "acknowledged": None,
    })


def _acknowledged(case: State, entry: Entry) -> None:
    data = entry["data"]
    for referral in case["referrals"]:
        if referral["referral"] == str(data.get("referral")) and referral["acknowledged"] is None:
            referral["acknowledged"] = {"date": optional_day(data, "date"),
                                        "index": entry["index"]}
            return


def _published(case: State, entry: Entry) -> None:
    data = entry["data"]
    case["publications"].append({
        "date": optional_day(data, "date"), "where": data.get("where"),
        "correction": bool(data.get("correction", False)), "index": entry["index"],
    })


def _publication_overdue(case: State, entry: Entry) -> None:
    if case["publication_overdue"] is None:
        case["publication_overdue"] = {"deadline": entry["data"].get("deadline"),
                                       "index": entry["index"]}


def _integrity(case: State, entry: Entry) -> None:
    data = entry["data"]
    case["integrity"].append({
        "inspector": data.get("inspector"), "date": optional_day(data, "date"),
        "index": entry["index"],
    })


def _closed(case: State, entry: Entry) -> None:
    case["closed"] = {"date": day_or_logged(entry["data"], "date", entry),
                      "index": entry["index"]}


def _on_case(func: Callable[[State, Entry], None]) -> Callable[[State, Entry], None]:
    """A handler for a ``case/<id>`` entry: find the case, update it, refresh its status."""

    def handler(state: State, entry: Entry) -> None:
        case = state["cases"].get(case_id_of(entry))
        if case is None:
            return
        func(case, entry)
        case["status"] = case_status(case)

    return handler


CASE_HANDLERS: dict[str, Callable[[State, Entry], None]] = {
    "PlanImported": _plan,
    "DrawScheduled": _draw_scheduled,
    "DrawVoided": _draw_voided,
    "CaseOpened": _case_opened,
    "InspectorRecused": _on_case(_recused),
    "InspectionRecorded": _on_case(_inspection),
    "FindingRecorded": _on_case(_finding),
    "RectificationOrdered": _on_case(_ordered),
    "RectificationVerified": _on_case(_verified),
    "RectificationOverdue": _on_case(_rectification_overdue),
    "InterviewHeld": _on_case(_interview),
    "PenaltyDecided": _on_case(_penalty),
    "Exposed": _on_case(_exposed),
    "Referred": _on_case(_referred),
    "ReferralAcknowledged": _on_case(_acknowledged),
    "ResultPublished": _on_case(_published),
    "PublicationOverdue": _on_case(_publication_overdue),
    "IntegrityDeclared": _on_case(_integrity),
    "CaseClosed": _on_case(_closed),
}
"""Entry type -> handler on the cases state (C3, C4)."""


def new_cases_state() -> State:
    """The empty cases state."""
    return {"cases": {}, "draws": {}, "tasks": {}}


class CasesProjection(DictFold[State]):
    """``cases``: the state of every case (C4, C6), keyed by case id."""

    name = "cases"
    version = 1
    handlers = CASE_HANDLERS

    def initial(self) -> State:
        return new_cases_state()


def missing_declarations(case: State) -> list[str]:
    """Team inspectors without an ``IntegrityDeclared`` (廉洁承诺), once the case is inspected."""
    if case["inspection"] is None or case["void"] is not None:
        return []
    declared = {d["inspector"] for d in case["integrity"]}
    return [x for x in case["team"] if x not in declared]


def case_summary(case: State) -> dict[str, Any]:
    """A short line per case for listings: ids, status, dates and open items."""
    inspection = case["inspection"]
    first_publication = next((p for p in case["publications"] if not p["correction"]), None)
    return {
        "case_id": case["case_id"],
        "task_id": case["task_id"],
        "plan_no": case["plan_no"],
        "enterprise": case["enterprise"],
        "status": case["status"],
        "team": list(case["team"]),
        "inspected": inspection["date"] if inspection else None,
        "published": first_publication["date"] if first_publication else None,
        "open_rectifications": sum(1 for r in case["rectifications"] if r["verified"] is None),
        "unacknowledged_referrals": sum(1 for r in case["referrals"]
                                        if r["acknowledged"] is None),
        "missing_declarations": missing_declarations(case),
    }
