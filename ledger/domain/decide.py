"""Domain decisions: a signed command and the state -> the entries to append (DESIGN.md B1, Part C).

``decide(state, log, command, *, now)`` is pure and deterministic (STYLE.md
§10): no clock but ``now``, no randomness, no I/O. It runs, in order:

1. the command's shape (A3, :func:`ledger.commands.check_command_shape`);
2. the signer against the log (A3, A7: :meth:`LogState.check_signer`);
3. the entry's stream and data from ``args`` (for nearly every action the
   data *is* the args: the signer signs exactly what is logged), then the
   roles of A12 (:meth:`LogState.authorize`);
4. the rules of Part C for the action (C1-C5, C7), each refusal naming the
   field and the rule (``RuleError``; malformed arguments ``FormatError``;
   a case, draw or task that does not exist ``NotFoundError``);
5. the entries: one :class:`Pending` for the command, then the system
   entries of the same transaction (A12): after the ``DrawRevealed`` that
   completes a draw, its ``DrawPerformed`` and one ``CaseOpened`` per
   selected enterprise, in selection order.

Derived data fields, never chosen by the signer: ``InspectorRecused.replacement``
(drawn, C3). ``due_system_entries`` gives the scheduler's
``RectificationOverdue`` and ``PublicationOverdue`` entries (A12, C4, C5).

Standard library and ``ledger`` pure modules only (light path, B2).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from ledger.commands import check_command_shape
from ledger.domain.calendar import UNITS, WorkCalendar, validate_calendar_data
from ledger.domain.draws import (
    check_commit_reveal,
    check_schedule,
    perform_draw,
    replacement_after_recusal,
)
from ledger.domain.registry import (
    GRADES,
    HAZARD_LEVELS,
    SECTORS,
    ImportRowsError,
    Problem,
    normalise_result,
    validate_conflict,
    validate_department,
    validate_enterprise_rows,
    validate_inspector_rows,
)
from ledger.domain.roles import ACTIONS
from ledger.domain.sampling import parse_ratio
from ledger.domain.state import (
    Case,
    DomainState,
    Draw,
    Inspection,
    Task,
    beijing_date,
    result_is_problem,
)
from ledger.errors import FormatError, NotFoundError, RuleError
from ledger.replay import KeyInfo, LogState
from ledger.times import parse_date

__all__ = ["Pending", "decide", "draft_schedule", "due_system_entries"]

Args = dict[str, Any]
RootAt = Callable[[int], bytes]

_ID = re.compile(r"[^\x00-\x20\x7f/:]{1,64}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\r\n]")


@dataclass(frozen=True)
class Pending:
    """An entry to append, before the store gives it ``index``, ``seq`` and ``logged_at`` (A4)."""

    stream: str
    type: str
    data: dict[str, Any]
    command: dict[str, Any] | None


# ---------------------------------------------------------------------------
# Argument helpers: strict, each error names the field and the rule (B5).


def _members(args: Args, rule: str, required: Sequence[str], optional: Sequence[str] = ()) -> None:
    """Exactly the required members, plus any of the optional ones."""
    for name in required:
        if name not in args:
            raise FormatError(rule, "missing member", field=name)
    allowed = set(required) | set(optional)
    for name in args:
        if name not in allowed:
            raise FormatError(
                rule, f"unexpected member; expected {', '.join([*required, *optional])}",
                field=name,
            )


def _text(
    args: Mapping[str, Any], name: str, rule: str, *, max_len: int = 500, multiline: bool = False
) -> str:
    """A non-empty, non-blank string without control characters."""
    value = args.get(name)
    if not isinstance(value, str):
        raise FormatError(rule, f"expected text, got {type(value).__name__}", field=name)
    if not value.strip():
        raise FormatError(rule, "must not be empty", field=name)
    if _CONTROL.search(value) or (not multiline and _LINE_BREAK.search(value)):
        raise FormatError(rule, "contains a control character or line break", field=name)
    if len(value) > max_len:
        raise FormatError(rule, f"longer than {max_len} characters", field=name)
    return value


def _ident(args: Mapping[str, Any], name: str, rule: str) -> str:
    """An id that can sit in a stream name: 1-64 characters, no space, '/' or ':'."""
    value = args.get(name)
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise FormatError(
            rule, f"expected an id of 1-64 characters without space, '/' or ':', got {value!r}",
            field=name,
        )
    return value


def _date(args: Mapping[str, Any], name: str) -> date:
    return parse_date(args.get(name), field=name)


def _bool(args: Mapping[str, Any], name: str, rule: str) -> bool:
    value = args.get(name)
    if not isinstance(value, bool):
        raise FormatError(rule, f"expected true or false, got {value!r}", field=name)
    return value


def _texts(
    args: Mapping[str, Any], name: str, rule: str, *, allow_empty: bool = False
) -> list[str]:
    """A list of distinct non-empty strings."""
    value = args.get(name)
    if not isinstance(value, list):
        raise FormatError(rule, f"expected a list, got {type(value).__name__}", field=name)
    if not value and not allow_empty:
        raise FormatError(rule, "must not be empty", field=name)
    seen: set[str] = set()
    for i, item in enumerate(value):
        _text({f"{name}[{i}]": item}, f"{name}[{i}]", rule)
        if item in seen:
            raise FormatError(rule, f"{item!r} is listed twice", field=f"{name}[{i}]")
        seen.add(item)
    return list(value)


def _not_future(day: date, name: str, now: datetime, rule: str) -> None:
    today = beijing_date(now)
    if day > today:
        raise RuleError(
            rule, f"{day.isoformat()} is after today ({today.isoformat()}, Beijing time)",
            field=name,
        )


def _not_before(day: date, name: str, earlier: date, what: str, rule: str) -> None:
    if day < earlier:
        raise RuleError(
            rule, f"{day.isoformat()} is before {what} ({earlier.isoformat()})", field=name
        )


# ---------------------------------------------------------------------------
# The decision context


@dataclass(frozen=True)
class _Ctx:
    state: DomainState
    log: LogState
    command: dict[str, Any]
    key: KeyInfo
    now: datetime
    root_at: RootAt | None

    @property
    def args(self) -> Args:
        args: Args = self.command["args"]
        return args


@dataclass(frozen=True)
class _Target:
    """Step 3: where the entry goes and what it says."""

    stream: str
    data: dict[str, Any]


_Rules = Callable[[_Ctx, _Target], list[Pending]]
"""Step 4 and 5: check Part C and return the entries after the command's own."""


def decide(
    state: DomainState,
    log: LogState,
    command: dict[str, Any],
    *,
    now: datetime,
    root_at: RootAt | None = None,
) -> list[Pending]:
    """Decide one signed command against the state caught up to the head (B1).

    ``now`` is the entry's ``logged_at``. ``root_at(size)`` returns the
    log's Merkle root at an earlier size (needed only by ``reports.publish``
    for a ``tree_size`` below the current size). Returns the entries to
    append, the command's first. Raises a ``LedgerError`` naming the field
    and the rule; nothing is changed.
    """
    check_command_shape(command)  # 1. A3 shape
    key = log.check_signer(command, now, index=log.size)  # 2. A3/A7 signer
    action = command["action"]
    spec = ACTIONS.get(action)
    handler = _ACTIONS.get(action)
    if spec is None or handler is None:
        raise FormatError("A12 action", f"unknown action {action!r}", field="action")
    ctx = _Ctx(state, log, command, key, now, root_at)
    target_of, rules = handler
    target = target_of(ctx)  # 3. stream and data, then A12 roles
    log.authorize(command, key, stream=target.stream, data=target.data, index=log.size)
    followers = rules(ctx, target)  # 4. Part C rules, 5. derived entries
    first = Pending(target.stream, spec.entry_type, target.data, command)
    return [first, *followers]


