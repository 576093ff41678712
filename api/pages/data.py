"""What the pages read: projections folded in memory up to the latest checkpoint (DESIGN.md B4, C6).

:class:`PageData` keeps, for one open :class:`~ledger.store.ledger.Ledger`,
the states of the ``register``, ``cases``, ``compliance`` and ``fairness``
folds of :mod:`projections` and of :class:`PublicFold` (draws and the public
part of case records), and brings them up to the size of the latest signed
checkpoint before each page.  Every page therefore shows the log as of one
tree size, the one it prints, and a reader can check any entry it cites
against that checkpoint.

:class:`PublicFold` keeps only public fields of case entries (a whitelist per
entry type, :data:`PUBLIC_CASE_FIELDS`): no finding texts, evidence hashes,
hazard levels, conflict or recusal reasons, referral summaries, penalty
details or key ids ever reach it, so a page cannot leak them by a formatting
mistake.

Dates are shown in Beijing time (``Asia/Shanghai``); the log keeps UTC (A1).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from ledger.entries import leaf_hash
from ledger.store.ledger import Ledger
from ledger.store.projection_runner import parse_stored_entry
from projections.fold import Projection
from projections.registry import PROJECTIONS

__all__ = [
    "BEIJING",
    "CASE_STATUS_LABELS",
    "DRAW_STATUS_LABELS",
    "ENTRY_LABELS",
    "FOLDS",
    "PUBLIC_CASE_FIELDS",
    "PageData",
    "PublicFold",
    "Snapshot",
    "beijing_time",
    "percent",
]

State = dict[str, Any]
Entry = dict[str, Any]

BEIJING = ZoneInfo("Asia/Shanghai")
"""China Standard Time, in which every page shows times (the log keeps UTC)."""

FOLDS = ("register", "cases", "compliance", "fairness")
"""The :data:`projections.registry.PROJECTIONS` the pages read."""

PUBLIC_CASE_FIELDS: dict[str, tuple[str, ...]] = {
    "CaseOpened": ("enterprise", "inspectors"),
    "InspectorRecused": ("inspector", "replacement"),
    "InspectionRecorded": ("date", "end_date", "inspectors", "items"),
    "FindingRecorded": ("item", "result"),
    "RectificationOrdered": ("date", "deadline", "items"),
    "RectificationVerified": ("date",),
    "RectificationOverdue": ("deadline",),
    "InterviewHeld": ("date",),
    "PenaltyDecided": ("date",),
    "Exposed": ("date", "where"),
    "Referred": ("date",),
    "ReferralAcknowledged": ("date",),
    "ResultPublished": ("date", "where", "correction"),
    "PublicationOverdue": ("deadline",),
    "IntegrityDeclared": ("inspector", "date"),
    "CaseClosed": ("date",),
}
"""Entry type of a ``case/...`` stream -> the data fields a public page may show."""

ENTRY_LABELS: dict[str, str] = {
    "LedgerGenesis": "日志创建",
    "KeyRegistered": "登记密钥",
    "KeyRevoked": "吊销密钥",
    "WorkCalendarSet": "设置工作日历",
    "DepartmentRegistered": "登记部门",
    "EnterprisesImported": "导入监管主体名录",
    "EnterpriseUpdated": "更新监管主体",
    "InspectorsImported": "导入执法人员名录",
    "InspectorUpdated": "更新执法人员",
    "ConflictDeclared": "回避声明",
    "PlanImported": "导入抽查计划",
    "DrawScheduled": "安排抽签",
    "DrawCommitted": "提交随机数承诺",
    "DrawRevealed": "揭示随机数",
    "DrawPerformed": "完成抽取",
    "DrawVoided": "抽签作废",
    "CaseOpened": "生成检查案件",
    "InspectorRecused": "检查人员回避",
    "InspectionRecorded": "现场检查",
    "FindingRecorded": "检查结果",
    "RectificationOrdered": "责令限期整改",
    "RectificationVerified": "整改复查",
    "RectificationOverdue": "整改逾期",
    "InterviewHeld": "约谈",
    "PenaltyDecided": "行政处罚",
    "Exposed": "曝光",
    "Referred": "移交案件线索",
    "ReferralAcknowledged": "确认接收线索",
    "ResultPublished": "结果公示",
    "PublicationOverdue": "公示逾期",
    "IntegrityDeclared": "廉洁承诺",
    "CaseClosed": "结案",
    "ReportPublished": "发布报告",
}
"""Chinese names of the entry types (A12)."""

DRAW_STATUS_LABELS = {
    "scheduled": "已安排",
    "committing": "提交承诺中",
    "revealing": "揭示中",
    "performed": "已抽取",
    "voided": "已作废",
}
CASE_STATUS_LABELS = {
    "opened": "待检查",
    "inspected": "已检查",
    "published": "已公示",
    "closed": "已结案",
    "void": "已作废",
}


def beijing_time(logged_at: str | None, *, seconds: bool = False) -> str:
    """An A1 UTC time string as ``YYYY-MM-DD HH:MM`` Beijing time ('' when absent)."""
    if not logged_at:
        return ""
    try:
        moment = datetime.strptime(logged_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return logged_at
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S" if seconds else
                                                "%Y-%m-%d %H:%M")


def percent(ratio: object) -> str:
    """A ratio string such as ``"0.05"`` as ``"5%"`` (the text itself when not a number)."""
    if not isinstance(ratio, str):
        return "" if ratio is None else str(ratio)
    try:
        value = Decimal(ratio) * 100
    except InvalidOperation:
        return ratio
    return format(value.normalize(), "f") + "%"


# ---------------------------------------------------------------------------
# The public fold: draws and the public part of case records


def _draw(state: State, entry: Entry) -> State | None:
    draw: State | None = state["draws"].get(entry["data"].get("draw_id"))
    return draw


class PublicFold:
    """``pages``: draws as the task pages show them and whitelisted case records.

    State (JSON)::

        {"draws": {draw_id: {"draw_id", "task_id", "replaces", "replaced_by", "index",
                   "logged_at", "parties": [{"party", "key"}], "strata": [...],
                   "commitments": {party: {"commitment", "index"}},
                   "reveals": {party: {"secret", "index"}},
                   "performed": null | {"index", "logged_at", "checkpoint", "seed",
                                        "selection", "teams"},
                   "voided": null | {"index", "logged_at", "reason", "key"}}},
         "tasks": {task_id: [draw_id, ...]},
         "case_log": {case_id: [{"index", "type", "logged_at", "data": {public fields}}]},
         "reports": {report_id: {...ReportPublished data, "index", "logged_at"}},
         "last": null | {"index", "logged_at"}}
    """

    name = "pages"
    version = 1

    def initial(self) -> State:
        return {"draws": {}, "tasks": {}, "case_log": {}, "reports": {}, "last": None}

    def apply(self, state: State, entry: Entry) -> State:
        """Fold one entry (in index order); updates ``state`` in place and returns it."""
        kind = entry["type"]
        stream: str = entry["stream"]
        if stream.startswith("case/"):
            fields = PUBLIC_CASE_FIELDS.get(kind, ())
            data = entry["data"]
            state["case_log"].setdefault(stream[5:], []).append({
                "index": entry["index"], "type": kind, "logged_at": entry["logged_at"],
                "data": {name: data[name] for name in fields if name in data},
            })
        elif kind == "DrawScheduled":
            self._scheduled(state, entry)
        elif kind == "ReportPublished":
            data = entry["data"]
            state["reports"][str(data.get("report_id"))] = {
                **data, "index": entry["index"], "logged_at": entry["logged_at"]}
        elif kind in ("DrawCommitted", "DrawRevealed", "DrawPerformed", "DrawVoided"):
            draw = _draw(state, entry)
            if draw is not None:
                self._draw_step(draw, entry)
        state["last"] = {"index": entry["index"], "logged_at": entry["logged_at"]}
        return state

    @staticmethod
    def _scheduled(state: State, entry: Entry) -> None:
        data = entry["data"]
        draw_id = data["draw_id"]
        state["draws"][draw_id] = {
            "draw_id": draw_id,
            "task_id": data.get("task_id"),
            "replaces": data.get("replaces"),
            "replaced_by": None,
            "index": entry["index"],
            "logged_at": entry["logged_at"],
            "parties": [{"party": p.get("party"), "key": p.get("key")}
                        for p in data.get("parties", [])],
            "strata": [{"stratum": s.get("stratum"), "ratio": s.get("ratio"),
                        "size": len(s.get("candidates", []))}
                       for s in data.get("strata", [])],
            "team_size": data.get("team_size"),
            "required_departments": list(data.get("required_departments", [])),
            "commitments": {},
            "reveals": {},
            "performed": None,
            "voided": None,
        }
        task_id = data.get("task_id")
        if isinstance(task_id, str):
            state["tasks"].setdefault(task_id, []).append(draw_id)
        replaced = state["draws"].get(data.get("replaces") or "")
        if replaced is not None:
            replaced["replaced_by"] = draw_id

    @staticmethod
    def _draw_step(draw: State, entry: Entry) -> None:
        data = entry["data"]
        kind = entry["type"]
        if kind == "DrawCommitted":
            draw["commitments"][data["party"]] = {"commitment": data.get("commitment"),
                                                  "index": entry["index"]}
        elif kind == "DrawRevealed":
            draw["reveals"][data["party"]] = {"secret": data.get("secret"),
                                              "index": entry["index"]}
        elif kind == "DrawPerformed":
            draw["performed"] = {
                "index": entry["index"], "logged_at": entry["logged_at"],
                "checkpoint": data.get("checkpoint"), "seed": data.get("seed"),
                "selection": data.get("selection", []), "teams": data.get("teams", []),
            }
        elif draw["voided"] is None:
            command = entry.get("command") or {}
            draw["voided"] = {"index": entry["index"], "logged_at": entry["logged_at"],
                              "reason": data.get("reason"), "key": command.get("key")}

    def to_json(self, state: State) -> State:
        return state

    def from_json(self, value: Any) -> State:
        if not isinstance(value, dict):
            raise ValueError("projection pages: stored state is not a JSON object")
        return value


# ---------------------------------------------------------------------------
# Snapshots


@dataclass(frozen=True)
class Snapshot:
    """The folded states at one tree size, with that size's signed checkpoint.

    Valid only inside :meth:`PageData.snapshot`'s ``with`` block: the states
    are updated in place by the next catch-up.
    """

    size: int
    root: bytes
    checkpoint: str
    vkey: str | None
    origin: str | None
    genesis_hash: str | None
    states: dict[str, State]

    @property
    def registry(self) -> State:
        """The C1/C2 registry (departments, enterprises, inspectors, plans, tasks)."""
        reg: State = self.states["register"]["registry"]
        return reg

    @property
    def last_logged_at(self) -> str | None:
        last = self.states["pages"]["last"]
        return None if last is None else str(last["logged_at"])

    def department(self, dep: object) -> str:
        """A department's registered name (its id when unregistered, '' for none)."""
        if not isinstance(dep, str):
            return ""
        name = self.registry["departments"].get(dep)
        return str(name) if name else dep

    def inspector(self, inspector: object) -> dict[str, str]:
        """``{"id", "name", "department"}`` of an inspector (department by name)."""
        ident = str(inspector)
        person = self.registry["inspectors"].get(ident) or {}
        return {"id": ident, "name": str(person.get("name") or ident),
                "department": self.department(person.get("department"))}

    def enterprise(self, usc: object) -> dict[str, Any]:
        """``{"usc", "name", "grade", "sector", "town"}`` of an enterprise."""
        ident = str(usc)
        firm = self.registry["enterprises"].get(ident) or {}
        return {"usc": ident, "name": firm.get("name") or ident, "grade": firm.get("grade"),
                "sector": firm.get("sector"), "town": firm.get("town")}

    def key_holder(self, key: object) -> dict[str, str]:
        """``{"name", "department"}`` of a key's holder (A7), from the compliance fold."""
        holder = self.states["compliance"]["keys"].get(str(key)) or {}
        return {"name": str(holder.get("name") or ""),
                "department": self.department(holder.get("department"))}


