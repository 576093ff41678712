"""Helpers shared by the folds: registries, plans, dates and result labels (DESIGN.md C1, C2, C6).

The registries are the 监管主体名录库 (enterprises) and the 执法人员名录库 (inspectors).

The registry part of a projection state is a JSON object kept up to date by
:data:`REGISTRY_HANDLERS` (C1 registries and C2 plans, as the entries of A12
log them)::

    {"departments": {id: name},
     "enterprises": {usc: {"name", "sector", "town", "grade", "status"}},
     "inspectors":  {id: {"name", "department", "active"}},
     "plans": {plan_no: {"plan_name", "index", "days", "unit", "tasks": [task_id, ...]}},
     "tasks": {task_id: {"plan_no", "index", ...the task object as logged}}}

Every reader of a JSON object iterates it in sorted key order (or through an
explicit list): a state reloaded from canonical JSON (A1) has its keys sorted,
so insertion order must never leak into a projection's output.

Standard library and ``ledger``'s pure modules only (light path, B2).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from ledger.domain.registry import normalise_result
from ledger.domain.state import NO_PROBLEM_RESULTS
from ledger.errors import FormatError

Entry = dict[str, Any]
State = dict[str, Any]

STATUS_RANK = {"opened": 0, "inspected": 1, "published": 2, "closed": 3, "void": 4}
"""Case milestones (C4) from first to last; ``void`` (C3) overrides them all."""


def new_registry() -> State:
    """An empty registry sub-state (C1, C2)."""
    return {"departments": {}, "enterprises": {}, "inspectors": {}, "plans": {}, "tasks": {}}


def case_id_of(entry: Entry) -> str:
    """The case id of a ``case/<case id>`` entry (A12 streams)."""
    stream: str = entry["stream"]
    return stream.split("/", 1)[1]


def beijing_day(logged_at: str) -> str:
    """The Beijing (UTC+8) calendar date ``YYYY-MM-DD`` of an A1 time string.

    A1 times are ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC: before 16:00 UTC the
    Beijing date is the same day, from 16:00 on it is the next one.
    """
    day = logged_at[:10]
    if logged_at[11:13] < "16":
        return day
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def day_or_logged(data: Mapping[str, Any], name: str, entry: Entry) -> str:
    """``data[name]`` when it is a ``YYYY-MM-DD`` date, else the entry's Beijing date."""
    value = data.get(name)
    if isinstance(value, str) and _is_date(value):
        return value
    return beijing_day(entry["logged_at"])


def optional_day(data: Mapping[str, Any], name: str) -> str | None:
    """``data[name]`` when it is a ``YYYY-MM-DD`` date, else None (tolerant fold)."""
    value = data.get(name)
    return value if isinstance(value, str) and _is_date(value) else None


@lru_cache(maxsize=4096)  # a season has few distinct dates and many entries per date
def _is_date(text: str) -> bool:
    if len(text) != 10:
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def result_label(text: object) -> str:
    """The official label of a 抽查检查结果 (DOMAIN.md §2) given as code, label or alias."""
    if not isinstance(text, str):
        return ""
    return _label(text)


@lru_cache(maxsize=4096)
def _label(text: str) -> str:
    try:
        return normalise_result(text)
    except FormatError:
        return text


def is_problem(label: str) -> bool:
    """True when a result label reports a problem (anything but 未发现问题-like results)."""
    return label not in NO_PROBLEM_RESULTS


