"""A 2023 season built from the seed's plan table, for the projection tests (DESIGN.md C2-C7).

The seed's appendix (``tests/fixtures/seed_plan.csv``) has three plans of one
task each: 联202301-001 (工贸, 定向), 联202302-002 (危化/加油站, 定向) and
联202303-003 (blank 抽查类型, 2023年9月至11月). The season runs through the
domain's own ``decide`` (``tests.domain_helpers.Harness``): every entry is one
the real store would append. It contains, on purpose, one of each thing the
compliance report (C7) must find:

- draw D1 of task 001 voided by the discipline key, re-drawn as D1R;
- a conflict declared after D1R froze the pool, by an inspector on case A's
  team, who then inspects anyway;
- case A: findings 重大 / 一般 / 未发现问题, penalty and exposure (trigger met),
  a rectification that goes overdue with no follow-up, a referral to 县公安局
  that is never acknowledged;
- case B (an enterprise of grade C, drawn by tasks 001 and 003): a 重大 hazard,
  closed with neither 曝光 nor 处罚;
- case C (task 002): one inspector never signs the 廉洁承诺;
- case D (task 002): inspected, never published (PublicationOverdue);
- case E (task 003, the same enterprise as case B): inspected 2023-09-28,
  published 2023-10-16, after the 2023-10-13 deadline (调休 counted; the
  scheduler logged PublicationOverdue on 2023-10-14) — and a
  second inspection of that enterprise in 2023 (重复检查).

:func:`build` returns the harness and a :class:`Facts` record of the ids and
entry indexes the tests check against.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ledger.domain.plans import parse_plan_rows, plan_entries
from ledger.domain.uscc import make_uscc
from ledger.store.backend import Backend
from ledger.store.ledger import Ledger
from ledger.times import parse_time
from tests.domain_helpers import CALENDAR_2023, Harness, Season, key_pair

SEED_PLAN = Path(__file__).parent / "fixtures" / "seed_plan.csv"

DEPARTMENTS = {
    "AJJ": "县应急管理局",
    "TJJ": "县统计局",
    "SCJ": "县市场监管局",
    "SWJ": "县商务局",
    "QXJ": "县气象局",
    "GAJ": "县公安局",
}
GRADE_RATIOS = {"A": "0.2", "B": "0.5", "C": "1", "D": "1"}
TASK_001 = "联202301-001"
TASK_002 = "联202302-002"
TASK_003 = "联202303-003"
ITEMS = ["安全生产责任制", "特种作业人员持证上岗", "消防设施"]
PHOTO = hashlib.sha256(b"evidence photo 0001.jpg").hexdigest()
CONFLICT_REASON = "配偶在该企业担任安全负责人"
REFERRAL_SUMMARY = "涉嫌非法储存危险物品，移送公安机关"
VOID_REASON = "纪检监察组未到场监督"

# (sector, grade, status) of 24 synthetic enterprises (codes built with make_uscc).
_FIRMS = (
    [("工贸", "A", "active")] * 6
    + [("工贸", "B", "active")] * 3
    + [("工贸", "C", "active")] * 2
    + [("工贸", "A", "closed")]
    + [("危化", "A", "active")] * 3
    + [("危化", "D", "active")]
    + [("加油站", "B", "active")] * 3
    + [("非煤矿山", "C", "active")] * 2
    + [("安全服务机构", "A", "active")] * 3
)
_TOWNS = ("下板城镇", "甲山镇", "六沟镇")


def enterprise_rows() -> list[dict[str, str]]:
    """Normalised rows of the 监管主体名录库, valid per GB 32100-2015."""
    return [
        {
            "usc": make_uscc(f"91130821MA{n:07d}"),
            "name": f"承德县样例{sector}企业{n:02d}有限公司",
            "sector": sector,
            "town": _TOWNS[n % 3],
            "grade": grade,
            "status": status,
        }
        for n, (sector, grade, status) in enumerate(_FIRMS, start=1)
    ]


def inspector_rows() -> list[dict[str, object]]:
    """The 执法人员名录库: AJJ-4 is not active."""
    rows: list[dict[str, object]] = []
    for dep, count in (("AJJ", 4), ("TJJ", 2), ("SCJ", 3), ("SWJ", 2), ("QXJ", 2)):
        for k in range(1, count + 1):
            rows.append({
                "id": f"{dep}-{k}",
                "name": f"执法员{dep}{k}",
                "cert_no": f"13082102{dep}{k:04d}",
                "department": dep,
                "active": not (dep == "AJJ" and k == 4),
            })
    return rows


def seed_plans() -> list[dict[str, Any]]:
    """The three ``PlanImported`` data of the seed's table, via ``ledger.domain.plans``."""
    with SEED_PLAN.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    tasks = parse_plan_rows(rows, departments=DEPARTMENTS)
    return plan_entries(tasks, grade_ratios=GRADE_RATIOS)