class PageData:
    """The pages' projections for one ledger, caught up to the latest checkpoint on demand.

    Thread-safe: :meth:`snapshot` holds a lock while the caller reads, so a
    concurrent catch-up never changes a state under a page being built.
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        folds: dict[str, Projection[Any]] = {name: PROJECTIONS[name] for name in FOLDS}
        folds["pages"] = PublicFold()
        self.folds = folds
        self.states: dict[str, State] = {name: fold.initial() for name, fold in folds.items()}
        self.size = 0
        self.root = b""
        self.checkpoint = ""
        self.vkey: str | None = None
        self.origin: str | None = None
        self.genesis_hash: str | None = None
        self._lock = threading.Lock()

    def _catch_up(self) -> None:
        head = self.ledger.head()
        if head is None or head.size <= self.size:
            if head is not None:
                self.root, self.checkpoint = head.root, head.checkpoint
            return
        folds = list(self.folds.items())
        states = self.states
        for index, data in self.ledger.entries(self.size, head.size):
            entry = parse_stored_entry(data)
            if index == 0:
                self.genesis_hash = leaf_hash(data).hex()
                self.vkey = entry["data"].get("log_vkey")
                self.origin = entry["data"].get("origin")
            for name, fold in folds:
                states[name] = fold.apply(states[name], entry)
            self.size = index + 1
        if self.size != head.size:
            raise AssertionError(f"bad math: folded {self.size} entries, checkpoint {head.size}")
        self.root, self.checkpoint = head.root, head.checkpoint

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """Catch up to the latest checkpoint and hold the states still for the ``with`` block."""
        with self._lock:
            self._catch_up()
            yield Snapshot(self.size, self.root, self.checkpoint, self.vkey, self.origin,
                           self.genesis_hash, self.states)