# ---------------------------------------------------------------------------
# A7 keys: Part A rules are LogState's; the domain adds nothing.


def _key_target(ctx: _Ctx) -> _Target:
    key = ctx.args.get("key")
    if not isinstance(key, str) or not key:
        raise FormatError("A7 key", "key must be a key id", field="key")
    return _Target(f"key/{key}", ctx.args)


def _no_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    return []


# ---------------------------------------------------------------------------
# C5 calendar


def _calendar_target(ctx: _Ctx) -> _Target:
    year = ctx.args.get("year")
    if isinstance(year, bool) or not isinstance(year, int):
        raise FormatError("C5 calendar", f"year must be an integer, got {year!r}", field="year")
    return _Target(f"calendar/{year}", ctx.args)


def _calendar_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C5: ``{"year", "holidays", "workdays"[, "source"]}`` valid; one entry per year."""
    validate_calendar_data(ctx.args)
    year = ctx.args["year"]
    if year in ctx.state.calendars:
        raise RuleError(
            "C5 calendar", f"the calendar of {year} is already set; deadlines already "
            "computed from it must not move", field="year",
        )
    return []


# ---------------------------------------------------------------------------
# C1 registries


def _fixed(stream: str) -> Callable[[_Ctx], _Target]:
    def target(ctx: _Ctx) -> _Target:
        return _Target(stream, ctx.args)

    return target


def _normalised(
    rows: Sequence[Mapping[str, Any]], normal: Sequence[Mapping[str, Any]]
) -> list[Problem]:
    """Rows must be logged in normalised form (what is signed is what is logged)."""
    problems: list[Problem] = []
    for number, (raw, norm) in enumerate(zip(rows, normal, strict=True), start=1):
        for name in raw:
            if name not in norm:
                problems.append((number, str(name), "C1 import", "unexpected column"))
        for name, value in norm.items():
            if raw.get(name) != value or type(raw.get(name)) is not type(value):
                problems.append(
                    (number, name, "C1 normalised form",
                     f"write {value!r}, not {raw.get(name)!r} (sign the normalised row)")
                )
    return problems


def _rows(ctx: _Ctx) -> list[Any]:
    _members(ctx.args, "C1 args", ("rows",))
    rows = ctx.args["rows"]
    if not isinstance(rows, list):
        raise FormatError("C1 args", "rows must be a list of objects", field="rows")
    return rows


def _department_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C1: a new department id and a name."""
    _members(ctx.args, "C1 args", ("department", "name"))
    data = validate_department(
        ctx.args["department"], ctx.args["name"], existing=set(ctx.state.departments)
    )
    if data != ctx.args:
        raise FormatError("C1 normalised form", f"write {data['name']!r}", field="name")
    return []


def _enterprises_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C1: every row valid (credit code check digit, sector, grade, status), none registered."""
    rows = _rows(ctx)
    normal = validate_enterprise_rows(rows, existing=set(ctx.state.enterprises))
    problems = _normalised(rows, normal)
    if problems:
        raise ImportRowsError(problems, what="enterprise rows")
    return []


def _inspectors_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C1: every row valid, department registered, id and 执法证号 unique in the registry."""
    rows = _rows(ctx)
    state = ctx.state
    certs = {i.cert_no: i.id for i in state.inspectors.values() if i.cert_no}
    extra: list[Problem] = []
    for number, row in enumerate(rows, start=1):
        cert = row.get("cert_no") if isinstance(row, Mapping) else None
        if isinstance(cert, str) and cert.strip() in certs:
            extra.append((number, "cert_no", "C1 registry",
                          f"{cert!r} is the 执法证号 of inspector {certs[cert.strip()]!r}"))
    try:
        normal = validate_inspector_rows(
            rows, departments=set(state.departments), existing=set(state.inspectors)
        )
    except ImportRowsError as exc:
        raise ImportRowsError([*exc.problems, *extra], what="inspector rows") from None
    problems = extra + _normalised(rows, normal)
    if problems:
        raise ImportRowsError(problems, what="inspector rows")
    return []


_ENTERPRISE_UPDATABLE = ("name", "sector", "town", "grade", "status")
_INSPECTOR_UPDATABLE = ("name", "cert_no", "department", "active")


def _enterprise_update_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C1: a registered enterprise; the changed fields valid as an import row would be."""
    args = ctx.args
    _members(args, "C1 args", ("usc",), (*_ENTERPRISE_UPDATABLE, "reason"))
    if not any(name in args for name in _ENTERPRISE_UPDATABLE):
        raise FormatError("C1 args", "nothing to update", field="usc")
    if "reason" in args:
        _text(args, "reason", "C1 args")
    old = ctx.state.enterprises.get(args["usc"])
    if old is None:
        raise NotFoundError("C1 registry", f"enterprise {args['usc']!r} is not registered",
                            field="usc")
    row = {"usc": old.usc, "name": old.name, "sector": old.sector, "town": old.town,
           "grade": old.grade, "status": old.status}
    row.update({k: args[k] for k in _ENTERPRISE_UPDATABLE if k in args})
    normal = validate_enterprise_rows([row], existing=set())
    problems = _normalised([row], normal)
    if problems:
        raise ImportRowsError(problems, what="updated enterprise")
    return []


def _inspector_update_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C1: a registered inspector; the changed fields valid as an import row would be."""
    args = ctx.args
    state = ctx.state
    _members(args, "C1 args", ("id",), (*_INSPECTOR_UPDATABLE, "reason"))
    if not any(name in args for name in _INSPECTOR_UPDATABLE):
        raise FormatError("C1 args", "nothing to update", field="id")
    if "reason" in args:
        _text(args, "reason", "C1 args")
    old = state.inspectors.get(args["id"])
    if old is None:
        raise NotFoundError("C1 registry", f"inspector {args['id']!r} is not registered",
                            field="id")
    row = {"id": old.id, "name": old.name, "cert_no": old.cert_no, "department": old.department,
           "active": old.active}
    row.update({k: args[k] for k in _INSPECTOR_UPDATABLE if k in args})
    cert = row.get("cert_no")
    for other in state.inspectors.values():
        if other.id != old.id and other.cert_no is not None and other.cert_no == cert:
            raise RuleError("C1 registry", f"{cert!r} is the 执法证号 of inspector {other.id!r}",
                            field="cert_no")
    normal = validate_inspector_rows(
        [row], departments=set(state.departments), existing=set()
    )
    problems = _normalised([row], normal)
    if problems:
        raise ImportRowsError(problems, what="updated inspector")
    return []


