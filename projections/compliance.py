"""The compliance report for discipline inspectors (DESIGN.md C7; 合规报告, 纪检监督).

Per plan and task, from the log alone:

- draws scheduled, performed and voided, with who voided them (the signer's
  key and holder, A7) and why (C3);
- teams with fewer than 2 inspectors (每次抽取的执法检查人员不得少于2人) or
  without one of the task's required departments (initiating and joint, C3);
- assignments that break a conflict declaration (回避), declared before the
  draw froze the pool, after it, or only after the inspection;
- late or missing publications (一公开): the deadline is the plan's rule (the
  seed: 7 工作日) counted from the inspection's end on the ``WorkCalendarSet``
  entries of the log only (C5); a year without a calendar entry is reported,
  never guessed;
- rectifications overdue without follow-up (约谈, 处罚 or 移交 after the
  deadline passed);
- referrals (移交) without acknowledgement;
- missing integrity declarations (廉洁承诺) of an inspected case's team;
- enterprises inspected more than once in a calendar year across tasks and
  plans (重复检查, which the seed asks to avoid);
- enforcement that does not match the seed's trigger, in either direction:
  曝光/处罚 without a 重大 hazard or a refusal after 约谈, and closed cases with
  a 重大 hazard or a refusal that ended with neither (selective enforcement);
- the fairness statistics of ``projections.fairness``.

Every finding lists the indexes of the entries that prove it (ascending), so
a reader fetches them with their inclusion proofs (A8) and checks the claim.
"Now" is the ``logged_at`` of the last entry folded (``as_of``): the report
is a pure function of the log prefix, so the verify tool recomputes it byte
for byte (B4).

The compliance fold keeps what the cases fold (``projections.cases``) does
not: keys and their holders, calendars, conflict declarations, the frozen
pool and required departments of each draw. :func:`compliance_report` reads
the three states (cases, compliance, fairness).

Standard library and ``ledger``'s pure modules only (light path, B2).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from ledger.domain.calendar import WorkCalendar
from ledger.errors import LedgerError, NotFoundError
from projections.common import (
    Entry,
    State,
    beijing_day,
    merge_handlers,
    new_registry,
    plans_in_scope,
    registry_handler,
)
from projections.fairness import fairness_view
from projections.fold import DictFold

__all__ = ["RULES", "ComplianceProjection", "compliance_report"]

RULES = (
    "draw_voided",
    "team_too_small",
    "team_missing_department",
    "conflict_assignment",
    "publication_late",
    "publication_missing",
    "publication_deadline_unknown",
    "rectification_overdue_without_follow_up",
    "referral_unacknowledged",
    "integrity_missing",
    "repeat_inspection",
    "enforcement_without_trigger",
    "trigger_without_enforcement",
)
"""Finding kinds of the report, in the order they are listed."""

MIN_TEAM = 2
MAJOR = "重大"


# ---------------------------------------------------------------------------
# The fold


def _holder(data: dict[str, Any]) -> dict[str, Any]:
    holder = data.get("holder") or {}
    return {"name": holder.get("name"), "department": holder.get("department")}


def _genesis(state: State, entry: Entry) -> None:
    for root in entry["data"].get("root_keys", []):
        state["keys"][root["key"]] = {**_holder(root), "index": entry["index"]}


def _key(state: State, entry: Entry) -> None:
    data = entry["data"]
    state["keys"][data["key"]] = {**_holder(data), "index": entry["index"]}


def _calendar(state: State, entry: Entry) -> None:
    data = entry["data"]
    state["calendars"][str(data["year"])] = {"data": data, "index": entry["index"]}


def _conflict(state: State, entry: Entry) -> None:
    data = entry["data"]
    state["conflicts"].append({"inspector": data.get("inspector"),
                               "enterprise": data.get("enterprise"), "index": entry["index"]})


def _draw_scheduled(state: State, entry: Entry) -> None:
    data = entry["data"]
    state["draws"][data["draw_id"]] = {
        "task_id": data.get("task_id"),
        "index": entry["index"],
        "replaces": data.get("replaces"),
        "required": list(data.get("required_departments", [])),
        "pool": {str(x.get("id")): x.get("department") for x in data.get("inspectors", [])},
        "performed_index": None,
        "voided": None,
    }


def _draw_performed(state: State, entry: Entry) -> None:
    draw = state["draws"].get(entry["data"]["draw_id"])
    if draw is not None:
        draw["performed_index"] = entry["index"]


def _draw_voided(state: State, entry: Entry) -> None:
    draw = state["draws"].get(entry["data"]["draw_id"])
    if draw is not None and draw["voided"] is None:
        command = entry.get("command") or {}
        draw["voided"] = {"index": entry["index"], "reason": entry["data"].get("reason"),
                          "key": command.get("key")}


class ComplianceProjection(DictFold[State]):
    """``compliance``: the facts C7 needs beyond the case state (keys, calendars, conflicts)."""

    name = "compliance"
    version = 1
    handlers = merge_handlers(
        registry_handler(),
        {
            "LedgerGenesis": _genesis,
            "KeyRegistered": _key,
            "WorkCalendarSet": _calendar,
            "ConflictDeclared": _conflict,
            "DrawScheduled": _draw_scheduled,
            "DrawPerformed": _draw_performed,
            "DrawVoided": _draw_voided,
        },
    )

    last_key = "last"  # the last entry seen, of any type: the report's "now"

    def initial(self) -> State:
        return {"registry": new_registry(), "keys": {}, "calendars": {}, "conflicts": [],
                "draws": {}, "last": None}


# ---------------------------------------------------------------------------
# The report


def _indexes(*groups: Iterable[int | None]) -> list[int]:
    return sorted({i for group in groups for i in group if i is not None})


class _Report:
    """One report's computation: the three states, the scope and the findings so far."""

    def __init__(self, cases: State, facts: State, plan_no: str | None) -> None:
        self.cases = cases
        self.facts = facts
        self.reg = facts["registry"]
        last = facts["last"]
        self.as_of: str | None = last["logged_at"] if last else None
        self.today = date.fromisoformat(beijing_day(self.as_of)) if self.as_of else None
        self.plans = plans_in_scope(self.reg, plan_no)
        self.tasks = [t for p in self.plans for t in self.reg["plans"][p]["tasks"]]
        task_set = set(self.tasks)
        self.scope = [c for _, c in sorted(cases["cases"].items(),
                                           key=lambda item: item[1]["opened"]["index"])
                      if c["task_id"] in task_set]
        self.live = [c for c in self.scope if c["void"] is None]
        self.findings: list[dict[str, Any]] = []
        self.calendar = self._calendar()

    def _calendar(self) -> WorkCalendar | None:
        years = {int(y): c["data"] for y, c in sorted(self.facts["calendars"].items())}
        try:
            return WorkCalendar(years)
        except LedgerError:
            return None

    def add(self, rule: str, case: State | None, entries: list[int], **fields: Any) -> None:
        head: dict[str, Any] = {"rule": rule}
        if case is not None:
            head.update(plan_no=case["plan_no"], task_id=case["task_id"],
                        case_id=case["case_id"], enterprise=case["enterprise"])
        self.findings.append({**head, **fields, "entries": entries})

    # -- draws ---------------------------------------------------------------
    def draws(self) -> None:
        task_set = set(self.tasks)
        for draw_id, draw in sorted(self.facts["draws"].items(),
                                    key=lambda item: item[1]["index"]):
            voided = draw["voided"]
            if draw["task_id"] not in task_set or voided is None:
                continue
            self.findings.append({
                "rule": "draw_voided",
                "plan_no": self.reg["tasks"][draw["task_id"]]["plan_no"],
                "task_id": draw["task_id"],
                "draw_id": draw_id,
                "by": self._signer(voided["key"]),
                "reason": voided["reason"],
                "entries": _indexes([draw["index"], draw["performed_index"], voided["index"]]),
            })

    def _signer(self, key: str | None) -> dict[str, Any]:
        holder = self.facts["keys"].get(key or "") or {}
        return {"key": key, "name": holder.get("name"), "department": holder.get("department")}

    # -- teams and conflicts -------------------------------------------------
    def _assigned_at(self, case: State, inspector: str) -> int:
        for recusal in case["recusals"]:
            if recusal["replacement"] == inspector:
                return int(recusal["index"])
        return int(case["opened"]["index"])

    def teams(self) -> None:
        for case in self.live:
            draw = self.facts["draws"].get(case["draw_id"])
            recusals = [r["index"] for r in case["recusals"]]
            opened = case["opened"]["index"]
            team = case["team"]
            if len(team) < MIN_TEAM:
                self.add("team_too_small", case, _indexes([opened], recusals),
                         team=list(team), size=len(team))
            if draw is None:
                continue
            people = self.reg["inspectors"]
            present = {draw["pool"].get(x) or (people.get(x) or {}).get("department")
                       for x in team}
            missing = [d for d in draw["required"] if d not in present]
            if missing:
                self.add("team_missing_department", case,
                         _indexes([draw["index"], opened], recusals),
                         team=list(team), required=list(draw["required"]), missing=missing)

    def conflicts(self) -> None:
        declared: dict[tuple[str, str], int] = {}
        for item in self.facts["conflicts"]:
            pair = (item["inspector"], item["enterprise"])
            declared.setdefault(pair, item["index"])
        for case in self.live:
            draw = self.facts["draws"].get(case["draw_id"])
            scheduled = draw["index"] if draw else case["opened"]["index"]
            inspection = case["inspection"]
            involved = list(case["team"])
            for who in inspection["inspectors"] if inspection else []:
                if who not in involved:
                    involved.append(who)
            for inspector in involved:
                at = declared.get((inspector, case["enterprise"]))
                if at is None:
                    continue
                if at < scheduled:
                    when = "before_draw"
                elif inspection is not None and at > inspection["index"]:
                    when = "after_inspection"
                else:
                    when = "after_draw"
                was_present = inspection is not None and inspector in inspection["inspectors"]
                self.add(
                    "conflict_assignment", case,
                    _indexes([at, scheduled, self._assigned_at(case, inspector),
                              inspection["index"] if was_present and inspection else None]),
                    inspector=inspector, declared=when, on_team=inspector in case["team"],
                    present_at_inspection=was_present,
                )

    # -- publication (一公开) -------------------------------------------------
    def publications(self) -> None:
        for case in self.live:
            inspection = case["inspection"]
            if inspection is None:
                continue
            plan = self.reg["plans"].get(case["plan_no"] or "")
            days = int(plan["days"]) if plan else 7
            unit = str(plan["unit"]) if plan else "工作日"
            end = date.fromisoformat(inspection["end_date"])
            first = next((p for p in case["publications"] if not p["correction"]), None)
            published = date.fromisoformat(first["date"]) if first and first["date"] else None
            overdue = case["publication_overdue"]
            base = [inspection["index"], plan["index"] if plan else None]
            try:
                if self.calendar is None:
                    raise LedgerError("C5 calendar", "the calendar entries are invalid")
                deadline = self.calendar.deadline(end, days, unit)
            except LedgerError as exc:
                # The deadline is at least `days` calendar days after the end: before that
                # nothing can be late, so only later cases need the missing calendar.
                earliest = end + timedelta(days=days)
                reached = published if published is not None else self.today
                if reached is not None and reached > earliest:
                    self.add("publication_deadline_unknown", case,
                             _indexes(base, [first["index"] if first else None]),
                             inspection_end=end.isoformat(), rule_days=days, rule_unit=unit,
                             reason=exc.reason)
                continue
            calendars = [self.facts["calendars"].get(str(y), {}).get("index")
                         for y in range(end.year, deadline.year + 1)]
            if published is not None and first is not None:
                if published > deadline:
                    self.add("publication_late", case,
                             _indexes(base, calendars, [first["index"]],
                                      [overdue["index"] if overdue else None]),
                             inspection_end=end.isoformat(), deadline=deadline.isoformat(),
                             published=published.isoformat(), rule_days=days, rule_unit=unit)
            elif (self.today is not None and self.today > deadline) or overdue is not None:
                self.add("publication_missing", case,
                         _indexes(base, calendars, [overdue["index"] if overdue else None]),
                         inspection_end=end.isoformat(), deadline=deadline.isoformat(),
                         rule_days=days, rule_unit=unit)

    # -- rectification, referral, integrity ----------------------------------
    def rectifications(self) -> None:
        for case in self.live:
            follow_ups = [(x["index"], x["date"]) for kind in ("interviews", "penalties",
                                                               "referrals")
                          for x in case[kind]]
            for order in case["rectifications"]:
                if order["verified"] is not None:
                    continue
                overdue = order["overdue"]
                deadline = date.fromisoformat(order["deadline"])
                if overdue is None and (self.today is None or self.today <= deadline):
                    continue
                if overdue is not None:
                    followed = any(i > overdue["index"] for i, _ in follow_ups)
                else:
                    followed = any(d is not None and date.fromisoformat(d) > deadline
                                   for _, d in follow_ups)
                if not followed:
                    self.add("rectification_overdue_without_follow_up", case,
                             _indexes([order["index"], overdue["index"] if overdue else None]),
                             order=order["order"], deadline=order["deadline"])

    def referrals(self) -> None:
        for case in self.live:
            for referral in case["referrals"]:
                if referral["acknowledged"] is None:
                    self.add("referral_unacknowledged", case, [referral["index"]],
                             referral=referral["referral"], to=referral["to"],
                             referred=referral["date"])

    def integrity(self) -> None:
        for case in self.live:
            inspection = case["inspection"]
            if inspection is None:
                continue
            declared = {d["inspector"] for d in case["integrity"]}
            missing = [x for x in case["team"] if x not in declared]
            if missing:
                self.add("integrity_missing", case,
                         _indexes([case["opened"]["index"], inspection["index"]],
                                  [r["index"] for r in case["recusals"]]),
                         inspectors=missing)

    # -- repeat inspections (重复检查) -----------------------------------------
    def repeats(self) -> None:
        scope_ids = {c["case_id"] for c in self.live}
        visits: dict[tuple[str, str], list[State]] = {}
        for _, case in sorted(self.cases["cases"].items(),
                              key=lambda item: item[1]["opened"]["index"]):
            inspection = case["inspection"]
            if case["void"] is not None or inspection is None:
                continue
            key = (inspection["date"][:4], case["enterprise"])
            visits.setdefault(key, []).append(case)
        for (year, enterprise), found in sorted(visits.items()):
            if len(found) < 2 or not any(c["case_id"] in scope_ids for c in found):
                continue
            self.findings.append({
                "rule": "repeat_inspection",
                "enterprise": enterprise,
                "year": int(year),
                "inspections": [
                    {"case_id": c["case_id"], "plan_no": c["plan_no"], "task_id": c["task_id"],
                     "date": c["inspection"]["date"], "index": c["inspection"]["index"]}
                    for c in found
                ],
                "entries": _indexes([c["inspection"]["index"] for c in found]),
            })

    # -- enforcement against the seed's trigger ------------------------------
    def enforcement(self) -> None:
        for case in self.live:
            majors = [f["index"] for f in case["findings"] if f["hazard"] == MAJOR]
            refusals = [i["index"] for i in case["interviews"] if i["outcome"] == "refused"]
            actions = [x["index"] for x in case["penalties"]] + [x["index"]
                                                                 for x in case["exposures"]]
            kinds = (["penalty"] if case["penalties"] else []) + (
                ["exposure"] if case["exposures"] else [])
            if actions and not majors and not refusals:
                self.add("enforcement_without_trigger", case,
                         _indexes(actions, [f["index"] for f in case["findings"]],
                                  [i["index"] for i in case["interviews"]]),
                         enforcement=kinds)
            elif (majors or refusals) and not actions and case["closed"] is not None:
                trigger = (["major_hazard"] if majors else []) + (
                    ["refused_after_interview"] if refusals else [])
                self.add("trigger_without_enforcement", case,
                         _indexes(majors, refusals, [case["closed"]["index"]]),
                         trigger=trigger)

    # -- summaries -----------------------------------------------------------
    def plan_rows(self) -> list[dict[str, Any]]:
        per_task: dict[str, dict[str, int]] = {}
        for finding in self.findings:
            tasks = ([finding["task_id"]] if "task_id" in finding
                     else sorted({i["task_id"] for i in finding.get("inspections", [])}))
            for task_id in tasks:
                counts = per_task.setdefault(task_id, {})
                counts[finding["rule"]] = counts.get(finding["rule"], 0) + 1
        rows = []
        for number in self.plans:
            plan = self.reg["plans"][number]
            rows.append({
                "plan_no": number,
                "plan_name": plan["plan_name"],
                "index": plan["index"],
                "publication_rule": {"days": plan["days"], "unit": plan["unit"]},
                "tasks": [self._task_row(t, per_task.get(t, {})) for t in plan["tasks"]],
            })
        return rows

    def _task_row(self, task_id: str, findings: dict[str, int]) -> dict[str, Any]:
        task = self.reg["tasks"][task_id]
        draws = []
        for draw_id, draw in sorted(self.facts["draws"].items(),
                                    key=lambda item: item[1]["index"]):
            if draw["task_id"] != task_id:
                continue
            voided = draw["voided"]
            status = ("voided" if voided else
                      "performed" if draw["performed_index"] is not None else "scheduled")
            draws.append({
                "draw_id": draw_id,
                "status": status,
                "replaces": draw["replaces"],
                "scheduled_index": draw["index"],
                "performed_index": draw["performed_index"],
                "voided": None if voided is None else {
                    "index": voided["index"], "by": self._signer(voided["key"]),
                    "reason": voided["reason"],
                },
                "cases": len(self.cases["draws"].get(draw_id, {}).get("cases", [])),
            })
        counts = dict.fromkeys(("drawn", "inspected", "published", "closed", "void"), 0)
        for case in self.scope:
            if case["task_id"] != task_id:
                continue
            if case["void"] is not None:
                counts["void"] += 1
                continue
            counts["drawn"] += 1
            counts["inspected"] += case["inspection"] is not None
            counts["published"] += bool(case["publications"])
            counts["closed"] += case["closed"] is not None
        return {
            "task_id": task_id,
            "task_name": task.get("task_name"),
            "draws": draws,
            "cases": counts,
            "findings": {rule: findings[rule] for rule in RULES if rule in findings},
        }