class SeedSeason(Season):
    """``Season`` with the seed's three plans and the departments they name."""

    def __init__(self, harness: Harness | None = None) -> None:
        super().__init__(harness)
        self.receiver = key_pair("receiver 县公安局")
        self.parties = {name: key_pair(f"party {name}")
                        for name in ("AJJ", "TJJ", "SCJ", "SWJ", "QXJ", "observer")}
        self.inspectors = {str(row["id"]): key_pair(f"inspector {row['id']}")
                           for row in inspector_rows()}
        self.firms = [row["usc"] for row in enterprise_rows()]

    def registry(self) -> SeedSeason:
        h = self.h
        h.submit(self.admin, "calendar.set", CALENDAR_2023)
        for dep, name in DEPARTMENTS.items():
            h.submit(self.planner, "departments.register", {"department": dep, "name": name})
        h.submit(self.planner, "enterprises.import", {"rows": enterprise_rows()})
        h.submit(self.planner, "inspectors.import", {"rows": inspector_rows()})
        for plan in seed_plans():
            h.submit(self.planner, "plans.import", plan)
        return self


@dataclass
class Facts:
    """Ids and entry indexes of the season's notable events."""

    cases: dict[str, str] = field(default_factory=dict)  # label (A..E) -> case id
    index: dict[str, int] = field(default_factory=dict)  # event name -> entry index
    conflict_inspector: str = ""
    repeat_enterprise: str = ""
    absent_declarer: str = ""


def _one(entries: list[dict[str, Any]]) -> int:
    return int(entries[0]["index"])


def _finding(item: str, result: str, hazard: str | None) -> dict[str, Any]:
    return {"item": item, "result": result, "hazard": hazard, "text": f"{item}：现场检查记录",
            "evidence": [PHOTO] if hazard else []}