def _conflict_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C1/C3: a registered inspector and enterprise, a reason (利害关系), not yet declared."""
    args = ctx.args
    state = ctx.state
    _members(args, "C1 args", ("inspector", "enterprise", "reason"))
    data = validate_conflict(
        args["inspector"], args["enterprise"], args["reason"],
        set(state.inspectors), set(state.enterprises),
    )
    if data != args:
        raise FormatError("C1 normalised form", f"write {data['reason']!r}", field="reason")
    if (args["inspector"], args["enterprise"]) in state.conflict_pairs:
        raise RuleError(
            "C1 conflicts",
            f"inspector {args['inspector']!r} already declared a conflict with "
            f"{args['enterprise']!r}", field="enterprise",
        )
    return []


# ---------------------------------------------------------------------------
# C2 plans

_TASK_REQUIRED = (
    "task_id", "task_name", "kind", "ratio", "sectors", "initiator", "joint_departments",
    "window_start", "window_end",
)
_TASK_OPTIONAL_TEXT = ("task_no", "items", "scope", "ratio_text", "window_text")
_TASK_OPTIONAL = (*_TASK_OPTIONAL_TEXT, "ratio_by_grade", "grade_ratios", "towns", "grades")
_KINDS = ("directed", "undirected", None)


def _plan_target(ctx: _Ctx) -> _Target:
    plan_no = _ident(ctx.args, "plan_no", "C2 args")
    return _Target(f"plan/{plan_no}", ctx.args)


def _ratio(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise FormatError("C2 ratio", f"expected a decimal string like '0.05', got {value!r}",
                          field=field)
    try:
        parse_ratio(value)
    except FormatError as exc:
        raise FormatError("C2 ratio", exc.reason, field=field) from None
    return value


def _check_task(ctx: _Ctx, task: object, where: str, seen: set[str]) -> None:
    """C2: one task (抽查任务) of a ``PlanImported``, as ``ledger.domain.plans`` writes it."""
    if not isinstance(task, dict):
        raise FormatError("C2 task", "a task is an object", field=where)
    for name in _TASK_REQUIRED:
        if name not in task:
            raise FormatError("C2 task", "missing member", field=f"{where}.{name}")
    for name in task:
        if name not in _TASK_REQUIRED and name not in _TASK_OPTIONAL:
            raise FormatError("C2 task", "unexpected member", field=f"{where}.{name}")
    try:
        task_id = _ident(task, "task_id", "C2 task")
    except FormatError as exc:
        raise FormatError(exc.rule, exc.reason, field=f"{where}.task_id") from None
    if task_id in seen:
        raise RuleError("C2 task", f"task {task_id!r} is listed twice", field=f"{where}.task_id")
    if task_id in ctx.state.tasks:
        raise RuleError(
            "C2 task", f"task {task_id!r} belongs to plan {ctx.state.tasks[task_id].plan_no!r}",
            field=f"{where}.task_id",
        )
    seen.add(task_id)
    try:
        _text(task, "task_name", "C2 task")
        for name in _TASK_OPTIONAL_TEXT:
            if name in task and not isinstance(task[name], str):
                raise FormatError("C2 task", "expected text", field=name)
    except FormatError as exc:
        raise FormatError(exc.rule, exc.reason, field=f"{where}.{exc.field}") from None
    kind = task["kind"]
    if kind not in _KINDS:
        raise FormatError("C2 kind", f"kind must be directed, undirected or null, got {kind!r}",
                          field=f"{where}.kind")
    sectors = task["sectors"]
    if not isinstance(sectors, list) or not all(s in SECTORS for s in sectors):
        raise FormatError("C2 sectors", f"sectors must be a list of {'/'.join(SECTORS)}",
                          field=f"{where}.sectors")
    if kind == "directed" and not sectors:
        raise RuleError("C2 sectors", "a directed (定向) task needs the sectors it draws from",
                        field=f"{where}.sectors")
    for name, allowed in (("towns", None), ("grades", GRADES)):
        if name in task:
            values = task[name]
            if not isinstance(values, list) or not values or not all(
                isinstance(v, str) and v and (allowed is None or v in allowed) for v in values
            ):
                raise FormatError("C2 filter", f"{name} must be a non-empty list of "
                                  f"{'grades ' + '/'.join(GRADES) if allowed else 'town names'}",
                                  field=f"{where}.{name}")
    if "ratio_by_grade" in task and not isinstance(task["ratio_by_grade"], bool):
        raise FormatError("C2 ratio", "ratio_by_grade must be true or false",
                          field=f"{where}.ratio_by_grade")
    ratio = task["ratio"]
    if ratio is not None:
        _ratio(ratio, f"{where}.ratio")
        if "grade_ratios" in task:
            raise RuleError("C2 grade ratios", "give either one ratio or grade_ratios, not both",
                            field=f"{where}.grade_ratios")
    else:
        grades = task.get("grade_ratios")
        if not isinstance(grades, dict):
            raise RuleError(
                "C2 grade ratios",
                "the task sets no single ratio, so it needs grade_ratios with a ratio per "
                f"credit-risk grade {'/'.join(GRADES)}", field=f"{where}.grade_ratios",
            )
        for grade in GRADES:
            if grade not in grades:
                raise RuleError("C2 grade ratios", f"no ratio for grade {grade}",
                                field=f"{where}.grade_ratios.{grade}")
        for grade, value in grades.items():
            if grade not in GRADES:
                raise FormatError("C2 grade ratios", f"{grade!r} is not a grade",
                                  field=f"{where}.grade_ratios")
            _ratio(value, f"{where}.grade_ratios.{grade}")
    departments = ctx.state.departments
    initiator = task["initiator"]
    if not isinstance(initiator, str) or initiator not in departments:
        raise RuleError("C2 departments", f"initiating department {initiator!r} is not "
                        "registered", field=f"{where}.initiator")
    joint = task["joint_departments"]
    if not isinstance(joint, list):
        raise FormatError("C2 departments", "joint_departments must be a list",
                          field=f"{where}.joint_departments")
    for i, dep in enumerate(joint):
        field = f"{where}.joint_departments[{i}]"
        if not isinstance(dep, str) or dep not in departments:
            raise RuleError("C2 departments", f"joint department {dep!r} is not registered",
                            field=field)
        if dep == initiator or joint.index(dep) != i:
            raise RuleError("C2 departments", f"{dep!r} is listed twice (initiator or joint)",
                            field=field)
    start = parse_date(task["window_start"], field=f"{where}.window_start")
    end = parse_date(task["window_end"], field=f"{where}.window_end")
    if end < start:
        raise RuleError("C2 window", f"the window ends ({end}) before it starts ({start})",
                        field=f"{where}.window_end")


def _plan_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C2: a new plan number, registered departments, well-formed tasks; C5 publication rule."""
    args = ctx.args
    _members(args, "C2 args", ("plan_no", "plan_name", "tasks", "publication"))
    if args["plan_no"] in ctx.state.plans:
        raise RuleError("C2 plan", f"plan {args['plan_no']!r} is already imported",
                        field="plan_no")
    _text(args, "plan_name", "C2 args")
    publication = args["publication"]
    if not isinstance(publication, dict) or set(publication) != {"days", "unit"}:
        raise FormatError("C5 publication", "publication must be {days, unit}",
                          field="publication")
    days = publication["days"]
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366:
        raise FormatError("C5 publication", f"days must be an integer in [1, 366], got {days!r}",
                          field="publication.days")
    if publication["unit"] not in UNITS:
        raise FormatError("C5 publication", f"unit must be one of {'/'.join(UNITS)}",
                          field="publication.unit")
    tasks = args["tasks"]
    if not isinstance(tasks, list) or not tasks:
        raise FormatError("C2 args", "tasks must be a non-empty list", field="tasks")
    seen: set[str] = set()
    for i, task in enumerate(tasks):
        _check_task(ctx, task, f"tasks[{i}]", seen)
    return []


