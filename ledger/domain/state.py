"""The write side's domain state: a fold over every entry of the log (DESIGN.md Part C).

``DomainState.apply(entry)`` folds one accepted entry (A4) into the facts the
Part C rules need: the registries (C1), the calendars (C5), plans and tasks
(C2), draws (C3), cases with their lifecycle (C4) and published reports (C7).
Only accepted entries are ever applied — a refused command never reaches the
fold — so the state is a pure function of the log prefix and anyone can
rebuild it from index 0 (B4).

The fold trusts its input: the entries were checked by ``ledger.replay`` (Part
A) and by ``ledger.domain.decide`` (Part C) before they were appended. It is
nevertheless tolerant of data with fewer fields than ours (the conformance
bundles of other implementations, ``tests/vectors/bundles``), reading optional
members with ``.get``. Each ``apply`` costs O(size of the entry's data).

Standard library only (the verifier's light path, B2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from ledger.domain.registry import normalise_result
from ledger.errors import FormatError
from ledger.times import parse_time

Day = date
"""Alias of ``datetime.date`` for dataclasses that have a field named ``date``."""

BEIJING = timezone(timedelta(hours=8), "UTC+08:00")
"""China Standard Time: dates of the domain (inspections, deadlines) are Beijing dates."""

Entry = dict[str, Any]


def beijing_date(moment: datetime | str) -> date:
    """The Beijing calendar date (UTC+8) of an aware time or an A1 time string."""
    when = parse_time(moment, field="logged_at") if isinstance(moment, str) else moment
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(BEIJING).date()


def _date(text: object) -> date | None:
    """A ``YYYY-MM-DD`` string as a date, or None when absent or malformed (tolerant fold)."""
    if not isinstance(text, str):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


# ---------------------------------------------------------------------------
# C1 registries


@dataclass(frozen=True)
class Department:
    """A registered department (部门), e.g. 县应急管理局."""

    id: str
    name: str
    index: int


@dataclass(frozen=True)
class Enterprise:
    """An entry of the 监管主体名录库 (enterprise registry), keyed by 统一社会信用代码."""

    usc: str
    name: str
    sector: str | None
    town: str | None
    grade: str | None
    status: str

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True)
class Inspector:
    """An entry of the 执法人员名录库 (inspector registry)."""

    id: str
    name: str | None
    cert_no: str | None
    department: str | None
    active: bool


@dataclass(frozen=True)
class Conflict:
    """A conflict-of-interest declaration (利害关系, 回避): inspector x enterprise."""

    inspector: str
    enterprise: str
    reason: str
    index: int


# ---------------------------------------------------------------------------
# C2 plans and tasks


@dataclass(frozen=True)
class Task:
    """One task (抽查任务) of an imported plan; ``data`` is the task object as logged."""

    task_id: str
    plan_no: str
    data: dict[str, Any]

    @property
    def kind(self) -> str | None:
        """``"directed"`` (定向), ``"undirected"`` (不定向) or None (blank 抽查类型)."""
        kind = self.data.get("kind")
        return kind if isinstance(kind, str) else None

    @property
    def sectors(self) -> tuple[str, ...]:
        return tuple(self.data.get("sectors") or ())

    @property
    def initiator(self) -> str | None:
        value = self.data.get("initiator")
        return value if isinstance(value, str) else None

    @property
    def joint_departments(self) -> tuple[str, ...]:
        return tuple(self.data.get("joint_departments") or ())

    @property
    def window(self) -> tuple[date | None, date | None]:
        """The task's 抽查时间 as (first day, last day)."""
        return _date(self.data.get("window_start")), _date(self.data.get("window_end"))

    def ratio_for(self, grade: str) -> str | None:
        """The sampling ratio (抽查比例) for a credit-risk grade, or None if the plan has none."""
        ratio = self.data.get("ratio")
        if isinstance(ratio, str):
            return ratio
        grades = self.data.get("grade_ratios")
        if isinstance(grades, dict):
            value = grades.get(grade)
            return value if isinstance(value, str) else None
        return None