def compliance_report(
    cases: State,
    facts: State,
    fairness: State,
    *,
    plan_no: str | None,
    tree_size: int,
    root: str,
) -> dict[str, Any]:
    """The C7 report of one plan (or of every plan when ``plan_no`` is None).

    ``cases``, ``facts`` and ``fairness`` are the states of the cases,
    compliance and fairness folds over the first ``tree_size`` entries, whose
    Merkle root (lowercase hex, A5) is ``root``. Raises ``NotFoundError``
    (rule ``C7 report``) for a plan that was not imported.
    """
    if plan_no is not None and plan_no not in facts["registry"]["plans"]:
        raise NotFoundError("C7 report", f"plan {plan_no!r} is not imported", field="plan_no")
    report = _Report(cases, facts, plan_no)
    report.draws()
    report.teams()
    report.conflicts()
    report.publications()
    report.rectifications()
    report.referrals()
    report.integrity()
    report.repeats()
    report.enforcement()
    order = {rule: n for n, rule in enumerate(RULES)}
    findings = sorted(report.findings, key=lambda f: (order[f["rule"]], f["entries"]))
    summary = {rule: sum(1 for f in findings if f["rule"] == rule) for rule in RULES}
    return {
        "report": "compliance",
        "plan_no": plan_no,
        "tree_size": tree_size,
        "root": root,
        "as_of": report.as_of,
        "as_of_date": report.today.isoformat() if report.today else None,
        "plans": report.plan_rows(),
        "summary": summary,
        "findings": findings,
        "fairness": fairness_view(fairness, plan_no),
    }