# ---------------------------------------------------------------------------
# C3 draws

_SCHEDULE_MEMBERS = (
    "draw_id", "task_id", "replaces", "parties", "strata", "inspectors", "conflicts",
    "required_departments", "team_size", "max_load",
)


def _draw_target(ctx: _Ctx) -> _Target:
    """Stream ``draw/<draw_id>``; commit, reveal and void need a scheduled draw."""
    draw_id = _ident(ctx.args, "draw_id", "C3 args")
    if ctx.command["action"] != "draws.schedule" and draw_id not in ctx.state.draws:
        raise NotFoundError("C3 draw", f"draw {draw_id!r} was not scheduled", field="draw_id")
    return _Target(f"draw/{draw_id}", ctx.args)


def _task_population(state: DomainState, task: Task) -> dict[str, set[str]]:
    """C2/C3: the active enterprises a task draws from, by credit-risk grade (stratum)."""
    directed = task.kind == "directed"
    sectors = set(task.sectors)
    towns = set(task.data.get("towns") or ())
    grades = set(task.data.get("grades") or ())
    strata: dict[str, set[str]] = {}
    for firm in state.enterprises.values():
        if not firm.active:
            continue
        if directed and (
            firm.sector not in sectors
            or (towns and firm.town not in towns)
            or (grades and firm.grade not in grades)
        ):
            continue
        strata.setdefault(firm.grade or "", set()).add(firm.usc)
    return strata


def _schedule_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C3: everything a ``DrawScheduled`` freezes must equal the registries and the plan."""
    args = ctx.args
    state = ctx.state
    _members(args, "C3 args", _SCHEDULE_MEMBERS)
    draw_id = args["draw_id"]
    if draw_id in state.draws:
        raise RuleError("C3 draw", f"draw {draw_id!r} already exists", field="draw_id")
    task_id = args["task_id"]
    task = state.tasks.get(task_id) if isinstance(task_id, str) else None
    if task is None:
        raise NotFoundError("C3 schedule", f"task {task_id!r} is not in an imported plan",
                            field="task_id")
    # A task cannot be quietly drawn again: a re-draw names the voided draw it replaces.
    latest = state.latest_draw(task_id)
    replaces = args["replaces"]
    if latest is not None and not latest.voided:
        raise RuleError(
            "C3 re-draw", f"task {task_id!r} already has the live draw {latest.draw_id!r}; "
            "void it (with a reason) before drawing again", field="task_id",
        )
    if latest is None and replaces is not None:
        raise RuleError("C3 re-draw", f"task {task_id!r} has no draw to replace",
                        field="replaces")
    if latest is not None and replaces != latest.draw_id:
        raise RuleError(
            "C3 re-draw", f"a re-draw of task {task_id!r} must name the voided draw "
            f"{latest.draw_id!r} in replaces, got {replaces!r}", field="replaces",
        )
    team_size = args["team_size"]
    if isinstance(team_size, bool) or not isinstance(team_size, int) or team_size < 2:
        raise RuleError("C3 team size", f"team_size must be an integer >= 2 (每次抽取的执法检查"
                        f"人员不得少于2人), got {team_size!r}", field="team_size")
    schedule = check_schedule(args)  # shapes, max_load, required departments staffed
    for i, (party, key_id) in enumerate(schedule.parties):
        if _LINE_BREAK.search(party) or _CONTROL.search(party):
            raise FormatError("C3 parties", "a party name has no control character",
                              field=f"parties[{i}].party")
        key = ctx.log.keys.get(key_id)
        if key is None or key.revoked_at is not None or "draw_party" not in key.roles:
            raise RuleError(
                "C3 parties", f"party {party!r} names key {key_id!r}, which is not a registered, "
                "unrevoked key with role draw_party", field=f"parties[{i}].key",
            )
    _check_frozen_strata(state, task, args["strata"])
    pool = {(x.id, x.department, x.active) for x in schedule.inspectors}
    registry = {(x.id, x.department or "", x.active) for x in state.inspectors.values()}
    if pool != registry or len(schedule.inspectors) != len(state.inspectors):
        missing = sorted(registry - pool)
        extra = sorted(pool - registry)
        raise RuleError(
            "C3 frozen pool", "the inspector pool must be the inspector registry as it stands "
            f"(id, department, active); missing {missing}, not in the registry {extra}",
            field="inspectors",
        )
    if schedule.conflicts != state.conflict_pairs or len(args["conflicts"]) != len(
        state.conflict_pairs
    ):
        missing_pairs = sorted(state.conflict_pairs - schedule.conflicts)
        extra_pairs = sorted(schedule.conflicts - state.conflict_pairs)
        raise RuleError(
            "C3 frozen conflicts", "conflicts must list every declared conflict once; "
            f"missing {missing_pairs}, not declared {extra_pairs}", field="conflicts",
        )
    required = {task.initiator, *task.joint_departments}
    if set(schedule.required_departments) != required:
        raise RuleError(
            "C3 required departments", "required_departments must be the task's initiating "
            f"and joint departments {sorted(d for d in required if d)}, got "
            f"{list(args['required_departments'])}", field="required_departments",
        )
    return []


def draft_schedule(
    state: DomainState,
    *,
    draw_id: str,
    task_id: str,
    parties: Sequence[Mapping[str, str]],
    team_size: int = 2,
    max_load: int | None = None,
    replaces: str | None = None,
) -> dict[str, Any]:
    """The ``draws.schedule`` args that freeze the registries as they stand (C3, A11).

    What a client signs: the task's candidates by credit-risk grade (active
    enterprises matching the task's filter, each stratum with the task's
    ratio for its grade, candidates sorted), the whole inspector pool and
    every declared conflict, sorted, and the task's initiating and joint
    departments. ``decide`` accepts these args exactly when nothing changed
    in between. Raises ``NotFoundError`` for an unknown task and
    ``RuleError`` for a grade without a ratio.
    """
    task = state.tasks.get(task_id)
    if task is None:
        raise NotFoundError("C3 schedule", f"task {task_id!r} is not in an imported plan",
                            field="task_id")
    strata = []
    for label, ids in sorted(_task_population(state, task).items()):
        ratio = task.ratio_for(label)
        if ratio is None:
            raise RuleError("C3 stratum ratio", f"the plan gives no ratio for grade {label!r}",
                            field="strata")
        strata.append({"stratum": label, "ratio": ratio, "candidates": sorted(ids)})
    return {
        "draw_id": draw_id,
        "task_id": task_id,
        "replaces": replaces,
        "parties": [{"party": p["party"], "key": p["key"]} for p in parties],
        "strata": strata,
        "inspectors": [
            {"id": x.id, "department": x.department, "active": x.active}
            for x in sorted(state.inspectors.values(), key=lambda x: x.id)
        ],
        "conflicts": [
            {"inspector": i, "enterprise": e} for i, e in sorted(state.conflict_pairs)
        ],
        "required_departments": [d for d in (task.initiator, *task.joint_departments) if d],
        "team_size": team_size,
        "max_load": max_load,
    }


def _check_frozen_strata(state: DomainState, task: Task, strata: list[dict[str, Any]]) -> None:
    """C3: candidates by stratum = the registry's active enterprises matching the task."""
    expected = _task_population(state, task)
    if not expected:
        raise RuleError("C3 frozen candidates", f"no active enterprise matches task "
                        f"{task.task_id!r}", field="strata")
    given: dict[str, set[str]] = {}
    for i, item in enumerate(strata):
        label = item["stratum"]
        ratio = task.ratio_for(label)
        if ratio is None:
            raise RuleError("C3 stratum ratio", f"the plan gives no ratio for grade {label!r}",
                            field=f"strata[{i}].ratio")
        if item["ratio"] != ratio:
            raise RuleError(
                "C3 stratum ratio", f"stratum {label!r} must use the task's ratio {ratio!r}, "
                f"got {item['ratio']!r}", field=f"strata[{i}].ratio",
            )
        if item["candidates"]:
            given[label] = set(item["candidates"])
    if given != expected:
        for label in sorted(set(expected) | set(given)):
            want, got = expected.get(label, set()), given.get(label, set())
            if want != got:
                raise RuleError(
                    "C3 frozen candidates",
                    f"stratum {label!r} must hold the {len(want)} active enterprises of grade "
                    f"{label!r} matching the task; missing {sorted(want - got)[:5]}, not "
                    f"eligible {sorted(got - want)[:5]}", field="strata",
                )


