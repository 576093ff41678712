"""Replay one draw of a bundle and show how it came out (DESIGN.md A11, C3).

``spotcheck-verify draw DIR DRAW_ID`` prints the seed inputs (the exact
``seed_bytes`` text of ``vectors/draw/README.md`` §3), every stratum's size,
ratio and count, the selected enterprises and the inspector teams, and says
whether they match the logged ``DrawPerformed`` and ``CaseOpened`` entries.

The whole bundle is verified first, exactly as ``spotcheck-verify bundle``
does (steps 1-7): a draw is only as good as the log that holds it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ledger.bundle import open_bundle
from ledger.domain.sampling import seed_bytes
from ledger.errors import LedgerError
from ledger.replay import DrawLog, LogState
from tools.verify.bundle import Verdict, verify_log

__all__ = ["describe_draw", "verify_draw"]


def describe_draw(draw: DrawLog) -> tuple[dict[str, Any], list[str]]:
    """The replayed draw as JSON-able facts and as readable lines (A11, C3)."""
    expected = draw.expected_performed()
    if draw.commit_checkpoint is None:
        raise AssertionError("bad math: a replayed draw without its commit checkpoint")
    size, root_hex = draw.commit_checkpoint
    text = seed_bytes("enterprises", draw.draw_id, size, root_hex, draw.reveals).decode("utf-8")
    by_label = {s["stratum"]: s for s in draw.scheduled.get("strata", [])}
    strata = []
    for item in expected["selection"]:
        source = by_label.get(item["stratum"], {})
        strata.append({
            "stratum": item["stratum"],
            "size": len(source.get("candidates", [])),
            "ratio": source.get("ratio"),
            "count": item["count"],
            "selected": item["selected"],
        })
    facts = {
        "draw_id": draw.draw_id,
        "task_id": draw.scheduled.get("task_id"),
        "checkpoint": {"size": size, "root": root_hex},
        "seed_bytes": text,
        "seed": expected["seed"],
        "strata": strata,
        "teams": expected["teams"],
    }
    lines = [f"draw {draw.draw_id} (task {draw.scheduled.get('task_id')}), scheduled at entry "
             f"{draw.scheduled_at}; parties: "
             + ", ".join(f"{p} (key {k})" for p, k in draw.parties.items())]
    lines.append(f"seed inputs (seed_bytes; the checkpoint is the tree after the last "
                 f"DrawCommitted, size {size}):")
    lines += ["  " + line for line in text.splitlines()]
    lines.append(f"seed: {expected['seed']}")
    for s in strata:
        lines.append(f"stratum {s['stratum']}: {s['size']} candidates, ratio {s['ratio']}, "
                     f"count {s['count']}: {', '.join(s['selected']) or '-'}")
    for team in expected["teams"]:
        members = ", ".join(team["inspectors"]) or "- (short team)"
        lines.append(f"team for {team['enterprise']}: {members}")
    return facts, lines


def verify_draw(
    path: Path, draw_id: str, *, vkey: str | None = None, jobs: int | None = None,
    progress: bool = True,
) -> tuple[Verdict, list[str]]:
    """Verify the bundle at ``path`` and replay its draw ``draw_id``; verdict and details.

    The whole bundle goes through steps 1-7 (:func:`tools.verify.bundle.verify_log`;
    without ``vkey`` the checkpoint is checked with the genesis's own key).
    Raises ``OSError`` when the bundle cannot be read (exit code 2).
    """
    with open_bundle(path) as reader:
        check = verify_log(reader, vkey, jobs=jobs, progress=progress)
    state = check.verifier.state
    if check.failure is not None:
        line = check.verifier.failed_line
        if line is not None and check.failure.first_bad_index == state.size:
            return _refused(state, draw_id, line, check.failure)
        return check.failure, []
    draw = state.draw(draw_id)
    if draw is None:
        return Verdict.fail(6, f"the log has no draw {draw_id!r}", rule="A11 draw",
                            size=state.size, root=state.root()), []
    if draw.performed is None:
        what = "voided" if draw.voided else "not performed"
        reveals = f"{len(draw.reveals)}/{len(draw.parties)} reveals"
        return Verdict.fail(6, f"draw {draw_id!r} is {what} ({len(draw.commitments)}/"
                            f"{len(draw.parties)} commitments, {reveals})", rule="A11 draw",
                            size=state.size, root=state.root()), []
    facts, lines = describe_draw(draw)
    lines.append(f"DrawPerformed at entry {draw.performed_at}: matches the replay; "
                 f"{len(draw.cases)} case(s) opened with these teams")
    if draw.voided:
        lines.append(f"draw {draw_id} was voided later: its cases are void")
    facts["matches"] = True
    facts["performed_at"] = draw.performed_at
    selected = sum(len(s["selected"]) for s in facts["strata"])
    summary = (f"draw {draw_id} replays to the logged DrawPerformed: {selected} enterprise(s) "
               f"selected in {len(facts['strata'])} stratum(s), teams match; the bundle "
               f"verifies ({state.size} entries)")
    return Verdict(True, state.size, state.root(), summary=summary, extra={"draw": facts}), lines


def _refused(
    state: LogState, draw_id: str, line: bytes, verdict: Verdict
) -> tuple[Verdict, list[str]]:
    """The log refused an entry: explain it, with the replay when it is our draw's."""
    draw = state.draw(draw_id)
    if draw is None or len(draw.reveals) != len(draw.parties) or draw.performed is not None:
        return verdict, []
    try:
        facts, lines = describe_draw(draw)
    except LedgerError:
        return verdict, []
    try:
        logged = json.loads(line)
    except ValueError:
        logged = None
    if isinstance(logged, dict) and logged.get("type") == "DrawPerformed":
        lines.append(f"DrawPerformed at entry {verdict.first_bad_index} does NOT match the "
                     "replay:")
        lines.append("  logged: " + json.dumps(logged.get("data"), ensure_ascii=False))
    facts["matches"] = False
    verdict.extra = {"draw": facts}
    return verdict, lines
