"""Check one published report against the log (DESIGN.md C7, B4).

``spotcheck-verify report DIR REPORT_ID`` finds the report's
``ReportPublished`` entry (data ``report_id``, ``kind``, ``sha256`` hex,
``tree_size``, ``root`` hex), and checks ``reports/<id>.json``: canonical
JSON, the entry's SHA-256, the tree size and root it claims (the root of the
log at that size), and — where ``projections.registry.REPORT_KINDS[kind]``
exists — that recomputing it from entries ``0..tree_size-1`` gives the same
bytes.  Where no recompute function exists it says so.

The whole bundle is verified first, exactly as ``spotcheck-verify bundle``
does (steps 1-7), so a report is only vouched for in a log that verifies.
"""

from __future__ import annotations

from pathlib import Path

from ledger.bundle import open_bundle
from tools.verify.bundle import Verdict, check_reports, verify_log

__all__ = ["verify_report"]


def verify_report(
    path: Path, report_id: str, *, vkey: str | None = None, jobs: int | None = None,
    progress: bool = True,
) -> tuple[Verdict, list[str]]:
    """Verify the bundle at ``path`` and check its report ``report_id``; verdict and details.

    The whole bundle goes through steps 1-7 first
    (:func:`tools.verify.bundle.verify_log`; without ``vkey`` the checkpoint
    is checked with the genesis's own key).  Raises ``OSError`` when the
    bundle cannot be read (exit code 2).
    """
    with open_bundle(path) as reader:
        check = verify_log(reader, vkey, jobs=jobs, progress=progress)
        if check.failure is not None:
            return check.failure, []
        state = check.verifier.state
        found = [(i, d) for i, d in check.verifier.reports if d.get("report_id") == report_id]
        if not found:
            return Verdict.fail(7, f"the log has no ReportPublished entry for {report_id!r}",
                                rule="C7 report", size=state.size, root=state.root()), []
        failure, checks = check_reports(reader, found, reader.lines, only=report_id)
    index, data = found[0]
    lines = [
        f"report {report_id} (kind {data.get('kind')}) published at entry {index}: "
        f"sha256 {data.get('sha256')}, tree_size {data.get('tree_size')}, root {data.get('root')}"
    ]
    for item in checks:
        lines += [f"  {note}" for note in item.notes]
    if failure is not None:
        failure.size, failure.root = state.size, state.root()
        return failure, lines
    notes = "; ".join(n for c in checks for n in c.notes)
    summary = (f"reports/{report_id}.json matches its ReportPublished entry {index} "
               f"(SHA-256, tree size {data.get('tree_size')}, root); {notes}")
    return Verdict(True, state.size, state.root(), summary=summary), lines