def _open_draw(draw: Draw, what: str) -> None:
    if draw.voided:
        raise RuleError("C3 draw state", f"no {what} on draw {draw.draw_id!r}: it was voided",
                        field="draw_id")
    if draw.performed is not None:
        raise RuleError("C3 draw state", f"no {what} on draw {draw.draw_id!r}: it was performed",
                        field="draw_id")


def _party_of(draw: Draw, args: Args) -> str:
    party = args.get("party")
    if not isinstance(party, str) or party not in draw.parties:
        raise RuleError("C3 parties", f"{party!r} is not a party of draw {draw.draw_id!r}",
                        field="party")
    return party


def _commit_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C3: the named party commits once, to SHA-256 of its secret, on an open draw."""
    args = ctx.args
    _members(args, "C3 args", ("draw_id", "party", "commitment"))
    draw = ctx.state.draws[args["draw_id"]]
    _open_draw(draw, "commitment")
    party = _party_of(draw, args)
    if party in draw.commitments:
        raise RuleError("C3 commit once", f"party {party!r} has already committed",
                        field="party")
    commitment = args["commitment"]
    if not isinstance(commitment, str) or not _HEX64.fullmatch(commitment):
        raise FormatError("C3 commitment", "expected 64 lowercase hex characters (SHA-256)",
                          field="commitment")
    return []


def _reveal_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C3: reveals after all commitments, once, matching; the last one performs the draw."""
    args = ctx.args
    state = ctx.state
    _members(args, "C3 args", ("draw_id", "party", "secret"))
    draw = state.draws[args["draw_id"]]
    _open_draw(draw, "reveal")
    party = _party_of(draw, args)
    waiting = [p for p in draw.parties if p not in draw.commitments]
    if waiting:
        raise RuleError("C3 commit before reveal", "reveals only after every party committed; "
                        f"waiting for {', '.join(map(repr, waiting))}", field="party")
    if party in draw.reveals:
        raise RuleError("C3 reveal once", f"party {party!r} has already revealed", field="party")
    check_commit_reveal(draw.commitments[party], args["secret"])
    reveals = {**draw.reveals, party: args["secret"]}
    if len(reveals) < len(draw.parties):
        return []
    log_draw = ctx.log.draw(draw.draw_id)
    if log_draw is None or log_draw.commit_checkpoint is None:
        raise AssertionError("bad math: all committed but the log has no commit checkpoint")
    size, root_hex = log_draw.commit_checkpoint
    performed = perform_draw(draw.scheduled, reveals, size, root_hex, mapper=ctx.log.draw_mapper)
    out = [Pending(target.stream, "DrawPerformed", performed, None)]
    teams = cast(list[dict[str, Any]], performed["teams"])
    for team in teams:
        case_id = f"{draw.draw_id}:{team['enterprise']}"
        out.append(
            Pending(
                f"case/{case_id}",
                "CaseOpened",
                {
                    "case_id": case_id,
                    "draw_id": draw.draw_id,
                    "task_id": draw.task_id,
                    "enterprise": team["enterprise"],
                    "inspectors": list(team["inspectors"]),
                },
                None,
            )
        )
    return out


def _void_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C3: a reason, not voided yet, and no case of the draw inspected."""
    args = ctx.args
    _members(args, "C3 args", ("draw_id", "reason"))
    _text(args, "reason", "C3 void", max_len=1000)
    draw = ctx.state.draws[args["draw_id"]]
    if draw.voided:
        raise RuleError("C3 void", f"draw {draw.draw_id!r} is already voided", field="draw_id")
    for case_id in draw.case_ids:
        case = ctx.state.cases[case_id]
        if case.inspection is not None:
            raise RuleError(
                "C3 void", f"case {case_id!r} of the draw was inspected (entry "
                f"{case.inspection.index}); a draw cannot be voided after an inspection",
                field="draw_id",
            )
    return []


# ---------------------------------------------------------------------------
# C4 cases


def _case_target(ctx: _Ctx) -> _Target:
    """Stream ``case/<case_id>`` of an opened case."""
    case_id = ctx.args.get("case_id")
    if not isinstance(case_id, str) or not case_id:
        raise FormatError("C4 args", "case_id must be '<draw id>:<enterprise>'", field="case_id")
    if case_id not in ctx.state.cases:
        raise NotFoundError("C4 case", f"no case {case_id!r} was opened", field="case_id")
    return _Target(f"case/{case_id}", ctx.args)


def _open_case(ctx: _Ctx) -> Case:
    """Every case action: an open case of a draw that was not voided."""
    case = ctx.state.cases[ctx.args["case_id"]]
    if case.void:
        raise RuleError("C3 void", f"case {case.case_id!r} belongs to voided draw "
                        f"{case.draw_id!r}", field="case_id")
    if case.closed:
        raise RuleError("C4 transition", f"case {case.case_id!r} is closed (entry "
                        f"{case.closed_index}); no action after close", field="case_id")
    return case


def _inspected(case: Case, what: str) -> Inspection:
    if case.inspection is None:
        raise RuleError("C4 transition", f"{what} only after the inspection "
                        "(InspectionRecorded)", field="case_id")
    return case.inspection


def _recuse_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C3: an inspector of the team steps aside before the visit; the replacement is drawn."""
    args = ctx.args
    state = ctx.state
    _members(args, "C4 args", ("case_id", "inspector", "reason"), ("replacement",))
    case = _open_case(ctx)
    inspector = _text(args, "inspector", "C4 args")
    _text(args, "reason", "C3 recusal", max_len=1000)
    if inspector not in case.team:
        raise RuleError("C3 recusal", f"inspector {inspector!r} is not on the team "
                        f"{case.team}", field="inspector")
    if case.inspection is not None:
        raise RuleError("C3 recusal", "a recusal comes before the inspection; this case was "
                        f"inspected at entry {case.inspection.index}", field="case_id")
    draw = state.draws[case.draw_id]
    teams = {state.cases[c].enterprise: list(state.cases[c].team) for c in draw.case_ids}
    replacement = replacement_after_recusal(
        draw.scheduled,
        draw.reveals,
        draw.performed or {},
        case.enterprise,
        inspector,
        current_teams=teams,
        prior_recusals=[r.inspector for r in case.recusals],
        extra_conflicts=[(c.inspector, c.enterprise) for c in state.conflicts
                         if c.index > draw.index],
    )
    if "replacement" in args and args["replacement"] != replacement:
        raise RuleError(
            "C3 recusal", f"the replacement is drawn, never chosen: the draw gives "
            f"{replacement!r}, the command says {args['replacement']!r}", field="replacement",
        )
    target.data["replacement"] = replacement
    return []


