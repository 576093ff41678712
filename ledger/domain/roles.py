"""Actions, entry types, roles and streams (DESIGN.md A12 and C8).

The table is data: ``ACTIONS[action]`` says which entry type one command of
that action causes, which stream kind it goes to, and who may sign it, as a
list of alternatives ``(role, conditions)``.  A signer qualifies when it holds
the role and meets every condition of one alternative:

- ``team``  — the key holder's inspector is on the case's current team;
- ``own``   — ``data.inspector`` is the key holder's inspector;
- ``named`` — the key is the one named for that party in ``DrawScheduled``.

``root`` is not a role a key is registered with: it stands for the root keys
of ``LedgerGenesis``, which sign only ``keys.register`` and ``keys.revoke``.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = frozenset(
    {"admin", "planner", "draw_party", "inspector", "publisher", "discipline", "receiver"}
)
ROOT = "root"


@dataclass(frozen=True)
class Alternative:
    role: str
    conditions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ActionSpec:
    """One row of the A12 table."""

    action: str
    entry_type: str
    stream_kind: str
    signers: tuple[Alternative, ...]

    def roles(self) -> frozenset[str]:
        return frozenset(alt.role for alt in self.signers)


def _alts(*spec: str) -> tuple[Alternative, ...]:
    out = []
    for item in spec:
        role, *conds = item.split("+")
        out.append(Alternative(role, frozenset(conds)))
    return tuple(out)


_TABLE: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("keys.register", "KeyRegistered", "key", ("root", "admin")),
    ("keys.revoke", "KeyRevoked", "key", ("root", "admin")),
    ("calendar.set", "WorkCalendarSet", "calendar", ("admin",)),
    ("departments.register", "DepartmentRegistered", "registry", ("admin", "planner")),
    ("enterprises.import", "EnterprisesImported", "registry", ("planner",)),
    ("enterprises.update", "EnterpriseUpdated", "registry", ("planner",)),
    ("inspectors.import", "InspectorsImported", "registry", ("planner",)),
    ("inspectors.update", "InspectorUpdated", "registry", ("planner",)),
    ("conflicts.declare", "ConflictDeclared", "registry", ("planner", "inspector+own")),
    ("plans.import", "PlanImported", "plan", ("planner",)),
    ("draws.schedule", "DrawScheduled", "draw", ("planner",)),
    ("draws.commit", "DrawCommitted", "draw", ("draw_party+named",)),
    ("draws.reveal", "DrawRevealed", "draw", ("draw_party+named",)),
    ("draws.void", "DrawVoided", "draw", ("discipline", "admin")),
    ("cases.recuse", "InspectorRecused", "case", ("inspector+own", "planner")),
    ("cases.record_inspection", "InspectionRecorded", "case", ("inspector+team",)),
    ("cases.record_finding", "FindingRecorded", "case", ("inspector+team",)),
    ("cases.order_rectification", "RectificationOrdered", "case", ("inspector+team",)),
    ("cases.verify_rectification", "RectificationVerified", "case", ("inspector+team",)),
    ("cases.record_interview", "InterviewHeld", "case", ("inspector+team",)),
    ("cases.decide_penalty", "PenaltyDecided", "case", ("inspector+team",)),
    ("cases.refer", "Referred", "case", ("inspector+team",)),
    ("cases.acknowledge_referral", "ReferralAcknowledged", "case", ("receiver",)),
    ("cases.expose", "Exposed", "case", ("publisher",)),
    ("cases.publish", "ResultPublished", "case", ("publisher",)),
    ("cases.declare_integrity", "IntegrityDeclared", "case", ("inspector+team+own",)),
    ("cases.close", "CaseClosed", "case", ("inspector+team", "planner")),
    ("reports.publish", "ReportPublished", "report", ("discipline", "publisher")),
)

ACTIONS: dict[str, ActionSpec] = {
    action: ActionSpec(action, entry_type, kind, _alts(*signers))
    for action, entry_type, kind, signers in _TABLE
}
ACTION_OF_TYPE: dict[str, str] = {spec.entry_type: spec.action for spec in ACTIONS.values()}

# System entry types (A12): command is null, the server appends them, a verifier re-derives.
SYSTEM_STREAM_KINDS: dict[str, str] = {
    "LedgerGenesis": "ledger",
    "DrawPerformed": "draw",
    "CaseOpened": "case",
    "RectificationOverdue": "case",
    "PublicationOverdue": "case",
}

# Fixed streams (A7, A12) for kinds that have a single stream per registry.
REGISTRY_STREAMS: dict[str, str] = {
    "DepartmentRegistered": "registry/departments",
    "EnterprisesImported": "registry/enterprises",
    "EnterpriseUpdated": "registry/enterprises",
    "InspectorsImported": "registry/inspectors",
    "InspectorUpdated": "registry/inspectors",
    "ConflictDeclared": "registry/conflicts",
}


def stream_kind(stream: str) -> str:
    """The ``<kind>`` part of a ``<kind>/<id>`` stream (``ledger`` for entry 0)."""
    return stream.split("/", 1)[0]
