"""Where the JSON views come from: the extension point for ``projections`` (DESIGN.md B4, C6).

The routes of :mod:`api.routes.views` only talk to a :class:`ViewSource`.
Today :class:`DomainViews` builds the views from the write side's
``ledger.domain`` (:class:`ledger.domain.state.DomainState`), caught up to the
store's head before each answer so that appends by other server processes
show.  When the ``projections`` package offers its folds (case state, public
register, reports), write a ``ViewSource`` over them and pass it to
``create_app(settings, views=...)`` — or make it the default in
:func:`api.app.create_app`; the routes and their JSON shapes stay.

Every view is plain JSON; dates are ``YYYY-MM-DD`` (A1) and every item that
comes from an entry names its ``index``, so a reader can check it against the
log.  The public register (C5, C6) carries only what 一公开 publishes: no
inspector identities, finding texts, evidence hashes or referral summaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol

from ledger.domain.state import Case, DomainState, Draw
from ledger.store.ledger import Ledger

View = dict[str, Any]


class ViewSource(Protocol):
    """The read models behind ``/v1/cases``, ``/v1/draws``, ``/v1/register``, ``/v1/reports``.

    Lists return ``(items, total, size)``: one page of items, the number of
    items in all, and the tree size the view was computed at.
    """

    def cases(self, offset: int, limit: int) -> tuple[list[View], int, int]: ...
    def case(self, case_id: str) -> tuple[View | None, int]: ...
    def draws(self, offset: int, limit: int) -> tuple[list[View], int, int]: ...
    def draw(self, draw_id: str) -> tuple[View | None, int]: ...
    def register(self, offset: int, limit: int) -> tuple[list[View], int, int]: ...
    def reports(self, offset: int, limit: int) -> tuple[list[View], int, int]: ...


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _page(items: Sequence[Any], offset: int, limit: int) -> Sequence[Any]:
    return items[offset:offset + limit]


class DomainViews:
    """Views folded by the write side (:class:`DomainState`); see the module docstring."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def _state(self) -> DomainState:
        self.ledger.catch_up()
        return self.ledger.domain

    # -- cases (C4) ------------------------------------------------------------------
    def cases(self, offset: int, limit: int) -> tuple[list[View], int, int]:
        state = self._state()
        cases = sorted(list(state.cases.values()), key=lambda c: c.opened_index)
        page = [self._case_summary(state, c) for c in _page(cases, offset, limit)]
        return page, len(cases), state.size

    def case(self, case_id: str) -> tuple[View | None, int]:
        state = self._state()
        found = state.cases.get(case_id)
        return (self._case_detail(state, found) if found is not None else None), state.size

    @staticmethod
    def _case_summary(state: DomainState, case: Case) -> View:
        firm = state.enterprises.get(case.enterprise)
        plan = state.plan_of(case.task_id)
        inspection = case.inspection
        return {
            "case_id": case.case_id,
            "stream": case.stream,
            "status": case.status,
            "draw_id": case.draw_id,
            "task_id": case.task_id,
            "plan_no": plan.plan_no if plan is not None else None,
            "enterprise": case.enterprise,
            "enterprise_name": firm.name if firm is not None else None,
            "team": list(case.team),
            "opened_index": case.opened_index,
            "opened_date": _day(case.opened_date),
            "inspection_date": _day(inspection.date) if inspection is not None else None,
            "published": bool(case.publications),
            "closed_date": _day(case.closed_date),
            "void": case.void,
        }

    @classmethod
    def _case_detail(cls, state: DomainState, case: Case) -> View:
        view = cls._case_summary(state, case)
        inspection = case.inspection
        view.update({
            "inspection": None if inspection is None else {
                "date": _day(inspection.date), "end_date": _day(inspection.end_date),
                "inspectors": list(inspection.inspectors), "items": list(inspection.items),
                "index": inspection.index},
            "findings": [
                {"item": f.item, "result": f.result, "hazard": f.hazard, "text": f.text,
                 "evidence": list(f.evidence), "problem": f.problem, "index": f.index}
                for f in list(case.findings.values())],
            "orders": [
                {"order": o.order, "date": _day(o.date), "deadline": _day(o.deadline),
                 "items": list(o.items), "index": o.index,
                 "verified_date": _day(o.verified_date), "verified_index": o.verified_index,
                 "overdue_index": o.overdue_index}
                for o in list(case.orders.values())],
            "interviews": [
                {"date": _day(i.date), "person": i.person, "outcome": i.outcome,
                 "index": i.index} for i in list(case.interviews)],
            "penalties": [
                {"decision": p.decision, "date": _day(p.date), "amount_fen": p.amount_fen,
                 "basis": p.basis, "index": p.index} for p in list(case.penalties)],
            "exposures": [
                {"date": _day(e.date), "where": e.where, "index": e.index}
                for e in list(case.exposures)],
            "referrals": [
                {"referral": r.referral, "to": r.to, "summary": r.summary,
                 "date": _day(r.date), "index": r.index,
                 "acknowledged_date": _day(r.acknowledged_date),
                 "acknowledged_index": r.acknowledged_index}
                for r in list(case.referrals.values())],
            "publications": [
                {"date": _day(p.date), "where": p.where, "correction": p.correction,
                 "index": p.index} for p in list(case.publications)],
            "publication_overdue_index": case.publication_overdue_index,
            "declarations": [
                {"inspector": d.inspector, "date": _day(d.date), "index": d.index}
                for d in list(case.declarations.values())],
            "recusals": [
                {"inspector": r.inspector, "reason": r.reason, "replacement": r.replacement,
                 "index": r.index} for r in list(case.recusals)],
            "closed_index": case.closed_index,
        })
        return view

    # -- draws (C3, A11) --------------------------------------------------------------------
    def draws(self, offset: int, limit: int) -> tuple[list[View], int, int]:
        state = self._state()
        draws = sorted(list(state.draws.values()), key=lambda d: d.index)
        return [self._draw_summary(d) for d in _page(draws, offset, limit)], len(draws), state.size

    def draw(self, draw_id: str) -> tuple[View | None, int]:
        state = self._state()
        found = state.draws.get(draw_id)
        if found is None:
            return None, state.size
        view = self._draw_summary(found)
        view.update({
            "scheduled": found.scheduled,
            "commitments": dict(found.commitments),
            "reveals": dict(found.reveals),
            "performed": found.performed,
        })
        return view, state.size

    @staticmethod
    def _draw_summary(draw: Draw) -> View:
        return {
            "draw_id": draw.draw_id,
            "stream": f"draw/{draw.draw_id}",
            "status": draw.status,
            "task_id": draw.task_id,
            "replaces": draw.replaces,
            "replaced_by": draw.replaced_by,
            "index": draw.index,
            "parties": sorted(dict(draw.parties)),
            "committed": sorted(dict(draw.commitments)),
            "revealed": sorted(dict(draw.reveals)),
            "performed_index": draw.performed_index,
            "selection": draw.selection(),
            "voided_reason": draw.voided_reason,
            "voided_index": draw.voided_index,
            "voided_by": draw.voided_by,
            "case_ids": list(draw.case_ids),
        }

    # -- the public register (C5, C6) -------------------------------------------------------
    def register(self, offset: int, limit: int) -> tuple[list[View], int, int]:
        state = self._state()
        published = sorted((c for c in list(state.cases.values())
                            if c.publications and not c.void),
                           key=lambda c: c.publications[0].index)
        rows = [self._register_row(state, c) for c in _page(published, offset, limit)]
        return rows, len(published), state.size

    @staticmethod
    def _register_row(state: DomainState, case: Case) -> View:
        task = state.tasks.get(case.task_id or "")
        plan = state.plan_of(case.task_id)
        firm = state.enterprises.get(case.enterprise)
        inspection = case.inspection

        def department(dep: str | None) -> dict[str, str | None] | None:
            if dep is None:
                return None
            known = state.departments.get(dep)
            return {"id": dep, "name": known.name if known is not None else None}

        return {
            "case_id": case.case_id,
            "plan_no": plan.plan_no if plan is not None else None,
            "plan_name": plan.name if plan is not None else None,
            "task_id": case.task_id,
            "task_name": task.data.get("task_name") if task is not None else None,
            "initiator": department(task.initiator) if task is not None else None,
            "joint_departments": [department(d) for d in task.joint_departments]
            if task is not None else [],
            "enterprise": case.enterprise,
            "enterprise_name": firm.name if firm is not None else None,
            "inspection_date": _day(inspection.date) if inspection is not None else None,
            "inspection_end_date": _day(inspection.end_date) if inspection is not None else None,
            "items": list(inspection.items) if inspection is not None else [],
            "results": [{"item": f.item, "result": f.result, "hazard": f.hazard,
                         "index": f.index} for f in list(case.findings.values())],
            "rectifications": [{"deadline": _day(o.deadline),
                                "verified_date": _day(o.verified_date), "index": o.index}
                               for o in list(case.orders.values())],
            "penalties": [{"decision": p.decision, "date": _day(p.date),
                           "amount_fen": p.amount_fen, "index": p.index}
                          for p in list(case.penalties)],
            "publications": [{"date": _day(p.date), "where": p.where,
                              "correction": p.correction, "index": p.index}
                             for p in list(case.publications)],
            "status": case.status,
        }

    # -- reports (C7) ----------------------------------------------------------------------
    def reports(self, offset: int, limit: int) -> tuple[list[View], int, int]:
        state = self._state()
        reports = sorted(list(state.reports.values()), key=lambda r: int(r["index"]))
        return [dict(r) for r in _page(reports, offset, limit)], len(reports), state.size