def _recuse_target(ctx: _Ctx) -> _Target:
    base = _case_target(ctx)
    return _Target(base.stream, dict(ctx.args))


def _inspection_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C4: one visit, inside the task window, by >= 2 team inspectors present, with its items."""
    args = ctx.args
    state = ctx.state
    _members(args, "C4 args", ("case_id", "date", "inspectors", "items"), ("end_date",))
    case = _open_case(ctx)
    if case.inspection is not None:
        raise RuleError("C4 inspection", "the check items of one enterprise are covered in one "
                        f"visit; this case was inspected at entry {case.inspection.index}",
                        field="case_id")
    day = _date(args, "date")
    end = _date(args, "end_date") if "end_date" in args else day
    _not_before(end, "end_date", day, "the inspection date", "C4 inspection")
    _not_future(end, "end_date" if "end_date" in args else "date", ctx.now, "C4 inspection")
    _not_before(day, "date", case.opened_date, "the case was opened", "C4 inspection")
    task = state.tasks.get(case.task_id or "")
    if task is not None:
        start, stop = task.window
        if start is not None and stop is not None:
            for name, value in (("date", day), ("end_date", end)):
                if not start <= value <= stop:
                    raise RuleError(
                        "C4 inspection window", f"{value} is outside the task's window "
                        f"{start}..{stop} (抽查时间)", field=name,
                    )
    present = _texts(args, "inspectors", "C4 args")
    for i, who in enumerate(present):
        if who not in case.team:
            raise RuleError("C4 inspection", f"inspector {who!r} is not on the case's team "
                            f"{case.team}", field=f"inspectors[{i}]")
    if len(present) < 2:
        raise RuleError("C4 inspection", "at least 2 inspectors must be present (每次抽取的执法"
                        "检查人员不得少于2人)", field="inspectors")
    if ctx.key.inspector not in present:
        raise RuleError("C4 inspection", "the inspection is recorded by an inspector who was "
                        "present (谁检查、谁录入)", field="inspectors")
    _texts(args, "items", "C4 args")
    return []


def _finding_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C4: one finding per inspected item: official result, hazard level, text, evidence."""
    args = ctx.args
    _members(args, "C4 args", ("case_id", "item", "result", "hazard", "text", "evidence"))
    case = _open_case(ctx)
    inspection = _inspected(case, "findings come")
    item = _text(args, "item", "C4 args")
    if item not in inspection.items:
        raise RuleError("C4 finding", f"item {item!r} is not among the inspection's items "
                        f"{list(inspection.items)}", field="item")
    if item in case.findings:
        raise RuleError("C4 finding", f"item {item!r} already has a finding (entry "
                        f"{case.findings[item].index})", field="item")
    result = normalise_result(_text(args, "result", "C4 args"))
    hazard = args["hazard"]
    if hazard is not None and hazard not in HAZARD_LEVELS:
        raise FormatError("C4 hazard level", f"hazard must be 一般, 重大 or null, got {hazard!r}",
                          field="hazard")
    if result_is_problem(result) and hazard is None:
        raise RuleError("C4 hazard level", f"result {result!r} reports a problem: give its "
                        "hazard level (一般/重大)", field="hazard")
    if not result_is_problem(result) and hazard is not None:
        raise RuleError("C4 hazard level", f"result {result!r} reports no problem, so there is "
                        "no hazard level (null)", field="hazard")
    _text(args, "text", "C4 args", max_len=5000, multiline=True)
    evidence = args["evidence"]
    if not isinstance(evidence, list):
        raise FormatError("C4 evidence", "evidence must be a list of SHA-256 hex digests",
                          field="evidence")
    for i, digest in enumerate(evidence):
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise FormatError("C4 evidence", "expected the 64 lowercase hex characters of a "
                              f"file's SHA-256, got {digest!r}", field=f"evidence[{i}]")
        if evidence.index(digest) != i:
            raise FormatError("C4 evidence", "listed twice", field=f"evidence[{i}]")
    return []


def _order_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C4: 限期整改通知书 issued on the spot, for items with a problem, deadline after it."""
    args = ctx.args
    _members(args, "C4 args", ("case_id", "order", "date", "deadline", "items"))
    case = _open_case(ctx)
    inspection = _inspected(case, "a rectification is ordered")
    order = _text(args, "order", "C4 args", max_len=100)
    if order in case.orders:
        raise RuleError("C4 rectification", f"order {order!r} was already issued",
                        field="order")
    day = _date(args, "date")
    if not inspection.date <= day <= inspection.end_date:
        raise RuleError("C4 rectification", "the 限期整改通知书 is issued on the spot: its date "
                        f"must be the inspection date {inspection.date}, got {day}",
                        field="date")
    deadline = _date(args, "deadline")
    if deadline <= day:
        raise RuleError("C4 rectification", f"the deadline {deadline} must be after the order "
                        f"date {day}", field="deadline")
    items = _texts(args, "items", "C4 args")
    for i, item in enumerate(items):
        finding = case.findings.get(item)
        if finding is None or not finding.problem:
            raise RuleError("C4 rectification", f"item {item!r} has no finding with a problem "
                            "to rectify", field=f"items[{i}]")
    return []


def _verify_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C4: a rectification can only be verified after it was ordered, and once."""
    args = ctx.args
    _members(args, "C4 args", ("case_id", "order", "date"))
    case = _open_case(ctx)
    name = _text(args, "order", "C4 args", max_len=100)
    order = case.orders.get(name)
    if order is None:
        raise RuleError("C4 transition", f"a rectification can only be verified after it was "
                        f"ordered: no order {name!r}", field="order")
    if order.verified_index is not None:
        raise RuleError("C4 rectification", f"order {name!r} was already verified (entry "
                        f"{order.verified_index})", field="order")
    day = _date(args, "date")
    _not_before(day, "date", order.date, "the order", "C4 rectification")
    _not_future(day, "date", ctx.now, "C4 rectification")
    return []


_OUTCOMES = ("agreed", "refused")


