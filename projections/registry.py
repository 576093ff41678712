"""The projections and the report kinds, by name (DESIGN.md B4, C6, C7, A9; 报告种类).

``PROJECTIONS`` names every fold of this package; the store's runner keeps
their states. ``REPORT_KINDS[kind](entries, params)`` recomputes a report from
the entries alone, which is what the verify tool does for each published
report (``ReportPublished``, A9 ``reports/``): it folds the projections the
kind needs over entries ``0 .. tree_size-1``, checks the Merkle root (A5) and
returns the report object; :func:`report_bytes` gives its canonical JSON
(A1), whose SHA-256 is the ``sha256`` of ``ReportPublished``.

``params`` holds the kind's own parameters (``{"plan_no"}`` for compliance,
fairness, register and progress; nothing for workload) and optionally
``tree_size`` and ``root`` (lowercase hex). Without ``tree_size`` every entry
given is folded; with ``root`` the computed root must match. Every report
carries ``report`` (its kind), ``tree_size`` and ``root``.

Standard library and ``ledger``'s pure modules only (light path, B2).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ledger.canonical import canonical
from ledger.entries import leaf_hash
from ledger.errors import FormatError
from ledger.merkle import RootAccumulator
from projections.cases import CasesProjection
from projections.compliance import ComplianceProjection, compliance_report
from projections.fairness import FairnessProjection, fairness_view
from projections.fold import DictFold, Entry
from projections.progress import ProgressProjection, progress_view
from projections.register import RegisterProjection, public_register
from projections.workload import WorkloadProjection, workload_view

__all__ = [
    "PROJECTIONS",
    "REPORT_KINDS",
    "REPORT_SPECS",
    "ReportSpec",
    "report_bytes",
    "report_from_states",
    "report_id",
]

State = dict[str, Any]
Params = Mapping[str, Any]

PROJECTIONS: dict[str, DictFold[State]] = {
    p.name: p
    for p in (
        CasesProjection(),
        RegisterProjection(),
        WorkloadProjection(),
        ProgressProjection(),
        ComplianceProjection(),
        FairnessProjection(),
    )
}
"""Every projection of the package, by name (the runner's table keys)."""

RULE = "C7 report"


@dataclass(frozen=True)
class ReportSpec:
    """A report kind: the projections it reads, its parameters and its builder."""

    kind: str
    needs: tuple[str, ...]
    params: tuple[str, ...]
    build: Callable[[Mapping[str, State], dict[str, Any]], dict[str, Any]]


def _plan_no(params: Mapping[str, Any]) -> str | None:
    value = params.get("plan_no")
    if value is not None and not isinstance(value, str):
        raise FormatError(RULE, f"plan_no must be a plan number or null, got {value!r}",
                          field="plan_no")
    return value


def _header(kind: str, params: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    return {"report": kind, **extra, "tree_size": params["tree_size"], "root": params["root"]}


def _compliance(states: Mapping[str, State], params: dict[str, Any]) -> dict[str, Any]:
    return compliance_report(states["cases"], states["compliance"], states["fairness"],
                             plan_no=_plan_no(params), tree_size=params["tree_size"],
                             root=params["root"])


def _fairness(states: Mapping[str, State], params: dict[str, Any]) -> dict[str, Any]:
    plan_no = _plan_no(params)
    return {**_header("fairness", params, plan_no=plan_no),
            **fairness_view(states["fairness"], plan_no)}


def _register(states: Mapping[str, State], params: dict[str, Any]) -> dict[str, Any]:
    plan_no = _plan_no(params)
    return {**_header("register", params, plan_no=plan_no),
            **public_register(states["register"], plan_no)}


def _progress(states: Mapping[str, State], params: dict[str, Any]) -> dict[str, Any]:
    plan_no = _plan_no(params)
    return {**_header("progress", params, plan_no=plan_no),
            **progress_view(states["progress"], plan_no)}


def _workload(states: Mapping[str, State], params: dict[str, Any]) -> dict[str, Any]:
    return {**_header("workload", params), **workload_view(states["workload"])}


REPORT_SPECS: dict[str, ReportSpec] = {
    spec.kind: spec
    for spec in (
        ReportSpec("compliance", ("cases", "compliance", "fairness"), ("plan_no",), _compliance),
        ReportSpec("fairness", ("fairness",), ("plan_no",), _fairness),
        ReportSpec("register", ("register",), ("plan_no",), _register),
        ReportSpec("progress", ("progress",), ("plan_no",), _progress),
        ReportSpec("workload", ("workload",), (), _workload),
    )
}
"""Report kinds (C7 and the C6 views), by name."""


def _check_params(spec: ReportSpec, params: Params) -> dict[str, Any]:
    allowed = {*spec.params, "tree_size", "root"}
    for name in params:
        if name not in allowed:
            raise FormatError(RULE, f"report kind {spec.kind!r} takes {sorted(allowed)}",
                              field=name)
    return dict(params)


def report_from_states(kind: str, states: Mapping[str, State], params: Params) -> dict[str, Any]:
    """Build a report from projection states already folded to ``params["tree_size"]``.

    ``params`` must carry ``tree_size`` and ``root`` (the caller read them
    from the store's tree at that size). The result equals
    ``REPORT_KINDS[kind](entries[:tree_size], params)``.
    """
    spec = _spec(kind)
    checked = _check_params(spec, params)
    for name in ("tree_size", "root"):
        if name not in checked:
            raise FormatError(RULE, "missing member", field=name)
    return spec.build(states, checked)


def _spec(kind: str) -> ReportSpec:
    spec = REPORT_SPECS.get(kind)
    if spec is None:
        raise FormatError(RULE, f"unknown report kind {kind!r}; known: {sorted(REPORT_SPECS)}",
                          field="kind")
    return spec


def _entry(item: Entry | bytes | str, position: int) -> tuple[Entry, bytes]:
    if isinstance(item, dict):
        return item, canonical(item)
    data = item.encode() if isinstance(item, str) else bytes(item)
    data = data.rstrip(b"\n")
    entry = json.loads(data)
    if not isinstance(entry, dict):
        raise FormatError("A4 entry", "an entry is a JSON object", index=position)
    return entry, data


def _recompute(kind: str, entries: Iterable[Entry | bytes | str], params: Params
               ) -> dict[str, Any]:
    spec = _spec(kind)
    checked = _check_params(spec, params)
    limit = checked.get("tree_size")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                              or limit < 0):
        raise FormatError(RULE, f"tree_size must be a non-negative integer, got {limit!r}",
                          field="tree_size")
    folds = [(name, PROJECTIONS[name]) for name in spec.needs]
    states = {name: fold.initial() for name, fold in folds}
    tree = RootAccumulator()
    for position, item in enumerate(entries):
        if limit is not None and position >= limit:
            break
        entry, data = _entry(item, position)
        if entry.get("index") != position:
            raise FormatError("A4 index", f"entry says index {entry.get('index')!r}, its "
                              f"position is {position}", field="index", index=position)
        tree.add(leaf_hash(data))
        for name, fold in folds:
            states[name] = fold.apply(states[name], entry)
    if limit is not None and tree.size != limit:
        raise FormatError(RULE, f"tree_size {limit} but only {tree.size} entries were given",
                          field="tree_size")
    root = tree.root().hex()
    if "root" in checked and checked["root"] != root:
        raise FormatError(RULE, f"root {checked['root']!r} is not the Merkle root of the "
                          f"first {tree.size} entries ({root})", field="root")
    checked["tree_size"] = tree.size
    checked["root"] = root
    return spec.build(states, checked)


def _kind_function(kind: str) -> Callable[[Iterable[Entry | bytes | str], Params],
                                           dict[str, Any]]:
    def recompute(entries: Iterable[Entry | bytes | str], params: Params) -> dict[str, Any]:
        return _recompute(kind, entries, params)

    recompute.__name__ = f"{kind}_report"
    recompute.__doc__ = (f"Recompute the {kind!r} report from entries 0.. (objects or "
                         "canonical bytes) and params (DESIGN.md B4, C7).")
    return recompute


REPORT_KINDS: dict[str, Callable[[Iterable[Entry | bytes | str], Params], dict[str, Any]]] = {
    kind: _kind_function(kind) for kind in REPORT_SPECS
}
"""``REPORT_KINDS[kind](entries, params) -> report``: what the verify tool calls (C7)."""


def report_bytes(kind: str, entries: Iterable[Entry | bytes | str], params: Params) -> bytes:
    """The canonical JSON bytes (A1) of a recomputed report; SHA-256 them for ``sha256``.

    Raises ``FormatError`` (rule ``C7 report``) for an unknown kind or bad params.
    """
    return canonical(_recompute(kind, entries, params))


def report_id(kind: str, plan_no: str | None, tree_size: int) -> str:
    """A report id for ``reports.publish``: ``<kind>-<plan no or all>-<tree size>``."""
    return f"{kind}-{plan_no or 'all'}-{tree_size}"
