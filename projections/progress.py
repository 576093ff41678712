"""Per-task progress: drawn, inspected, published, closed (DESIGN.md C6; 抽查任务进度).

For each task (抽查任务) of an imported plan: draws scheduled, performed and
voided, and the cases of its live draws that were opened (``drawn``),
inspected, published (一公开) and closed. The cases of a voided draw leave
these counts and are counted as ``void`` (C3).

State (JSON)::

    {"registry": {"plans", "tasks", ...},
     "tasks": {task_id: {"draws", "performed", "voided_draws", "drawn", "inspected",
                         "published", "closed", "void"}},
     "cases": {case_id: {"task_id", "done": [milestone, ...], "void": bool}},
     "draws": {draw_id: {"task_id", "cases": [case_id, ...]}}}

Standard library and ``ledger``'s pure modules only (light path, B2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.common import (
    Entry,
    State,
    case_id_of,
    merge_handlers,
    new_registry,
    plans_in_scope,
    registry_handler,
)
from projections.fold import DictFold

__all__ = ["COUNTERS", "ProgressProjection", "progress_view"]

COUNTERS = ("draws", "performed", "voided_draws", "drawn", "inspected", "published", "closed",
            "void")
MILESTONES = ("inspected", "published", "closed")


def _task(state: State, task_id: str | None) -> State:
    key = task_id or ""
    counts = state["tasks"].get(key)
    if counts is None:
        counts = state["tasks"][key] = dict.fromkeys(COUNTERS, 0)
    return counts


def _draw_scheduled(state: State, entry: Entry) -> None:
    data = entry["data"]
    state["draws"][data["draw_id"]] = {"task_id": data.get("task_id"), "cases": []}
    _task(state, data.get("task_id"))["draws"] += 1


def _draw_performed(state: State, entry: Entry) -> None:
    draw = state["draws"].get(entry["data"]["draw_id"])
    if draw is not None:
        _task(state, draw["task_id"])["performed"] += 1


def _draw_voided(state: State, entry: Entry) -> None:
    draw = state["draws"].get(entry["data"]["draw_id"])
    if draw is None:
        return
    counts = _task(state, draw["task_id"])
    counts["voided_draws"] += 1
    for case_id in draw["cases"]:
        case = state["cases"][case_id]
        if case["void"]:
            continue
        case["void"] = True
        counts["drawn"] -= 1
        counts["void"] += 1
        for milestone in case["done"]:
            counts[milestone] -= 1


def _case_opened(state: State, entry: Entry) -> None:
    data = entry["data"]
    case_id = case_id_of(entry)
    draw_id = data.get("draw_id", case_id.split(":", 1)[0])
    draw = state["draws"].get(draw_id)
    task_id = data.get("task_id") or (draw["task_id"] if draw else None)
    state["cases"][case_id] = {"task_id": task_id, "done": [], "void": False}
    _task(state, task_id)["drawn"] += 1
    if draw is not None:
        draw["cases"].append(case_id)


def _milestone(name: str) -> Callable[[State, Entry], None]:
    def handler(state: State, entry: Entry) -> None:
        case = state["cases"].get(case_id_of(entry))
        if case is None or case["void"] or name in case["done"]:
            return
        case["done"].append(name)
        _task(state, case["task_id"])[name] += 1

    return handler


class ProgressProjection(DictFold[State]):
    """``progress``: per task, draws and cases drawn / inspected / published / closed (C6)."""

    name = "progress"
    version = 1
    handlers = merge_handlers(
        registry_handler(types=("PlanImported", "DepartmentRegistered")),
        {
            "DrawScheduled": _draw_scheduled,
            "DrawPerformed": _draw_performed,
            "DrawVoided": _draw_voided,
            "CaseOpened": _case_opened,
            "InspectionRecorded": _milestone("inspected"),
            "ResultPublished": _milestone("published"),
            "CaseClosed": _milestone("closed"),
        },
    )

    def initial(self) -> State:
        return {"registry": new_registry(), "tasks": {}, "cases": {}, "draws": {}}


def progress_view(state: State, plan_no: str | None = None) -> dict[str, Any]:
    """Per plan (one, or all when ``plan_no`` is None), each task's counters in plan order."""
    reg = state["registry"]
    plans = []
    for number in plans_in_scope(reg, plan_no):
        plan = reg["plans"][number]
        tasks = []
        for task_id in plan["tasks"]:
            counts = state["tasks"].get(task_id) or dict.fromkeys(COUNTERS, 0)
            task = reg["tasks"][task_id]
            tasks.append({"task_id": task_id, "task_name": task.get("task_name"),
                          **{name: counts[name] for name in COUNTERS}})
        plans.append({"plan_no": number, "plan_name": plan["plan_name"], "tasks": tasks})
    return {"plans": plans}