def _interview_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C4: a 约谈 with the principal follows a finding with a problem; agreed or refused."""
    args = ctx.args
    _members(args, "C4 args", ("case_id", "date", "person", "outcome"))
    case = _open_case(ctx)
    inspection = _inspected(case, "a 约谈 (interview) is held")
    if not case.has_problem():
        raise RuleError("C4 interview", "a 约谈 follows a finding with a problem; this case has "
                        "none", field="case_id")
    _text(args, "person", "C4 args", max_len=100)
    if args["outcome"] not in _OUTCOMES:
        raise FormatError("C4 interview", f"outcome must be agreed or refused, got "
                          f"{args['outcome']!r}", field="outcome")
    day = _date(args, "date")
    _not_before(day, "date", inspection.date, "the inspection", "C4 interview")
    _not_future(day, "date", ctx.now, "C4 interview")
    return []


def _trigger(case: Case, what: str) -> None:
    """The seed's trigger: 曝光 and 行政处罚 follow a 重大 hazard or a refusal after 约谈."""
    if not case.major_hazard() and not case.refused_after_interview():
        raise RuleError(
            "C4 enforcement trigger", f"{what} follows a 重大 (major) hazard finding or a refusal "
            "to rectify after a 约谈; this case has neither", field="case_id",
        )


def _penalty_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C4: 行政处罚决定书 (decision number, amount in fen, legal basis) after the trigger."""
    args = ctx.args
    _members(args, "C4 args", ("case_id", "decision", "date", "amount_fen", "basis"))
    case = _open_case(ctx)
    inspection = _inspected(case, "a penalty is decided")
    decision = _text(args, "decision", "C4 args", max_len=100)
    if any(p.decision == decision for p in case.penalties):
        raise RuleError("C4 penalty", f"decision {decision!r} is already logged",
                        field="decision")
    amount = args["amount_fen"]
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise FormatError("C4 penalty", f"amount_fen must be an integer number of fen, got "
                          f"{amount!r}", field="amount_fen")
    if amount <= 0:
        raise RuleError("C4 penalty", f"amount_fen must be > 0, got {amount}",
                        field="amount_fen")
    _text(args, "basis", "C4 args", max_len=1000)
    day = _date(args, "date")
    _not_before(day, "date", inspection.date, "the inspection", "C4 penalty")
    _not_future(day, "date", ctx.now, "C4 penalty")
    _trigger(case, "a 行政处罚 (penalty)")
    return []


def _expose_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C4: 曝光 (public naming) after the trigger; where and when."""
    args = ctx.args
    _members(args, "C4 args", ("case_id", "date", "where"))
    case = _open_case(ctx)
    inspection = _inspected(case, "an exposure comes")
    _text(args, "where", "C4 args")
    day = _date(args, "date")
    _not_before(day, "date", inspection.date, "the inspection", "C4 exposure")
    _not_future(day, "date", ctx.now, "C4 exposure")
    _trigger(case, "曝光 (exposure)")
    return []


def _refer_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C4: 移交 case clues to a registered receiving body, with a summary."""
    args = ctx.args
    _members(args, "C4 args", ("case_id", "referral", "date", "to", "summary"))
    case = _open_case(ctx)
    inspection = _inspected(case, "a referral comes")
    referral = _text(args, "referral", "C4 args", max_len=100)
    if referral in case.referrals:
        raise RuleError("C4 referral", f"referral {referral!r} is already logged",
                        field="referral")
    to = _text(args, "to", "C4 args", max_len=64)
    if to not in ctx.state.departments:
        raise RuleError("C4 referral", f"the receiving body {to!r} is not a registered "
                        "department", field="to")
    _text(args, "summary", "C4 args", max_len=5000, multiline=True)
    day = _date(args, "date")
    _not_before(day, "date", inspection.date, "the inspection", "C4 referral")
    _not_future(day, "date", ctx.now, "C4 referral")
    return []


def _acknowledge_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C4: the receiving body acknowledges an existing, unacknowledged referral."""
    args = ctx.args
    _members(args, "C4 args", ("case_id", "referral", "date"))
    case = _open_case(ctx)
    name = _text(args, "referral", "C4 args", max_len=100)
    referral = case.referrals.get(name)
    if referral is None:
        raise RuleError("C4 referral", f"no referral {name!r} in this case", field="referral")
    if referral.acknowledged_index is not None:
        raise RuleError("C4 referral", f"referral {name!r} was already acknowledged (entry "
                        f"{referral.acknowledged_index})", field="referral")
    if ctx.key.holder.get("department") != referral.to:
        raise RuleError(
            "C4 referral", f"referral {name!r} went to {referral.to!r}; it is acknowledged by a "
            f"receiver key of that body, not of {ctx.key.holder.get('department')!r}",
            field="referral",
        )
    day = _date(args, "date")
    if referral.date is not None:
        _not_before(day, "date", referral.date, "the referral", "C4 referral")
    _not_future(day, "date", ctx.now, "C4 referral")
    return []


def _publish_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C5 (一公开): results of an inspected case with every item found; once, unless corrected."""
    args = ctx.args
    _members(args, "C5 args", ("case_id", "date", "where"), ("correction",))
    case = _open_case(ctx)
    inspection = _inspected(case, "results are published")
    missing = [item for item in inspection.items if item not in case.findings]
    if missing:
        raise RuleError("C5 publication", f"every check item needs a finding before the result "
                        f"is published; missing {missing}", field="case_id")
    _text(args, "where", "C5 args")
    correction = _bool(args, "correction", "C5 args") if "correction" in args else False
    if case.publications and not correction:
        raise RuleError("C5 publication", "the result is published once per case; flag a "
                        "correction to publish again", field="correction")
    if correction and not case.publications:
        raise RuleError("C5 publication", "nothing published yet to correct",
                        field="correction")
    day = _date(args, "date")
    _not_before(day, "date", inspection.end_date, "the inspection's end", "C5 publication")
    _not_future(day, "date", ctx.now, "C5 publication")
    return []


_PLEDGES = ("no_banquet", "no_gift", "no_money")


def _integrity_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C4: each team inspector's 廉洁承诺 after the inspection: no banquet, gift or money."""
    args = ctx.args
    _members(args, "C4 args", ("case_id", "inspector", "date", *_PLEDGES))
    case = _open_case(ctx)
    inspection = _inspected(case, "the integrity declaration (廉洁承诺) comes")
    inspector = _text(args, "inspector", "C4 args")
    if inspector not in case.team:
        raise RuleError("C4 integrity", f"inspector {inspector!r} is not on the team",
                        field="inspector")
    if inspector in case.declarations:
        raise RuleError("C4 integrity", f"inspector {inspector!r} already declared (entry "
                        f"{case.declarations[inspector].index})", field="inspector")
    for name in _PLEDGES:
        if not _bool(args, name, "C4 integrity"):
            raise RuleError("C4 integrity", "the 廉洁承诺 (八项规定) states that no banquet, gift "
                            "or money was accepted from the inspected unit: all must be true",
                            field=name)
    day = _date(args, "date")
    _not_before(day, "date", inspection.date, "the inspection", "C4 integrity")
    _not_future(day, "date", ctx.now, "C4 integrity")
    return []


