"""Inspector workload: assignments, recusals and cases by status per inspector (DESIGN.md C6).

For each inspector of the 执法人员名录库: how many cases the draws put them on
(``assigned``: the team of a ``CaseOpened``, or a drawn replacement after an
``InspectorRecused``), how many they stepped aside from (``recused``, 回避),
how many they joined as a replacement (``replacing``), and the cases of their
current teams by status (opened / inspected / published / closed / void; C4).

State (JSON)::

    {"registry": {"departments", "inspectors", ...},
     "people": {inspector: {"assigned", "recused", "replacing", "cases": {status: n}}},
     "cases": {case_id: {"team": [...], "status"}},
     "draws": {draw_id: [case_id, ...]}}

Standard library and ``ledger``'s pure modules only (light path, B2).
"""

from __future__ import annotations

from typing import Any

from projections.common import (
    STATUS_RANK,
    Entry,
    State,
    case_id_of,
    merge_handlers,
    new_registry,
    registry_handler,
)
from projections.fold import DictFold

__all__ = ["WorkloadProjection", "workload_view"]

STATUSES = tuple(STATUS_RANK)


def _person(state: State, inspector: str) -> State:
    people = state["people"]
    person = people.get(inspector)
    if person is None:
        person = people[inspector] = {"assigned": 0, "recused": 0, "replacing": 0, "cases": {}}
    return person


def _count(person: State, status: str, delta: int) -> None:
    cases = person["cases"]
    value = cases.get(status, 0) + delta
    if value:
        cases[status] = value
    else:
        cases.pop(status, None)


def _move(state: State, case: State, status: str) -> None:
    """Set a case's status, moving it between the status counts of its team."""
    old = case["status"]
    if old == status:
        return
    for inspector in case["team"]:
        person = _person(state, inspector)
        _count(person, old, -1)
        _count(person, status, +1)
    case["status"] = status


def _advance(status: str) -> Any:
    def handler(state: State, entry: Entry) -> None:
        case = state["cases"].get(case_id_of(entry))
        if case is not None and STATUS_RANK[status] > STATUS_RANK[case["status"]]:
            _move(state, case, status)

    return handler


def _draw_scheduled(state: State, entry: Entry) -> None:
    state["draws"][entry["data"]["draw_id"]] = []


def _draw_voided(state: State, entry: Entry) -> None:
    for case_id in state["draws"].get(entry["data"]["draw_id"], []):
        _move(state, state["cases"][case_id], "void")


def _case_opened(state: State, entry: Entry) -> None:
    data = entry["data"]
    case_id = case_id_of(entry)
    team = [str(x) for x in data.get("inspectors", [])]
    state["cases"][case_id] = {"team": team, "status": "opened"}
    for inspector in team:
        person = _person(state, inspector)
        person["assigned"] += 1
        _count(person, "opened", +1)
    draw_id = data.get("draw_id", case_id.split(":", 1)[0])
    state["draws"].setdefault(draw_id, []).append(case_id)


def _recused(state: State, entry: Entry) -> None:
    case = state["cases"].get(case_id_of(entry))
    if case is None:
        return
    data = entry["data"]
    out = data.get("inspector")
    replacement = data.get("replacement")
    person = _person(state, str(out))
    person["recused"] += 1
    team = case["team"]
    if out in team:
        _count(person, case["status"], -1)
        at = team.index(out)
        if replacement is None:
            del team[at]
        else:
            team[at] = replacement
    if replacement is not None:
        joining = _person(state, replacement)
        joining["assigned"] += 1
        joining["replacing"] += 1
        if replacement in team:
            _count(joining, case["status"], +1)


class WorkloadProjection(DictFold[State]):
    """``workload``: per inspector, assignments, recusals and cases by status (C6)."""

    name = "workload"
    version = 1
    handlers = merge_handlers(
        registry_handler(types=("DepartmentRegistered", "InspectorsImported",
                                "InspectorUpdated")),
        {
            "DrawScheduled": _draw_scheduled,
            "DrawVoided": _draw_voided,
            "CaseOpened": _case_opened,
            "InspectorRecused": _recused,
            "InspectionRecorded": _advance("inspected"),
            "ResultPublished": _advance("published"),
            "CaseClosed": _advance("closed"),
        },
    )

    def initial(self) -> State:
        return {"registry": new_registry(), "people": {}, "cases": {}, "draws": {}}


def workload_view(state: State) -> dict[str, Any]:
    """Every registered or assigned inspector, sorted by id, with counts (C6).

    ``open`` counts the cases of the current teams that are not closed or void.
    """
    people = state["people"]
    registry = state["registry"]["inspectors"]
    rows = []
    for inspector in sorted(set(registry) | set(people)):
        info = registry.get(inspector) or {}
        person = people.get(inspector) or {"assigned": 0, "recused": 0, "replacing": 0,
                                           "cases": {}}
        cases = {status: person["cases"].get(status, 0) for status in STATUSES}
        rows.append({
            "inspector": inspector,
            "name": info.get("name"),
            "department": info.get("department"),
            "active": info.get("active"),
            "assigned": person["assigned"],
            "recused": person["recused"],
            "replacing": person["replacing"],
            "cases": cases,
            "open": cases["opened"] + cases["inspected"] + cases["published"],
        })
    return {"inspectors": rows}