@dataclass(frozen=True)
class Plan:
    """An imported annual plan (年度抽查工作计划) with its 一公开 deadline rule (C5)."""

    plan_no: str
    name: str | None
    task_ids: tuple[str, ...]
    publication_days: int
    publication_unit: str
    index: int


# ---------------------------------------------------------------------------
# C3 draws

DRAW_SCHEDULED = "scheduled"
DRAW_COMMITTING = "committing"
DRAW_REVEALING = "revealing"
DRAW_PERFORMED = "performed"
DRAW_VOIDED = "voided"


@dataclass
class Draw:
    """A draw (抽签) from ``DrawScheduled`` to ``DrawPerformed`` or ``DrawVoided`` (A11, C3)."""

    draw_id: str
    task_id: str | None
    replaces: str | None
    scheduled: dict[str, Any]
    index: int
    parties: dict[str, str] = field(default_factory=dict)  # party -> key id
    commitments: dict[str, str] = field(default_factory=dict)  # party -> commitment hex
    reveals: dict[str, str] = field(default_factory=dict)  # party -> secret hex
    performed: dict[str, Any] | None = None
    performed_index: int | None = None
    voided_reason: str | None = None
    voided_index: int | None = None
    voided_by: str | None = None  # key id of the signer of DrawVoided
    replaced_by: str | None = None
    case_ids: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """scheduled / committing / revealing / performed / voided."""
        if self.voided_index is not None:
            return DRAW_VOIDED
        if self.performed is not None:
            return DRAW_PERFORMED
        if self.reveals:
            return DRAW_REVEALING
        if self.commitments:
            return DRAW_COMMITTING
        return DRAW_SCHEDULED

    @property
    def voided(self) -> bool:
        return self.voided_index is not None

    def selection(self) -> list[dict[str, Any]]:
        """``DrawPerformed.selection`` (empty before the draw is performed)."""
        return list((self.performed or {}).get("selection") or [])

    def teams(self) -> list[dict[str, Any]]:
        """``DrawPerformed.teams`` (empty before the draw is performed)."""
        return list((self.performed or {}).get("teams") or [])


# ---------------------------------------------------------------------------
# C4 cases


@dataclass(frozen=True)
class Inspection:
    """``InspectionRecorded``: the visit (现场检查), its dates, who was there, the items."""

    date: Day
    end_date: Day
    inspectors: tuple[str, ...]
    items: tuple[str, ...]
    index: int


@dataclass(frozen=True)
class Finding:
    """``FindingRecorded`` for one check item (抽查事项)."""

    item: str
    result: str
    hazard: str | None
    text: str | None
    evidence: tuple[str, ...]
    problem: bool
    index: int


@dataclass
class Order:
    """``RectificationOrdered``: a 限期整改通知书 with its deadline, and what followed."""

    order: str
    date: Day
    deadline: Day
    items: tuple[str, ...]
    index: int
    verified_date: Day | None = None
    verified_index: int | None = None
    overdue_index: int | None = None


@dataclass(frozen=True)
class Interview:
    """``InterviewHeld``: a 约谈 with the principal; outcome ``agreed`` or ``refused``."""

    date: Day | None
    person: str | None
    outcome: str
    index: int


@dataclass(frozen=True)
class Penalty:
    """``PenaltyDecided``: a 行政处罚决定书 (decision number, amount in fen)."""

    decision: str
    date: Day | None
    amount_fen: int
    basis: str | None
    index: int


@dataclass(frozen=True)
class Exposure:
    """``Exposed``: public naming (曝光)."""

    date: Day | None
    where: str | None
    index: int


@dataclass
class Referral:
    """``Referred``: case clues (案件线索) handed to a receiving body, and its acknowledgement."""

    referral: str
    to: str | None
    summary: str | None
    date: Day | None
    index: int
    acknowledged_date: Day | None = None
    acknowledged_index: int | None = None