def key_sorted(mapping: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Items of a JSON object in sorted key order (code-point order, as A1 sorts BMP keys)."""
    return sorted(mapping.items())


# ---------------------------------------------------------------------------
# C1 registries and C2 plans


def _department(reg: State, entry: Entry) -> None:
    data = entry["data"]
    reg["departments"][data["department"]] = str(data.get("name", ""))


def _enterprises(reg: State, entry: Entry) -> None:
    firms = reg["enterprises"]
    for row in entry["data"].get("rows", []):
        firms[row["usc"]] = {
            "name": str(row.get("name", "")),
            "sector": row.get("sector"),
            "town": row.get("town"),
            "grade": row.get("grade"),
            "status": row.get("status", "active"),
        }


def _enterprise_updated(reg: State, entry: Entry) -> None:
    data = entry["data"]
    firm = reg["enterprises"].get(data.get("usc"))
    if firm is not None:
        for name in ("name", "sector", "town", "grade", "status"):
            if name in data:
                firm[name] = data[name]


def _inspectors(reg: State, entry: Entry) -> None:
    people = reg["inspectors"]
    for row in entry["data"].get("rows", []):
        people[row["id"]] = {
            "name": row.get("name"),
            "department": row.get("department"),
            "active": bool(row.get("active", True)),
        }


def _inspector_updated(reg: State, entry: Entry) -> None:
    data = entry["data"]
    person = reg["inspectors"].get(data.get("id"))
    if person is not None:
        for name in ("name", "department"):
            if name in data:
                person[name] = data[name]
        if "active" in data:
            person["active"] = bool(data["active"])


def _plan(reg: State, entry: Entry) -> None:
    data = entry["data"]
    plan_no = data["plan_no"]
    publication = data.get("publication") or {}
    task_ids = []
    for task in data.get("tasks", []):
        task_id = task["task_id"]
        reg["tasks"][task_id] = {**task, "plan_no": plan_no, "index": entry["index"]}
        task_ids.append(task_id)
    reg["plans"][plan_no] = {
        "plan_name": data.get("plan_name"),
        "index": entry["index"],
        "days": publication.get("days", 7),
        "unit": publication.get("unit", "工作日"),
        "tasks": task_ids,
    }


REGISTRY_HANDLERS: dict[str, Callable[[State, Entry], None]] = {
    "DepartmentRegistered": _department,
    "EnterprisesImported": _enterprises,
    "EnterpriseUpdated": _enterprise_updated,
    "InspectorsImported": _inspectors,
    "InspectorUpdated": _inspector_updated,
    "PlanImported": _plan,
}
"""Entry type -> handler ``(registry sub-state, entry)`` for C1 and C2 entries."""


def registry_handler(
    key: str = "registry", types: tuple[str, ...] | None = None
) -> dict[str, Callable[[State, Entry], None]]:
    """Handlers that apply :data:`REGISTRY_HANDLERS` (or the given ``types``) to ``state[key]``."""

    def bind(func: Callable[[State, Entry], None]) -> Callable[[State, Entry], None]:
        def handler(state: State, entry: Entry) -> None:
            func(state[key], entry)

        return handler

    return {name: bind(func) for name, func in REGISTRY_HANDLERS.items()
            if types is None or name in types}


def plan_of_task(reg: State, task_id: str | None) -> str | None:
    """The plan number of a task, or None when the task is not in an imported plan."""
    task = reg["tasks"].get(task_id or "")
    return task["plan_no"] if task is not None else None


def department_name(reg: State, dep: str | None) -> str | None:
    """A department's registered name (县应急管理局 …), or its id when unregistered."""
    if dep is None:
        return None
    name: str | None = reg["departments"].get(dep)
    return name or dep


def plans_in_scope(reg: State, plan_no: str | None) -> list[str]:
    """``[plan_no]`` when given (and imported), else every imported plan number, sorted."""
    if plan_no is not None:
        return [plan_no] if plan_no in reg["plans"] else []
    return sorted(reg["plans"])


def merge_handlers(
    *tables: Mapping[str, Callable[[State, Entry], None]],
) -> dict[str, Callable[[State, Entry], None]]:
    """One handler table from several: for a type in more than one, run them in order."""
    merged: dict[str, list[Callable[[State, Entry], None]]] = {}
    for table in tables:
        for name, func in table.items():
            merged.setdefault(name, []).append(func)
    out: dict[str, Callable[[State, Entry], None]] = {}
    for name, funcs in merged.items():
        if len(funcs) == 1:
            out[name] = funcs[0]
        else:
            out[name] = _chain(tuple(funcs))
    return out


def _chain(funcs: tuple[Callable[[State, Entry], None], ...]) -> Callable[[State, Entry], None]:
    def handler(state: State, entry: Entry) -> None:
        for func in funcs:
            func(state, entry)

    return handler
