"""The public register (一公开): what the bureau publishes about its spot checks (DESIGN.md C5, C6).

The seed publishes "随机抽查方案、抽查单位、抽查时间、抽查结果" within 7 working
days (谁检查、谁录入、谁公开). The register shows, per plan and task, the plan
itself (方案: task name, type, scope, check items, initiating and joint
departments, window) and, for every case whose result was published
(``ResultPublished``), the unit (enterprise name and 统一社会信用代码), the
inspection dates, the departments that inspected, the check items, the result
of each item (the official labels of DOMAIN.md §2), the rectification status
and the publication date.

Nothing the law keeps private is in the view: no evidence hashes, no
finding text, no key ids, no inspector ids or names, no conflict reasons, no
referral summaries, no penalty or interview details. Beyond the registries it
needs to resolve names and departments, the fold keeps only the public fields
of the case entries, so a leak cannot come from a later formatting mistake;
``tests/test_projections.py`` checks that the whole view contains none of the
private values of a season.

State (JSON)::

    {"registry": {...C1/C2 registry, see projections.common...},
     "draws": {draw_id: {"cases": [case_id, ...], "void": bool}},
     "cases": {case_id: {"task_id", "enterprise", "opened_index", "void",
               "inspection": null | {"date", "end_date"}, "departments": [id],
               "items": [...], "results": {item: label},
               "orders": [{"order", "state"}], "published": null | {"date", "where"},
               "corrections": [date, ...]}}}

Standard library and ``ledger``'s pure modules only (light path, B2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.common import (
    Entry,
    State,
    case_id_of,
    day_or_logged,
    department_name,
    merge_handlers,
    new_registry,
    optional_day,
    plans_in_scope,
    registry_handler,
    result_label,
)
from projections.fold import DictFold

__all__ = ["RECTIFICATION_LABELS", "RegisterProjection", "public_register"]

KIND_LABELS = {"directed": "定向", "undirected": "不定向"}
RECTIFICATION_LABELS = {
    "none": "无需整改",
    "ordered": "整改中",
    "verified": "已整改",
    "overdue": "逾期未整改",
}
"""Rectification status (限期整改) as the register prints it."""


def _draw_scheduled(state: State, entry: Entry) -> None:
    state["draws"][entry["data"]["draw_id"]] = {"cases": [], "void": False}


def _draw_voided(state: State, entry: Entry) -> None:
    draw = state["draws"].get(entry["data"]["draw_id"])
    if draw is None:
        return
    draw["void"] = True
    for case_id in draw["cases"]:
        state["cases"][case_id]["void"] = True


def _case_opened(state: State, entry: Entry) -> None:
    data = entry["data"]
    case_id = case_id_of(entry)
    draw_id = data.get("draw_id", case_id.split(":", 1)[0])
    draw = state["draws"].get(draw_id)
    state["cases"][case_id] = {
        "task_id": data.get("task_id"),
        "enterprise": data["enterprise"],
        "opened_index": entry["index"],
        "void": bool(draw and draw["void"]),
        "inspection": None,
        "departments": [],
        "items": [],
        "results": {},
        "orders": [],
        "published": None,
        "corrections": [],
    }
    if draw is not None:
        draw["cases"].append(case_id)


def _inspection(state: State, case: State, entry: Entry) -> None:
    data = entry["data"]
    day = day_or_logged(data, "date", entry)
    case["inspection"] = {"date": day, "end_date": optional_day(data, "end_date") or day}
    people = state["registry"]["inspectors"]
    departments: list[str] = []
    for who in data.get("inspectors", []):
        dep = (people.get(who) or {}).get("department")
        if dep is not None and dep not in departments:
            departments.append(dep)
    case["departments"] = departments
    case["items"] = [str(item) for item in data.get("items", [])]


def _finding(state: State, case: State, entry: Entry) -> None:
    data = entry["data"]
    case["results"][str(data.get("item", ""))] = result_label(data.get("result"))


def _ordered(state: State, case: State, entry: Entry) -> None:
    case["orders"].append({"order": entry["data"].get("order"), "state": "ordered"})


def _verified(state: State, case: State, entry: Entry) -> None:
    for order in case["orders"]:
        if order["order"] == entry["data"].get("order"):
            order["state"] = "verified"


def _overdue(state: State, case: State, entry: Entry) -> None:
    name = entry["data"].get("order")
    for order in case["orders"]:
        if (name is None or order["order"] == name) and order["state"] == "ordered":
            order["state"] = "overdue"


def _published(state: State, case: State, entry: Entry) -> None:
    data = entry["data"]
    day = day_or_logged(data, "date", entry)
    if case["published"] is None:
        case["published"] = {"date": day, "where": data.get("where")}
    else:
        case["corrections"].append(day)


def _on_case(
    func: Callable[[State, State, Entry], None],
) -> Callable[[State, Entry], None]:
    def handler(state: State, entry: Entry) -> None:
        case = state["cases"].get(case_id_of(entry))
        if case is not None:
            func(state, case, entry)

    return handler


class RegisterProjection(DictFold[State]):
    """``register``: the public register of plans, units and results (一公开, C5, C6)."""

    name = "register"
    version = 1
    handlers = merge_handlers(
        registry_handler(),
        {
            "DrawScheduled": _draw_scheduled,
            "DrawVoided": _draw_voided,
            "CaseOpened": _case_opened,
            "InspectionRecorded": _on_case(_inspection),
            "FindingRecorded": _on_case(_finding),
            "RectificationOrdered": _on_case(_ordered),
            "RectificationVerified": _on_case(_verified),
            "RectificationOverdue": _on_case(_overdue),
            "ResultPublished": _on_case(_published),
        },
    )

    def initial(self) -> State:
        return {"registry": new_registry(), "draws": {}, "cases": {}}


def rectification_status(case: State) -> str:
    """无需整改 / 整改中 / 已整改 / 逾期未整改 from the case's orders (C4)."""
    states = [order["state"] for order in case["orders"]]
    if not states:
        return RECTIFICATION_LABELS["none"]
    if "overdue" in states:
        return RECTIFICATION_LABELS["overdue"]
    if "ordered" in states:
        return RECTIFICATION_LABELS["ordered"]
    return RECTIFICATION_LABELS["verified"]