def build() -> tuple[SeedSeason, Facts]:
    """Run the whole season; returns the season (with its harness) and the facts."""
    s = SeedSeason()
    s.keys().registry()
    h = s.h
    facts = Facts()

    # -- draws -------------------------------------------------------------------
    task1_parties = ["AJJ", "TJJ", "SCJ", "observer"]
    s.draw("D1", TASK_001, task1_parties)
    facts.index["D1 scheduled"] = h.state.draws["D1"].index
    facts.index["D1 voided"] = _one(h.submit(s.discipline, "draws.void",
                                             {"draw_id": "D1", "reason": VOID_REASON}))
    s.draw("D1R", TASK_001, task1_parties, replaces="D1")
    facts.index["D1R scheduled"] = h.state.draws["D1R"].index
    s.draw("D2", TASK_002, ["AJJ", "SWJ", "QXJ", "observer"])

    d1r = s.case_ids("D1R")
    grade_c = {usc for usc, (_, grade, status) in zip(s.firms, _FIRMS, strict=True)
               if grade == "C" and status == "active" and _FIRMS[s.firms.index(usc)][0] == "工贸"}
    case_b = next(c for c in d1r if h.state.cases[c].enterprise in grade_c)
    case_a = next(c for c in d1r if c != case_b)
    facts.cases.update(A=case_a, B=case_b)
    facts.repeat_enterprise = h.state.cases[case_b].enterprise

    # A conflict declared after D1R froze the pool, by an inspector of case A's team.
    conflicted = s.team(case_a)[-1]
    facts.conflict_inspector = conflicted
    facts.index["conflict"] = _one(h.submit(s.inspectors[conflicted], "conflicts.declare", {
        "inspector": conflicted, "enterprise": h.state.cases[case_a].enterprise,
        "reason": CONFLICT_REASON,
    }))

    def act(case_id: str, action: str, args: dict[str, Any], pair: Any = None) -> int:
        signer = pair or s.inspectors[s.team(case_id)[0]]
        return _one(h.submit(signer, action, {"case_id": case_id, **args}))

    def inspect(case_id: str, day: str) -> int:
        return act(case_id, "cases.record_inspection",
                   {"date": day, "inspectors": s.team(case_id), "items": list(ITEMS)})

    def declare_all(case_id: str, day: str, skip: str | None = None) -> None:
        for inspector in s.team(case_id):
            if inspector != skip:
                act(case_id, "cases.declare_integrity",
                    {"inspector": inspector, "date": day, "no_banquet": True, "no_gift": True,
                     "no_money": True}, pair=s.inspectors[inspector])

    # -- case A: every kind of finding, enforcement, overdue order, open referral ---
    h.at("2023-03-10")
    facts.index["A inspection"] = inspect(case_a, "2023-03-10")
    act(case_a, "cases.record_finding", _finding(ITEMS[0], "违反其他部门相关规定", "重大"))
    act(case_a, "cases.record_finding", _finding(ITEMS[1], "发现问题待后续处理", "一般"))
    act(case_a, "cases.record_finding", _finding(ITEMS[2], "正常", None))
    facts.index["A order"] = act(case_a, "cases.order_rectification", {
        "order": "承县应急责改〔2023〕001号", "date": "2023-03-10", "deadline": "2023-03-20",
        "items": [ITEMS[1]]})
    act(case_a, "cases.decide_penalty", {
        "decision": "(承县)应急罚〔2023〕7号", "date": "2023-03-10", "amount_fen": 500000,
        "basis": "《中华人民共和国安全生产法》第一百零二条"})
    act(case_a, "cases.expose", {"date": "2023-03-10", "where": "承德县人民政府网站"},
        pair=s.publisher)
    facts.index["A referral"] = act(case_a, "cases.refer", {
        "referral": "移送-001", "date": "2023-03-10", "to": "GAJ", "summary": REFERRAL_SUMMARY})
    declare_all(case_a, "2023-03-10")

    # -- case B: a 重大 hazard that ends with neither 曝光 nor 处罚 ---------------------
    facts.index["B inspection"] = inspect(case_b, "2023-03-10")
    facts.index["B major"] = act(case_b, "cases.record_finding",
                                 _finding(ITEMS[0], "违反其他部门相关规定", "重大"))
    act(case_b, "cases.record_finding", _finding(ITEMS[1], "未发现问题", None))
    act(case_b, "cases.record_finding", _finding(ITEMS[2], "未发现问题", None))
    declare_all(case_b, "2023-03-10")

    h.at("2023-03-15")
    act(case_a, "cases.publish", {"date": "2023-03-15", "where": "承德县人民政府网站"},
        pair=s.publisher)
    act(case_b, "cases.publish", {"date": "2023-03-15", "where": "承德县人民政府网站"},
        pair=s.publisher)
    h.at("2023-03-16")
    facts.index["B closed"] = act(case_b, "cases.close", {"date": "2023-03-16"})

    # The order of case A goes overdue; nobody follows it up.
    h.at("2023-03-21", 9)
    overdue = h.tick()
    facts.index["A overdue"] = next(e["index"] for e in overdue
                                    if e["type"] == "RectificationOverdue")

    # -- task 002: case C misses one 廉洁承诺, case D is never published ----------------
    d2 = s.case_ids("D2")
    case_c, case_d = d2[0], d2[1]
    facts.cases.update(C=case_c, D=case_d)
    h.at("2023-04-03")
    facts.index["C inspection"] = inspect(case_c, "2023-04-03")
    for item in ITEMS:
        act(case_c, "cases.record_finding", _finding(item, "未发现问题", None))
    facts.absent_declarer = s.team(case_c)[-1]
    declare_all(case_c, "2023-04-03", skip=facts.absent_declarer)
    h.at("2023-04-04")
    act(case_c, "cases.publish", {"date": "2023-04-04", "where": "河北省双随机监管工作平台"},
        pair=s.publisher)
    facts.index["D inspection"] = inspect(case_d, "2023-04-04")
    for item in ITEMS:
        act(case_d, "cases.record_finding", _finding(item, "未发现问题", None))
    declare_all(case_d, "2023-04-04")
    h.at("2023-04-18", 9)
    overdue = h.tick()
    facts.index["D publication overdue"] = next(e["index"] for e in overdue
                                                if e["type"] == "PublicationOverdue")

    # -- task 003: the same enterprise as case B again; published late ---------------
    h.at("2023-09-01")
    s.draw("D3", TASK_003, ["AJJ", "SCJ", "observer"])
    case_e = next(c for c in s.case_ids("D3")
                  if h.state.cases[c].enterprise == facts.repeat_enterprise)
    facts.cases["E"] = case_e
    h.at("2023-09-28")
    facts.index["E inspection"] = inspect(case_e, "2023-09-28")
    for item in ITEMS:
        act(case_e, "cases.record_finding", _finding(item, "未发现问题", None))
    declare_all(case_e, "2023-09-28")
    h.at("2023-10-14", 9)
    overdue = h.tick()
    facts.index["E publication overdue"] = next(e["index"] for e in overdue
                                                if e["type"] == "PublicationOverdue")
    h.at("2023-10-16")
    facts.index["E published"] = act(case_e, "cases.publish",
                                     {"date": "2023-10-16", "where": "承德县人民政府网站"},
                                     pair=s.publisher)
    facts.index["last"] = h.size - 1
    return s, facts