def _close_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C4: close when published, every team inspector declared, every order settled."""
    args = ctx.args
    _members(args, "C4 args", ("case_id", "date"))
    case = _open_case(ctx)
    if not case.publications:
        raise RuleError("C4 close", "a case closes after its result is published "
                        "(ResultPublished)", field="case_id")
    missing = [x for x in case.team if x not in case.declarations]
    if missing:
        raise RuleError("C4 close", f"integrity declarations (廉洁承诺) missing from {missing}",
                        field="case_id")
    for order in case.orders.values():
        if not case.order_settled(order):
            raise RuleError(
                "C4 close", f"rectification {order.order!r} is neither verified nor, once "
                "overdue, followed up (约谈, 处罚 or 移交)", field="case_id",
            )
    day = _date(args, "date")
    last = max((p.date for p in case.publications if p.date is not None), default=None)
    if last is not None:
        _not_before(day, "date", last, "the publication", "C4 close")
    _not_future(day, "date", ctx.now, "C4 close")
    return []


# ---------------------------------------------------------------------------
# C7 reports


def _report_target(ctx: _Ctx) -> _Target:
    report_id = _ident(ctx.args, "report_id", "C7 args")
    return _Target(f"report/{report_id}", ctx.args)


def _report_rules(ctx: _Ctx, target: _Target) -> list[Pending]:
    """C7: a new report id, its SHA-256, and the tree size and root it covers."""
    args = ctx.args
    _members(args, "C7 args", ("report_id", "kind", "plan_no", "sha256", "tree_size", "root"))
    if args["report_id"] in ctx.state.reports:
        raise RuleError("C7 report", f"report {args['report_id']!r} is already published",
                        field="report_id")
    _text(args, "kind", "C7 args", max_len=64)
    plan_no = args["plan_no"]
    if plan_no is not None and plan_no not in ctx.state.plans:
        raise RuleError("C7 report", f"plan {plan_no!r} is not imported", field="plan_no")
    for name in ("sha256", "root"):
        if not isinstance(args[name], str) or not _HEX64.fullmatch(args[name]):
            raise FormatError("C7 report", "expected 64 lowercase hex characters", field=name)
    size = args["tree_size"]
    if isinstance(size, bool) or not isinstance(size, int):
        raise FormatError("C7 report", f"tree_size must be an integer, got {size!r}",
                          field="tree_size")
    if not 1 <= size <= ctx.log.size:
        raise RuleError("C7 report", f"tree_size {size} is outside the log (1..{ctx.log.size})",
                        field="tree_size")
    if size == ctx.log.size:
        root = ctx.log.root()
    elif ctx.root_at is not None:
        root = ctx.root_at(size)
    else:
        raise RuleError("C7 report", f"the root at tree_size {size} cannot be checked here; "
                        f"report at the current size {ctx.log.size}", field="tree_size")
    if args["root"] != root.hex():
        raise RuleError("C7 report", f"root is not the Merkle root of the log at tree_size "
                        f"{size} ({root.hex()})", field="root")
    return []


# ---------------------------------------------------------------------------
# The action table (A12 order)

_ACTIONS: dict[str, tuple[Callable[[_Ctx], _Target], _Rules]] = {
    "keys.register": (_key_target, _no_rules),
    "keys.revoke": (_key_target, _no_rules),
    "calendar.set": (_calendar_target, _calendar_rules),
    "departments.register": (_fixed("registry/departments"), _department_rules),
    "enterprises.import": (_fixed("registry/enterprises"), _enterprises_rules),
    "enterprises.update": (_fixed("registry/enterprises"), _enterprise_update_rules),
    "inspectors.import": (_fixed("registry/inspectors"), _inspectors_rules),
    "inspectors.update": (_fixed("registry/inspectors"), _inspector_update_rules),
    "conflicts.declare": (_fixed("registry/conflicts"), _conflict_rules),
    "plans.import": (_plan_target, _plan_rules),
    "draws.schedule": (_draw_target, _schedule_rules),
    "draws.commit": (_draw_target, _commit_rules),
    "draws.reveal": (_draw_target, _reveal_rules),
    "draws.void": (_draw_target, _void_rules),
    "cases.recuse": (_recuse_target, _recuse_rules),
    "cases.record_inspection": (_case_target, _inspection_rules),
    "cases.record_finding": (_case_target, _finding_rules),
    "cases.order_rectification": (_case_target, _order_rules),
    "cases.verify_rectification": (_case_target, _verify_rules),
    "cases.record_interview": (_case_target, _interview_rules),
    "cases.decide_penalty": (_case_target, _penalty_rules),
    "cases.refer": (_case_target, _refer_rules),
    "cases.acknowledge_referral": (_case_target, _acknowledge_rules),
    "cases.expose": (_case_target, _expose_rules),
    "cases.publish": (_case_target, _publish_rules),
    "cases.declare_integrity": (_case_target, _integrity_rules),
    "cases.close": (_case_target, _close_rules),
    "reports.publish": (_report_target, _report_rules),
}


# ---------------------------------------------------------------------------
# The scheduler tick (A12 system entries, C4, C5)


def due_system_entries(
    state: DomainState, log: LogState, *, now: datetime
) -> list[Pending]:
    """``RectificationOverdue`` and ``PublicationOverdue`` entries owed at ``now`` (A12).

    For every open case of a draw that was not voided, in the order cases
    were opened:

    - each order whose deadline (a Beijing date) is before today's Beijing
      date, without ``RectificationVerified`` and not yet overdue, gives
      ``RectificationOverdue {"case_id", "order", "deadline"}``;
    - an inspected case without ``ResultPublished`` whose publication
      deadline — the plan's rule (C5, the seed's 7 工作日) counted from the
      inspection's end date on the ``WorkCalendarSet`` calendars only — is
      before today gives ``PublicationOverdue {"case_id", "deadline"}`` once.

    Raises ``RuleError`` (rule ``C5 calendar``, field ``case_id``) when a day
    that must be counted lies in a year with no ``WorkCalendarSet``: a
    deadline is never guessed.
    """
    today = beijing_date(now)
    calendar: WorkCalendar | None = None
    out: list[Pending] = []
    for case in state.cases.values():
        if case.void or case.closed:
            continue
        for order in case.orders.values():
            if (order.verified_index is None and order.overdue_index is None
                    and today > order.deadline):
                out.append(Pending(case.stream, "RectificationOverdue", {
                    "case_id": case.case_id, "order": order.order,
                    "deadline": order.deadline.isoformat(),
                }, None))
        inspection = case.inspection
        if (inspection is None or case.publications
                or case.publication_overdue_index is not None or today <= inspection.end_date):
            continue
        plan = state.plan_of(case.task_id)
        days, unit = (plan.publication_days, plan.publication_unit) if plan else (7, "工作日")
        missing = [y for y in range(inspection.end_date.year, today.year + 1)
                   if y not in state.calendars]
        if missing:
            raise RuleError(
                "C5 calendar", f"case {case.case_id}: the publication deadline counts days of "
                f"{missing[0]}, which has no WorkCalendarSet entry; log that year's calendar "
                "(a deadline is never guessed)", field="case_id",
            )
        if calendar is None:
            calendar = WorkCalendar(state.calendars)
        try:
            deadline = calendar.deadline(inspection.end_date, days, unit)
        except RuleError:
            continue  # the count runs past every year up to today: not due yet
        if today > deadline:
            out.append(Pending(case.stream, "PublicationOverdue", {
                "case_id": case.case_id, "deadline": deadline.isoformat(),
            }, None))
    return out