def _unit(reg: State, case: State) -> dict[str, Any]:
    firm = reg["enterprises"].get(case["enterprise"]) or {}
    inspection = case["inspection"] or {}
    items = list(case["items"]) or sorted(case["results"])
    return {
        "enterprise": {"name": firm.get("name"), "usc": case["enterprise"]},
        "inspection": {"start": inspection.get("date"), "end": inspection.get("end_date")},
        "departments": [department_name(reg, d) for d in case["departments"]],
        "items": items,
        "results": [{"item": item, "result": case["results"].get(item)} for item in items],
        "rectification": rectification_status(case),
        "published": case["published"]["date"],
        "where": case["published"]["where"],
        "corrections": list(case["corrections"]),
    }


def _task(reg: State, task_id: str, units: list[dict[str, Any]]) -> dict[str, Any]:
    task = reg["tasks"][task_id]
    ratio: Any = task.get("ratio")
    if ratio is None and isinstance(task.get("grade_ratios"), dict):
        ratio = {grade: task["grade_ratios"][grade] for grade in sorted(task["grade_ratios"])}
    return {
        "task_id": task_id,
        "task_no": task.get("task_no"),
        "task_name": task.get("task_name"),
        "kind": KIND_LABELS.get(task.get("kind") or ""),
        "ratio": ratio,
        "items": task.get("items"),
        "scope": task.get("scope"),
        "initiator": department_name(reg, task.get("initiator")),
        "joint_departments": [department_name(reg, d) for d in task.get("joint_departments", [])],
        "window": {"start": task.get("window_start"), "end": task.get("window_end")},
        "units": units,
    }


def public_register(state: State, plan_no: str | None = None) -> dict[str, Any]:
    """The public view (一公开) of one plan, or of every plan when ``plan_no`` is None.

    Units are listed per task in the order their cases were opened (the draw's
    selection order); only published, non-void cases appear.
    """
    reg = state["registry"]
    by_task: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for _, case in sorted(state["cases"].items()):
        if case["void"] or case["published"] is None or case["task_id"] not in reg["tasks"]:
            continue
        by_task.setdefault(case["task_id"], []).append((case["opened_index"], _unit(reg, case)))
    plans = []
    for number in plans_in_scope(reg, plan_no):
        plan = reg["plans"][number]
        tasks = []
        for task_id in plan["tasks"]:
            units = [unit for _, unit in sorted(by_task.get(task_id, []), key=lambda u: u[0])]
            tasks.append(_task(reg, task_id, units))
        plans.append({
            "plan_no": number,
            "plan_name": plan["plan_name"],
            "publication_rule": {"days": plan["days"], "unit": plan["unit"]},
            "tasks": tasks,
        })
    return {"plans": plans}