# ---------------------------------------------------------------------------
# The same entries in a real store


class Clock:
    """A settable clock for :class:`ledger.store.ledger.Ledger`."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def open_store(url: str, season: SeedSeason) -> tuple[Ledger, Clock]:
    """A ledger on ``url`` signing checkpoints with the season's log key, on a test clock."""
    clock = Clock(season.h.now)
    return Ledger(Backend(url), signer=season.h.log_signer, clock=clock), clock


def append_entries(ledger: Ledger, clock: Clock, entries: Sequence[bytes]) -> None:
    """Append the harness's entries through the real write path, byte for byte.

    Commands are resubmitted at their ``logged_at``; the genesis is written
    again from its data; overdue entries come from ``tick()`` at their time;
    ``DrawPerformed`` and ``CaseOpened`` follow their reveal by themselves.
    Raises ``AssertionError`` if the store's bytes differ from the harness's.
    """
    for data in entries:
        entry = json.loads(data)
        index = entry["index"]
        if index < ledger.size:
            continue  # appended already, as a consequence of an earlier entry
        if index != ledger.size:
            raise AssertionError(f"entry {index} cannot follow size {ledger.size}")
        clock.now = parse_time(entry["logged_at"])
        if entry["type"] == "LedgerGenesis":
            ledger.genesis(origin=entry["data"]["origin"], root_keys=entry["data"]["root_keys"])
        elif entry["command"] is not None:
            ledger.submit(entry["command"])
        elif entry["type"] in ("RectificationOverdue", "PublicationOverdue"):
            ledger.tick()
        else:
            raise AssertionError(f"entry {index}: {entry['type']} was not derived")
    count = min(ledger.size, len(entries))
    stored = [d for _, d in ledger.backend.read_entries(0, count)]
    if stored != [bytes(d) for d in entries[:count]]:
        raise AssertionError("the store's entries differ from the harness's")


class CountingProjection:
    """A test fold that counts how often each index was applied (crash tests, B4)."""

    name = "counting"
    version = 1

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    def initial(self) -> dict[str, Any]:
        return {"applied": {}}

    def apply(self, state: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
        if self.delay:
            time.sleep(self.delay)
        key = str(entry["index"])
        state["applied"][key] = state["applied"].get(key, 0) + 1
        return state

    def to_json(self, state: dict[str, Any]) -> Any:
        return state

    def from_json(self, value: Any) -> dict[str, Any]:
        return dict(value)