@dataclass(frozen=True)
class Publication:
    """``ResultPublished`` (一公开): where and when the result was published."""

    date: Day | None
    where: str | None
    correction: bool
    index: int


@dataclass(frozen=True)
class Declaration:
    """``IntegrityDeclared``: one inspector's 廉洁承诺 (no banquet, gift or money)."""

    inspector: str
    date: Day | None
    index: int


@dataclass(frozen=True)
class Recusal:
    """``InspectorRecused`` with the drawn replacement (C3)."""

    inspector: str
    reason: str | None
    replacement: str | None
    index: int


CASE_OPENED = "opened"
CASE_INSPECTED = "inspected"
CASE_PUBLISHED = "published"
CASE_CLOSED = "closed"
CASE_VOID = "void"


@dataclass
class Case:
    """One case per (task, enterprise) selected by a draw: ``case/<draw_id>:<usc>`` (C4)."""

    case_id: str
    draw_id: str
    task_id: str | None
    enterprise: str
    team: list[str]
    opened_index: int
    opened_date: Day
    inspection: Inspection | None = None
    findings: dict[str, Finding] = field(default_factory=dict)  # item -> finding
    orders: dict[str, Order] = field(default_factory=dict)  # order number -> order
    interviews: list[Interview] = field(default_factory=list)
    penalties: list[Penalty] = field(default_factory=list)
    exposures: list[Exposure] = field(default_factory=list)
    referrals: dict[str, Referral] = field(default_factory=dict)
    publications: list[Publication] = field(default_factory=list)
    publication_overdue_index: int | None = None
    declarations: dict[str, Declaration] = field(default_factory=dict)  # inspector -> decl.
    recusals: list[Recusal] = field(default_factory=list)
    follow_up_indexes: list[int] = field(default_factory=list)  # 约谈/处罚/移交 entries
    closed_index: int | None = None
    closed_date: Day | None = None
    void: bool = False

    @property
    def stream(self) -> str:
        return f"case/{self.case_id}"

    @property
    def closed(self) -> bool:
        return self.closed_index is not None

    @property
    def status(self) -> str:
        """void / closed / published / inspected / opened (the furthest milestone)."""
        if self.void:
            return CASE_VOID
        if self.closed:
            return CASE_CLOSED
        if self.publications:
            return CASE_PUBLISHED
        if self.inspection is not None:
            return CASE_INSPECTED
        return CASE_OPENED

    def has_problem(self) -> bool:
        """True when some finding reports a problem (anything but 未发现问题-like results)."""
        return any(f.problem for f in self.findings.values())

    def major_hazard(self) -> bool:
        """True when some finding is a 重大事故隐患 (major hazard)."""
        return any(f.hazard == "重大" for f in self.findings.values())

    def refused_after_interview(self) -> bool:
        """True when a 约谈 ended with the enterprise refusing to rectify."""
        return any(i.outcome == "refused" for i in self.interviews)

    def order_settled(self, order: Order) -> bool:
        """Verified, or overdue and followed up (约谈, 处罚 or 移交 logged after the overdue)."""
        if order.verified_index is not None:
            return True
        if order.overdue_index is None:
            return False
        return any(i > order.overdue_index for i in self.follow_up_indexes)


# ---------------------------------------------------------------------------
# The fold

# Results that report no problem (DOMAIN.md §2 codes 1, F, and the closed/struck-off codes).
NO_PROBLEM_RESULTS = frozenset(
    {
        "未发现问题",
        "未发现开展本次抽查涉及的经营活动",
        "已关闭停业或正在组织清算",
        "注销",
        "被吊销",
        "被撤销",
        "迁出",
    }
)


def result_is_problem(label: str) -> bool:
    """True when a canonical result label reports a problem found (发现问题…, 违反…, 不配合…)."""
    return label not in NO_PROBLEM_RESULTS


def _canonical_result(text: object) -> str:
    if not isinstance(text, str):
        return ""
    try:
        return normalise_result(text)
    except FormatError:
        return text


class DomainState:
    """Registries, calendars, plans, draws, cases and reports folded from the log (Part C)."""

    def __init__(self) -> None:
        self.size = 0
        self.departments: dict[str, Department] = {}
        self.enterprises: dict[str, Enterprise] = {}
        self.inspectors: dict[str, Inspector] = {}
        self.conflicts: list[Conflict] = []
        self.conflict_pairs: set[tuple[str, str]] = set()
        self.calendars: dict[int, dict[str, Any]] = {}
        self.plans: dict[str, Plan] = {}
        self.tasks: dict[str, Task] = {}
        self.draws: dict[str, Draw] = {}
        self.draws_by_task: dict[str, list[str]] = {}
        self.cases: dict[str, Case] = {}
        self.reports: dict[str, dict[str, Any]] = {}
        self._handlers = {
            "DepartmentRegistered": self._department,
            "EnterprisesImported": self._enterprises,
            "EnterpriseUpdated": self._enterprise_updated,
            "InspectorsImported": self._inspectors,
            "InspectorUpdated": self._inspector_updated,
            "ConflictDeclared": self._conflict,
            "WorkCalendarSet": self._calendar,
            "PlanImported": self._plan,
            "DrawScheduled": self._draw_scheduled,
            "DrawCommitted": self._draw_committed,
            "DrawRevealed": self._draw_revealed,
            "DrawPerformed": self._draw_performed,
            "DrawVoided": self._draw_voided,
            "CaseOpened": self._case_opened,
            "InspectorRecused": self._recused,
            "InspectionRecorded": self._inspection,
            "FindingRecorded": self._finding,
            "RectificationOrdered": self._ordered,
            "RectificationVerified": self._verified,
            "RectificationOverdue": self._rectification_overdue,
            "InterviewHeld": self._interview,
            "PenaltyDecided": self._penalty,
            "Exposed": self._exposed,
            "Referred": self._referred,
            "ReferralAcknowledged": self._acknowledged,
            "ResultPublished": self._published,
            "PublicationOverdue": self._publication_overdue,
            "IntegrityDeclared": self._integrity,
            "CaseClosed": self._closed,
            "ReportPublished": self._report,
        }

    def apply(self, entry: Entry) -> None:
        """Fold one accepted entry (A4 object); entries must come in index order.

        Entry types the domain does not track (keys, genesis) only advance
        ``size``. Raises ``AssertionError`` when an entry arrives out of order.
        """
        index = entry["index"]
        if index != self.size:
            raise AssertionError(f"bad math: entry {index} applied at size {self.size}")
        handler = self._handlers.get(entry["type"])
        if handler is not None:
            handler(entry, entry["data"], index)
        self.size = index + 1

    # -- lookups used by decide ------------------------------------------------
    def case(self, case_id: str) -> Case | None:
        return self.cases.get(case_id)

    def draw(self, draw_id: str) -> Draw | None:
        return self.draws.get(draw_id)

    def latest_draw(self, task_id: str) -> Draw | None:
        """The most recently scheduled draw of a task, or None."""
        ids = self.draws_by_task.get(task_id)
        return self.draws[ids[-1]] if ids else None

    def plan_of(self, task_id: str | None) -> Plan | None:
        task = self.tasks.get(task_id or "")
        return self.plans.get(task.plan_no) if task is not None else None

    # -- C1 -------------------------------------------------------------------
    def _department(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        dep = data["department"]
        self.departments[dep] = Department(dep, str(data.get("name", "")), index)

    def _enterprises(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        for row in data.get("rows", []):
            self.enterprises[row["usc"]] = Enterprise(
                usc=row["usc"],
                name=str(row.get("name", "")),
                sector=row.get("sector"),
                town=row.get("town"),
                grade=row.get("grade"),
                status=row.get("status", "active"),
            )

    def _enterprise_updated(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        old = self.enterprises.get(data["usc"])
        if old is None:
            return
        self.enterprises[old.usc] = Enterprise(
            usc=old.usc,
            name=data.get("name", old.name),
            sector=data.get("sector", old.sector),
            town=data.get("town", old.town),
            grade=data.get("grade", old.grade),
            status=data.get("status", old.status),
        )

    def _inspectors(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        for row in data.get("rows", []):
            self.inspectors[row["id"]] = Inspector(
                id=row["id"],
                name=row.get("name"),
                cert_no=row.get("cert_no"),
                department=row.get("department"),
                active=bool(row.get("active", True)),
            )

    def _inspector_updated(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        old = self.inspectors.get(data["id"])
        if old is None:
            return
        self.inspectors[old.id] = Inspector(
            id=old.id,
            name=data.get("name", old.name),
            cert_no=data.get("cert_no", old.cert_no),
            department=data.get("department", old.department),
            active=bool(data.get("active", old.active)),
        )

    def _conflict(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        pair = (data["inspector"], data["enterprise"])
        self.conflicts.append(Conflict(pair[0], pair[1], str(data.get("reason", "")), index))
        self.conflict_pairs.add(pair)

    # -- C5 calendars ----------------------------------------------------------
    def _calendar(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        self.calendars[data["year"]] = data

    # -- C2 plans -------------------------------------------------------------
    def _plan(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        plan_no = data["plan_no"]
        task_ids = []
        for task in data.get("tasks", []):
            task_id = task["task_id"]
            self.tasks[task_id] = Task(task_id, plan_no, task)
            task_ids.append(task_id)
        publication = data.get("publication") or {}
        self.plans[plan_no] = Plan(
            plan_no=plan_no,
            name=data.get("plan_name"),
            task_ids=tuple(task_ids),
            publication_days=int(publication.get("days", 7)),
            publication_unit=str(publication.get("unit", "工作日")),
            index=index,
        )

    # -- C3 draws -------------------------------------------------------------
    def _draw_scheduled(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        draw_id = data["draw_id"]
        draw = Draw(
            draw_id=draw_id,
            task_id=data.get("task_id"),
            replaces=data.get("replaces"),
            scheduled=data,
            index=index,
            parties={p["party"]: p["key"] for p in data.get("parties", [])},
        )
        self.draws[draw_id] = draw
        if draw.task_id is not None:
            self.draws_by_task.setdefault(draw.task_id, []).append(draw_id)
        if draw.replaces in self.draws:
            self.draws[draw.replaces].replaced_by = draw_id

    def _draw_committed(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        self.draws[data["draw_id"]].commitments[data["party"]] = data["commitment"]

    def _draw_revealed(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        self.draws[data["draw_id"]].reveals[data["party"]] = data["secret"]

    def _draw_performed(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        draw = self.draws[data["draw_id"]]
        draw.performed = data
        draw.performed_index = index

    def _draw_voided(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        draw = self.draws[data["draw_id"]]
        draw.voided_reason = data.get("reason")
        draw.voided_index = index
        command = entry.get("command") or {}
        draw.voided_by = command.get("key")
        for case_id in draw.case_ids:
            self.cases[case_id].void = True

    # -- C4 cases -------------------------------------------------------------
    def _case_opened(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        case_id = entry["stream"].split("/", 1)[1]
        draw_id = data.get("draw_id", case_id.split(":", 1)[0])
        draw = self.draws.get(draw_id)
        task_id = data.get("task_id", draw.task_id if draw is not None else None)
        self.cases[case_id] = Case(
            case_id=case_id,
            draw_id=draw_id,
            task_id=task_id,
            enterprise=data["enterprise"],
            team=list(data.get("inspectors", [])),
            opened_index=index,
            opened_date=beijing_date(entry["logged_at"]),
        )
        if draw is not None:
            draw.case_ids.append(case_id)

    def _case(self, entry: Entry) -> Case:
        return self.cases[entry["stream"].split("/", 1)[1]]

    def _recused(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        case = self._case(entry)
        out = data["inspector"]
        replacement = data.get("replacement")
        case.recusals.append(Recusal(out, data.get("reason"), replacement, index))
        if out in case.team:
            at = case.team.index(out)
            if replacement is None:
                del case.team[at]
            else:
                case.team[at] = replacement

    def _inspection(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        case = self._case(entry)
        day = _date(data.get("date")) or beijing_date(entry["logged_at"])
        case.inspection = Inspection(
            date=day,
            end_date=_date(data.get("end_date")) or day,
            inspectors=tuple(data.get("inspectors", [])),
            items=tuple(data.get("items", [])),
            index=index,
        )

    def _finding(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        case = self._case(entry)
        result = _canonical_result(data.get("result"))
        item = str(data.get("item", ""))
        case.findings[item] = Finding(
            item=item,
            result=result,
            hazard=data.get("hazard"),
            text=data.get("text"),
            evidence=tuple(data.get("evidence", [])),
            problem=result_is_problem(result),
            index=index,
        )

    def _ordered(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        case = self._case(entry)
        day = _date(data.get("date")) or beijing_date(entry["logged_at"])
        case.orders[data["order"]] = Order(
            order=data["order"],
            date=day,
            deadline=_date(data.get("deadline")) or day,
            items=tuple(data.get("items", [])),
            index=index,
        )

    def _verified(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        order = self._case(entry).orders.get(data.get("order", ""))
        if order is not None:
            order.verified_date = _date(data.get("date"))
            order.verified_index = index

    def _rectification_overdue(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        case = self._case(entry)
        name = data.get("order")
        for order in case.orders.values():
            if (name is None or order.order == name) and order.overdue_index is None:
                order.overdue_index = index

    def _interview(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        case = self._case(entry)
        case.interviews.append(
            Interview(_date(data.get("date")), data.get("person"), str(data.get("outcome")), index)
        )
        case.follow_up_indexes.append(index)

    def _penalty(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        case = self._case(entry)
        case.penalties.append(
            Penalty(
                decision=str(data.get("decision", "")),
                date=_date(data.get("date")),
                amount_fen=int(data.get("amount_fen", 0)),
                basis=data.get("basis"),
                index=index,
            )
        )
        case.follow_up_indexes.append(index)

    def _exposed(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        self._case(entry).exposures.append(
            Exposure(_date(data.get("date")), data.get("where"), index)
        )

    def _referred(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        case = self._case(entry)
        name = str(data.get("referral", index))
        case.referrals[name] = Referral(
            referral=name,
            to=data.get("to"),
            summary=data.get("summary"),
            date=_date(data.get("date")),
            index=index,
        )
        case.follow_up_indexes.append(index)

    def _acknowledged(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        referral = self._case(entry).referrals.get(str(data.get("referral", "")))
        if referral is not None:
            referral.acknowledged_date = _date(data.get("date"))
            referral.acknowledged_index = index

    def _published(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        self._case(entry).publications.append(
            Publication(
                date=_date(data.get("date")),
                where=data.get("where"),
                correction=bool(data.get("correction", False)),
                index=index,
            )
        )

    def _publication_overdue(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        case = self._case(entry)
        if case.publication_overdue_index is None:
            case.publication_overdue_index = index

    def _integrity(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        case = self._case(entry)
        inspector = data["inspector"]
        case.declarations[inspector] = Declaration(inspector, _date(data.get("date")), index)

    def _closed(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        case = self._case(entry)
        case.closed_index = index
        case.closed_date = _date(data.get("date")) or beijing_date(entry["logged_at"])

    # -- C7 reports -----------------------------------------------------------
    def _report(self, entry: Entry, data: dict[str, Any], index: int) -> None:
        self.reports[data["report_id"]] = {**data, "index": index}
