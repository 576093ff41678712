"""What each page shows, as plain dicts for the templates (DESIGN.md C2, C3, C4, C5, C7).

Each function reads a :class:`~api.pages.data.Snapshot` (inside its ``with``
block) and returns plain values, so a template never touches a live state.
Names replace ids wherever the registry knows them (departments, inspectors,
enterprises); entry indexes stay, with links to the entries and their
inclusion proofs at the snapshot's tree size (A10).
"""

from __future__ import annotations

import base64
import shlex
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from api.pages.charts import Bar, Series, bar_chart
from api.pages.data import (
    CASE_STATUS_LABELS,
    DRAW_STATUS_LABELS,
    ENTRY_LABELS,
    Snapshot,
    beijing_time,
    percent,
)
from ledger.domain.sampling import seed_bytes
from ledger.errors import LedgerError
from projections.common import result_label
from projections.compliance import RULES
from projections.register import KIND_LABELS, rectification_status
from projections.registry import report_from_states

__all__ = [
    "BUNDLE_NAME",
    "RULE_LABELS",
    "case_url",
    "case_view",
    "dashboard_view",
    "draw_status",
    "entry_url",
    "home_view",
    "log_view",
    "proof_url",
    "task_url",
    "task_view",
    "verify_commands",
]

View = dict[str, Any]
BUNDLE_NAME = "spotcheck-bundle.tar.gz"
"""File name the pages use for the downloaded export bundle (A9)."""

RULE_LABELS: dict[str, str] = {
    "draw_voided": "抽签作废",
    "team_too_small": "检查组不足 2 人",
    "team_missing_department": "检查组缺少联合部门",
    "conflict_assignment": "违反回避声明的指派",
    "publication_late": "逾期公示",
    "publication_missing": "超期未公示",
    "publication_deadline_unknown": "公示期限无法计算（缺少工作日历）",
    "rectification_overdue_without_follow_up": "整改逾期未跟进",
    "referral_unacknowledged": "移交线索未获确认接收",
    "integrity_missing": "缺少廉洁承诺",
    "repeat_inspection": "同一年度重复检查",
    "enforcement_without_trigger": "无触发条件的曝光/处罚",
    "trigger_without_enforcement": "有触发条件却未曝光/处罚",
}
"""Chinese names of the compliance report's finding kinds (``projections.compliance.RULES``)."""

_DECLARED = {"before_draw": "抽签前已声明", "after_draw": "抽签后声明",
             "after_inspection": "检查后才声明"}
_ENFORCEMENT = {"penalty": "行政处罚", "exposure": "曝光"}
_TRIGGER = {"major_hazard": "重大事故隐患", "refused_after_interview": "约谈后拒不整改"}


# ---------------------------------------------------------------------------
# URLs and commands


def task_url(task_id: str) -> str:
    return "/tasks/" + quote(task_id, safe="")


def case_url(case_id: str) -> str:
    return "/cases/" + quote(case_id, safe="")


def entry_url(index: int) -> str:
    """The A10 URL of one entry's canonical bytes."""
    return f"/v1/log/entries?start={index}&end={index + 1}"


def proof_url(index: int, size: int) -> str:
    """The A10 URL of an entry's inclusion proof in the tree of ``size``."""
    return f"/v1/log/proof/inclusion?index={index}&size={size}"


def verify_commands(snap: Snapshot, base_url: str, draw_id: str | None = None) -> dict[str, str]:
    """The exact shell commands to fetch the bundle and check it (and one draw) offline."""
    base = base_url.rstrip("/")
    vkey = snap.vkey or ""
    commands = {
        "download": shlex.join(["curl", "-fsS", "-o", BUNDLE_NAME, f"{base}/bundle.tar.gz"]),
        "bundle": shlex.join(["spotcheck-verify", "bundle", BUNDLE_NAME, "--vkey", vkey,
                              "--genesis-hash", snap.genesis_hash or ""]),
        "online": shlex.join(["spotcheck-verify", "online", base, "--vkey", vkey]),
    }
    if draw_id is not None:
        commands["draw"] = shlex.join(["spotcheck-verify", "draw", BUNDLE_NAME, draw_id,
                                       "--vkey", vkey])
    return commands


# ---------------------------------------------------------------------------
# Home: the year's plan table


def _window(task: Mapping[str, Any]) -> str:
    text = task.get("window_text")
    if isinstance(text, str) and text:
        return text
    start, end = task.get("window_start") or "", task.get("window_end") or ""
    return f"{start}至{end}" if start or end else ""


def _ratio_text(task: Mapping[str, Any]) -> str:
    text = task.get("ratio_text")
    if isinstance(text, str) and text:
        return text
    return percent(task.get("ratio"))


def _grade_ratios(task: Mapping[str, Any]) -> list[dict[str, str]]:
    grades = task.get("grade_ratios")
    if isinstance(grades, dict):
        return [{"grade": g, "ratio": percent(grades[g])} for g in sorted(grades)]
    if task.get("ratio") is not None:
        return [{"grade": "全部", "ratio": percent(task.get("ratio"))}]
    return []


def plan_row(snap: Snapshot, plan_no: str, task_id: str) -> View:
    """One row of the plan table, in the seed appendix's columns (DOMAIN.md §7)."""
    reg = snap.registry
    plan = reg["plans"][plan_no]
    task = reg["tasks"][task_id]
    return {
        "plan_no": plan_no,
        "plan_name": plan.get("plan_name") or "",
        "task_id": task_id,
        "task_no": task.get("task_no") or "",
        "task_name": task.get("task_name") or task_id,
        "kind": KIND_LABELS.get(task.get("kind") or "", ""),
        "ratio": _ratio_text(task),
        "check_items": task.get("items") or "",
        "scope": task.get("scope") or "",
        "initiator": snap.department(task.get("initiator")),
        "joint": "、".join(snap.department(d) for d in task.get("joint_departments", [])),
        "window": _window(task),
        "url": task_url(task_id),
        "year": (task.get("window_start") or "")[:4],
    }


def home_view(snap: Snapshot) -> View:
    """The plan tables (newest year first) and a few counts."""
    reg = snap.registry
    years: dict[str, list[View]] = {}
    for plan_no in sorted(reg["plans"]):
        for task_id in reg["plans"][plan_no]["tasks"]:
            row = plan_row(snap, plan_no, task_id)
            years.setdefault(row["year"], []).append(row)
    cases = list(snap.states["cases"]["cases"].values())
    live = [c for c in cases if c["void"] is None]
    draws = list(snap.states["pages"]["draws"].values())
    return {
        "years": [{"year": y, "rows": years[y]} for y in sorted(years, reverse=True)],
        "counts": {
            "plans": len(reg["plans"]),
            "tasks": sum(len(p["tasks"]) for p in reg["plans"].values()),
            "draws": len(draws),
            "voided": sum(1 for d in draws if d["voided"] is not None),
            "cases": len(live),
            "published": sum(1 for c in live if c["publications"]),
            "closed": sum(1 for c in live if c["closed"] is not None),
        },
    }


# ---------------------------------------------------------------------------
# Task: draws, seeds, strata, selections and teams


def draw_status(draw: Mapping[str, Any]) -> str:
    """scheduled / committing / revealing / performed / voided (C3)."""
    if draw["voided"] is not None:
        return "voided"
    if draw["performed"] is not None:
        return "performed"
    if draw["reveals"]:
        return "revealing"
    if draw["commitments"]:
        return "committing"
    return "scheduled"


def _seed_text(draw: Mapping[str, Any]) -> str | None:
    performed = draw["performed"]
    checkpoint = (performed or {}).get("checkpoint") or {}
    if performed is None or len(draw["reveals"]) != len(draw["parties"]):
        return None
    reveals = {party: r["secret"] for party, r in draw["reveals"].items()}
    size, root = checkpoint.get("size"), checkpoint.get("root")
    if not isinstance(size, int) or not isinstance(root, str):
        return None
    try:
        return seed_bytes("enterprises", draw["draw_id"], size, root, reveals).decode("utf-8")
    except (LedgerError, TypeError, AttributeError):
        return None


def _team(snap: Snapshot, members: Iterable[object]) -> list[dict[str, str]]:
    return [snap.inspector(m) for m in members]


def draw_view(snap: Snapshot, draw: Mapping[str, Any], base_url: str) -> View:
    """One draw as the task page shows it (A11 data, names resolved)."""
    status = draw_status(draw)
    performed = draw["performed"]
    cases = snap.states["cases"]["cases"]
    sizes = {s["stratum"]: s for s in draw["strata"]}
    strata: list[View] = []
    selected: list[View] = []
    teams = {str(t.get("enterprise")): t.get("inspectors", [])
             for t in (performed or {}).get("teams", [])}
    for item in (performed or {}).get("selection", []):
        label = item.get("stratum")
        frozen = sizes.get(label) or {"size": 0, "ratio": None}
        strata.append({"stratum": label, "size": frozen["size"],
                       "ratio": percent(frozen["ratio"]), "count": item.get("count"),
                       "selected": len(item.get("selected", []))})
        for usc in item.get("selected", []):
            case_id = f"{draw['draw_id']}:{usc}"
            case = cases.get(case_id)
            selected.append({
                "number": len(selected) + 1,
                "stratum": label,
                "enterprise": snap.enterprise(usc),
                "team": _team(snap, teams.get(str(usc), [])),
                "case_id": case_id if case is not None else None,
                "case_url": case_url(case_id) if case is not None else None,
                "status": CASE_STATUS_LABELS.get(case["status"], case["status"])
                if case is not None else "",
            })
    if performed is None:
        strata = [{"stratum": s["stratum"], "size": s["size"], "ratio": percent(s["ratio"]),
                   "count": None, "selected": None} for s in draw["strata"]]
    parties = []
    for party in draw["parties"]:
        name = party["party"]
        committed = draw["commitments"].get(name)
        revealed = draw["reveals"].get(name)
        parties.append({"party": name,
                        "committed": committed["index"] if committed else None,
                        "revealed": revealed["index"] if revealed else None})
    voided = draw["voided"]
    void_view = None
    if voided is not None:
        holder = snap.key_holder(voided["key"])
        void_view = {"reason": voided["reason"] or "", "by": holder["name"],
                     "department": holder["department"], "index": voided["index"],
                     "time": beijing_time(voided["logged_at"]),
                     "entry_url": entry_url(voided["index"])}
    checkpoint = (performed or {}).get("checkpoint") or {}
    return {
        "draw_id": draw["draw_id"],
        "anchor": "draw-" + quote(draw["draw_id"], safe=""),
        "status": status,
        "status_label": DRAW_STATUS_LABELS[status],
        "index": draw["index"],
        "time": beijing_time(draw["logged_at"]),
        "replaces": draw["replaces"],
        "replaced_by": draw["replaced_by"],
        "parties": parties,
        "required": [snap.department(d) for d in draw["required_departments"]],
        "team_size": draw["team_size"],
        "performed_index": performed["index"] if performed else None,
        "performed_time": beijing_time(performed["logged_at"]) if performed else "",
        "checkpoint_size": checkpoint.get("size"),
        "checkpoint_root": checkpoint.get("root"),
        "seed_text": _seed_text(draw),
        "seed": (performed or {}).get("seed"),
        "strata": strata,
        "selected": selected,
        "voided": void_view,
        "commands": verify_commands(snap, base_url, draw["draw_id"]) if performed else None,
    }


def task_view(snap: Snapshot, task_id: str, base_url: str) -> View | None:
    """The task page, or None when no imported plan has ``task_id``."""
    reg = snap.registry
    task = reg["tasks"].get(task_id)
    if task is None:
        return None
    row = plan_row(snap, task["plan_no"], task_id)
    draws = [snap.states["pages"]["draws"][d]
             for d in snap.states["pages"]["tasks"].get(task_id, [])]
    counts: Counter[str] = Counter()
    for case in snap.states["cases"]["cases"].values():
        if case["task_id"] == task_id:
            counts[case["status"]] += 1
    plan = reg["plans"][task["plan_no"]]
    return {
        "task": row,
        "grade_ratios": _grade_ratios(task),
        "sectors": "、".join(task.get("sectors") or []),
        "publication": f"{plan.get('days')} 个{plan.get('unit')}",
        "draws": [draw_view(snap, d, base_url) for d in draws],
        "counts": [{"status": CASE_STATUS_LABELS[s], "count": counts.get(s, 0)}
                   for s in CASE_STATUS_LABELS],
        "commands": verify_commands(snap, base_url),
    }


# ---------------------------------------------------------------------------
# Case: the public record


def _names(snap: Snapshot, members: object) -> str:
    if not isinstance(members, list):
        return ""
    return "、".join(f"{p['name']}（{p['department']}）" if p["department"] else p["name"]
                    for p in _team(snap, members))


def _detail(snap: Snapshot, kind: str, data: Mapping[str, Any]) -> str:
    """One line of public text for a whitelisted case entry (PUBLIC_CASE_FIELDS)."""
    day = data.get("date") or ""
    if kind == "CaseOpened":
        return f"抽签产生检查组：{_names(snap, data.get('inspectors'))}"
    if kind == "InspectorRecused":
        out = snap.inspector(data.get("inspector"))["name"]
        replacement = data.get("replacement")
        if replacement is None:
            return f"检查人员 {out} 回避，无符合条件的替补人员"
        return f"检查人员 {out} 回避，按抽签顺序由 {snap.inspector(replacement)['name']} 替补"
    if kind == "InspectionRecorded":
        end = data.get("end_date")
        when = f"{day}至{end}" if end and end != day else day
        items = "；".join(str(i) for i in data.get("items", []))
        return f"现场检查 {when}；检查人员：{_names(snap, data.get('inspectors'))}；" \
               f"检查事项：{items}"
    if kind == "FindingRecorded":
        return f"“{data.get('item', '')}”：{result_label(data.get('result'))}"
    if kind == "RectificationOrdered":
        items = "；".join(str(i) for i in data.get("items", []))
        return f"{day} 下达限期整改通知，整改期限 {data.get('deadline', '')}（{items}）"
    if kind == "RectificationVerified":
        return f"{day} 整改复查通过"
    if kind == "RectificationOverdue":
        return f"整改期限 {data.get('deadline', '')} 已过，未见复查通过（系统记录）"
    if kind == "InterviewHeld":
        return f"{day} 约谈企业主要负责人"
    if kind == "PenaltyDecided":
        return f"{day} 作出行政处罚决定"
    if kind == "Exposed":
        return f"{day} 曝光（{data.get('where') or ''}）"
    if kind == "Referred":
        return f"{day} 移交案件线索"
    if kind == "ReferralAcknowledged":
        return f"{day} 接收单位确认收到移交线索"
    if kind == "ResultPublished":
        what = "更正公示" if data.get("correction") else "公示检查结果"
        return f"{day} {what}（{data.get('where') or ''}）"
    if kind == "PublicationOverdue":
        return f"公示期限 {data.get('deadline', '')} 已过仍未公示（系统记录）"
    if kind == "IntegrityDeclared":
        return f"{snap.inspector(data.get('inspector'))['name']} 签署廉洁承诺（{day}）"
    if kind == "CaseClosed":
        return f"{day} 结案"
    return ""


def case_view(snap: Snapshot, case_id: str) -> View | None:
    """A case's public record (C4, C6), or None for an unknown case."""
    case = snap.states["cases"]["cases"].get(case_id)
    if case is None:
        return None
    reg = snap.registry
    task = reg["tasks"].get(case["task_id"] or "") or {}
    records = []
    for record in snap.states["pages"]["case_log"].get(case_id, []):
        index = record["index"]
        records.append({
            "index": index,
            "label": ENTRY_LABELS.get(record["type"], record["type"]),
            "type": record["type"],
            "time": beijing_time(record["logged_at"]),
            "detail": _detail(snap, record["type"], record["data"]),
            "entry_url": entry_url(index),
            "proof_url": proof_url(index, snap.size),
        })
    register_case = snap.states["register"]["cases"].get(case_id) or {}
    void = case["void"]
    draw = snap.states["pages"]["draws"].get(case["draw_id"]) or {}
    return {
        "case_id": case_id,
        "enterprise": snap.enterprise(case["enterprise"]),
        "task_id": case["task_id"],
        "task_name": task.get("task_name") or case["task_id"] or "",
        "task_url": task_url(case["task_id"]) if case["task_id"] else None,
        "plan_no": case["plan_no"],
        "draw_id": case["draw_id"],
        "draw_url": (task_url(case["task_id"]) + "#draw-" + quote(case["draw_id"], safe=""))
        if case["task_id"] else None,
        "status": CASE_STATUS_LABELS.get(case["status"], case["status"]),
        "void": None if void is None else {
            "reason": (draw.get("voided") or {}).get("reason") or void.get("reason") or "",
            "index": void["index"]},
        "team": _team(snap, case["team"]),
        "initial_team": _team(snap, case["initial_team"]),
        "team_changed": case["team"] != case["initial_team"],
        "rectification": _rectification(register_case),
        "records": records,
        "size": snap.size,
    }


def _rectification(case: Mapping[str, Any]) -> str:
    if not case:
        return ""
    return rectification_status(dict(case))


# ---------------------------------------------------------------------------
# Log


def log_view(snap: Snapshot, recent: list[dict[str, Any]], base_url: str) -> View:
    """The latest checkpoint and how to check it, with the last entries."""
    size = snap.size
    rows = [{"index": e["index"], "label": ENTRY_LABELS.get(e["type"], e["type"]),
             "type": e["type"], "stream": e["stream"], "time": beijing_time(e["logged_at"],
                                                                            seconds=True),
             "entry_url": entry_url(e["index"]), "proof_url": proof_url(e["index"], size)}
            for e in reversed(recent)]
    return {
        "size": size,
        "root_hex": snap.root.hex(),
        "root_b64": base64.b64encode(snap.root).decode("ascii"),
        "checkpoint": snap.checkpoint,
        "vkey": snap.vkey or "",
        "origin": snap.origin or "",
        "genesis_hash": snap.genesis_hash or "",
        "last_time": beijing_time(snap.last_logged_at, seconds=True),
        "recent": rows,
        "links": {
            "checkpoint": "/v1/log/checkpoint",
            "vkey": "/v1/log/vkey",
            "entries": f"/v1/log/entries?start=0&end={min(size, 100)}",
            "latest": entry_url(size - 1) if size else None,
            "inclusion": proof_url(size - 1, size) if size else None,
            "consistency": f"/v1/log/proof/consistency?from=1&to={size}" if size else None,
            "bundle": "/bundle.tar.gz",
        },
        "commands": verify_commands(snap, base_url),
    }


# ---------------------------------------------------------------------------
# Discipline dashboard (C7)


def _finding_text(snap: Snapshot, finding: Mapping[str, Any]) -> str:
    rule = finding["rule"]
    if rule == "draw_voided":
        by = finding.get("by") or {}
        who = by.get("name") or "（未知签名人）"
        if by.get("department"):
            who += f"（{snap.department(by['department'])}）"
        return f"抽签 {finding.get('draw_id')} 由 {who} 作废：{finding.get('reason') or ''}"
    if rule == "team_too_small":
        return f"检查组仅 {finding.get('size')} 人：{_names(snap, finding.get('team')) or '无'}"
    if rule == "team_missing_department":
        missing = "、".join(snap.department(d) for d in finding.get("missing", []))
        return f"检查组缺少：{missing}；检查组：{_names(snap, finding.get('team'))}"
    if rule == "conflict_assignment":
        who = snap.inspector(finding.get("inspector"))["name"]
        where = "仍在检查组" if finding.get("on_team") else "已不在检查组"
        present = "，并参加了现场检查" if finding.get("present_at_inspection") else ""
        return f"{who} 与该企业存在利害关系（{_DECLARED.get(finding.get('declared', ''), '')}），" \
               f"{where}{present}"
    if rule == "publication_late":
        return f"检查结束 {finding.get('inspection_end')}，应于 {finding.get('deadline')} 前公示" \
               f"（{finding.get('rule_days')} 个{finding.get('rule_unit')}），" \
               f"实际 {finding.get('published')} 公示"
    if rule == "publication_missing":
        return f"检查结束 {finding.get('inspection_end')}，" \
               f"应于 {finding.get('deadline')} 前公示，至今未公示"
    if rule == "publication_deadline_unknown":
        return f"检查结束 {finding.get('inspection_end')}：{finding.get('reason')}"
    if rule == "rectification_overdue_without_follow_up":
        return f"整改通知 {finding.get('order')} 期限 {finding.get('deadline')} 已过，" \
               "其后未见约谈、处罚或移交"
    if rule == "referral_unacknowledged":
        return f"{finding.get('referred') or ''} 移交 {snap.department(finding.get('to'))} 的" \
               f"线索 {finding.get('referral')} 未见确认接收"
    if rule == "integrity_missing":
        return f"未签署廉洁承诺：{_names(snap, finding.get('inspectors'))}"
    if rule == "repeat_inspection":
        visits = "；".join(f"{v['date']}（{v['task_id']}）" for v in finding.get("inspections", []))
        firm = snap.enterprise(finding.get("enterprise"))["name"]
        return f"{firm} 在 {finding.get('year')} 年被检查 {len(finding.get('inspections', []))} " \
               f"次：{visits}"
    if rule == "enforcement_without_trigger":
        kinds = "、".join(_ENFORCEMENT.get(k, k) for k in finding.get("enforcement", []))
        return f"作出{kinds}，但没有重大事故隐患，也没有约谈后拒不整改"
    if rule == "trigger_without_enforcement":
        kinds = "、".join(_TRIGGER.get(k, k) for k in finding.get("trigger", []))
        return f"存在{kinds}，结案时既未曝光也未处罚"
    return ""


def _draw_url(task_id: object, draw_id: str) -> str | None:
    if not isinstance(task_id, str):
        return None
    return task_url(task_id) + "#draw-" + quote(draw_id, safe="")


def _finding_links(snap: Snapshot, finding: Mapping[str, Any]) -> list[dict[str, str | None]]:
    """What a finding is about, as (text, url) links: its case, its draw or its visits."""
    case_id = finding.get("case_id")
    enterprise = finding.get("enterprise")
    name = snap.enterprise(enterprise)["name"] if enterprise else ""
    if isinstance(case_id, str):
        return [{"text": name or case_id, "url": case_url(case_id)}]
    if isinstance(finding.get("draw_id"), str):
        draw_id = finding["draw_id"]
        return [{"text": f"抽签 {draw_id}", "url": _draw_url(finding.get("task_id"), draw_id)}]
    visits = finding.get("inspections") or []
    if visits:
        return [{"text": f"{name}（{v['date']}）", "url": case_url(v["case_id"])}
                for v in visits]
    return [{"text": name or str(finding.get("task_id") or ""), "url": None}]


def _finding_view(snap: Snapshot, finding: Mapping[str, Any]) -> View:
    return {
        "rule": finding["rule"],
        "label": RULE_LABELS.get(finding["rule"], finding["rule"]),
        "links": _finding_links(snap, finding),
        "text": _finding_text(snap, finding),
        "entries": [{"index": i, "url": entry_url(i), "proof_url": proof_url(i, snap.size)}
                    for i in finding["entries"]],
    }


def _short_draw(draw_id: str) -> str:
    return draw_id.rsplit("-", 1)[-1] if "-" in draw_id else draw_id


def _charts(snap: Snapshot, report: Mapping[str, Any]) -> list[View]:
    fairness = report["fairness"]
    charts: list[View] = []

    # 1. selections per stratum against the ratio
    bars = []
    rows = []
    for draw in fairness["draws"]:
        if draw["status"] != "performed":
            continue
        for s in draw["strata"]:
            share = 100 * s["selected"] / s["candidates"] if s["candidates"] else 0.0
            ratio = percent(s["ratio"])
            try:
                planned = float(ratio.rstrip("%"))
            except ValueError:
                planned = None
            label = f"{draw['task_id']} {_short_draw(draw['draw_id'])} {s['stratum']}级"
            bars.append(Bar(label, (share,), f"{s['selected']}/{s['candidates']}", planned))
            rows.append([label, str(s["candidates"]), ratio, str(s["expected"]),
                         str(s["selected"]), f"{share:.1f}%", "是" if s["matches"] else "否"])
    charts.append({
        "id": "strata", "title": "各风险等级的抽取比例与计划比例",
        "svg": bar_chart("各风险等级的抽取比例与计划比例", bars,
                         [Series("实际抽取比例", "s1")], percent=True, scale=100,
                         marker_name="计划比例",
                         description="每次有效抽签中每个信用风险等级的抽取比例（条形）与计划比例"
                                     "（竖线）；抽取数为候选数乘比例向上取整。"),
        "columns": ["抽签 / 等级", "候选数", "计划比例", "应抽数", "实抽数", "实际比例", "一致"],
        "rows": rows,
    })

    # 2. repeat selections
    bars, rows = [], []
    for item in fairness["repeat_selections"][:15]:
        live = sum(1 for d in item["draws"] if not d["voided"])
        void = len(item["draws"]) - live
        name = snap.enterprise(item["enterprise"])["name"]
        bars.append(Bar(name, (float(live), float(void)), f"{len(item['draws'])} 次"))
        rows.append([name, item["enterprise"],
                     "；".join(d["draw_id"] + ("（已作废）" if d["voided"] else "")
                              for d in item["draws"])])
    charts.append({
        "id": "repeats", "title": "被多次抽中的企业",
        "svg": bar_chart("被多次抽中的企业", bars,
                         [Series("有效抽签", "s1"), Series("已作废抽签", "s3")],
                         description="被两次及以上抽签抽中的企业及其被抽中的次数。"),
        "columns": ["企业", "统一社会信用代码", "抽签"],
        "rows": rows,
    })

    # 3. inspector workload and repeated pairs
    summary = fairness["assignment_summary"]
    mean = float(summary["mean"]) if summary["mean"] is not None else None
    load = sorted(fairness["inspector_assignments"], key=lambda x: (-x["assignments"],
                                                                    x["inspector"]))
    bars = []
    rows = []
    for item in load[:25]:
        person = snap.inspector(item["inspector"])
        label = f"{person['name']}（{person['department']}）"
        bars.append(Bar(label, (float(item["assignments"]),), str(item["assignments"]), mean))
        rows.append([label, str(item["assignments"])])
    charts.append({
        "id": "workload", "title": "执法人员任务量（前 25 名）",
        "svg": bar_chart("执法人员任务量（前 25 名）", bars, [Series("检查组任务数", "s2")],
                         marker_name="平均", description="有效抽签中各执法人员被抽入检查组的次数，"
                                                         "竖线为平均次数。"),
        "columns": ["执法人员", "任务数"],
        "rows": rows,
        "note": f"共 {summary['inspectors']} 名执法人员、{summary['assignments']} 人次；"
                f"最少 {summary['min']}，最多 {summary['max']}，平均 {summary['mean']}。"
        if summary["inspectors"] else "",
    })
    bars, rows = [], []
    pairs = sorted(fairness["repeated_pairs"], key=lambda p: (-p["teams"], p["inspectors"]))
    for pair in pairs[:15]:
        names = " × ".join(snap.inspector(x)["name"] for x in pair["inspectors"])
        bars.append(Bar(names, (float(pair["teams"]),), f"{pair['teams']} 次"))
        rows.append([names, str(pair["teams"])])
    charts.append({
        "id": "pairs", "title": "多次同组的执法人员",
        "svg": bar_chart("多次同组的执法人员", bars, [Series("同组次数", "s2")],
                         description="在有效抽签中两次及以上被分在同一检查组的执法人员。"),
        "columns": ["执法人员", "同组次数"],
        "rows": rows,
    })

    # 4. publication timeliness per department
    charts.append(_timeliness(snap, report))
    return charts


_TIMELINESS = (("on_time", "按时公示", "s1"), ("late", "逾期公示", "s3"),
               ("missing", "超期未公示", "s4"), ("pending", "未到期", "s5"),
               ("unknown", "期限无法计算", "s6"))


def _timeliness(snap: Snapshot, report: Mapping[str, Any]) -> View:
    kinds = {"publication_late": "late", "publication_missing": "missing",
             "publication_deadline_unknown": "unknown"}
    marked: dict[str, str] = {}
    for finding in report["findings"]:
        kind = kinds.get(finding["rule"])
        if kind is not None:
            marked[finding["case_id"]] = kind
    plans = {p["plan_no"] for p in report["plans"]}
    register_cases = snap.states["register"]["cases"]
    per_department: dict[str, Counter[str]] = {}
    for case_id, case in sorted(snap.states["cases"]["cases"].items()):
        if case["plan_no"] not in plans or case["void"] is not None or case["inspection"] is None:
            continue
        kind = marked.get(case_id) or ("on_time" if case["publications"] else "pending")
        departments = (register_cases.get(case_id) or {}).get("departments") or [None]
        for dep in departments:
            per_department.setdefault(snap.department(dep) or "（未知部门）", Counter())[kind] += 1
    used = [t for t in _TIMELINESS if any(c[t[0]] for c in per_department.values())] \
        or list(_TIMELINESS[:2])
    bars, rows = [], []
    for name in sorted(per_department):
        counts = per_department[name]
        total = sum(counts.values())
        bars.append(Bar(name, tuple(float(counts[k]) for k, _, _ in used),
                        f"{counts['on_time']}/{total} 按时"))
        rows.append([name, *(str(counts[k]) for k, _, _ in used), str(total)])
    return {
        "id": "timeliness", "title": "各部门结果公示及时性",
        "svg": bar_chart("各部门结果公示及时性", bars, [Series(n, css) for _, n, css in used],
                         description="按参加检查的部门统计已检查案件的公示情况：按时、逾期、"
                                     "超期未公示、尚未到期。公示期限按计划规定的工作日数和日志中"
                                     "的工作日历计算。"),
        "columns": ["部门", *(n for _, n, _ in used), "合计"],
        "rows": rows,
    }


def dashboard_view(snap: Snapshot, plan_no: str | None, base_url: str) -> View:
    """The compliance report (C7) of one plan (or all) at the snapshot's size, with charts."""
    states = {name: snap.states[name] for name in ("cases", "compliance", "fairness")}
    report = report_from_states("compliance", states, {"plan_no": plan_no,
                                                       "tree_size": snap.size,
                                                       "root": snap.root.hex()})
    summary = [{"rule": r, "label": RULE_LABELS[r], "count": report["summary"][r]}
               for r in RULES]
    plans = []
    for plan in report["plans"]:
        tasks = []
        for task in plan["tasks"]:
            draws = []
            for draw in task["draws"]:
                voided = draw["voided"]
                draws.append({
                    "draw_id": draw["draw_id"],
                    "status": DRAW_STATUS_LABELS.get(draw["status"], draw["status"]),
                    "replaces": draw["replaces"],
                    "cases": draw["cases"],
                    "url": _draw_url(task["task_id"], draw["draw_id"]),
                    "entries": [i for i in (draw["scheduled_index"], draw["performed_index"],
                                            voided["index"] if voided else None)
                                if i is not None],
                    "voided": None if voided is None else {
                        "by": voided["by"].get("name") or "",
                        "department": snap.department(voided["by"].get("department")),
                        "reason": voided["reason"] or "", "index": voided["index"]},
                })
            tasks.append({"task_id": task["task_id"], "task_name": task["task_name"],
                          "url": task_url(task["task_id"]), "draws": draws,
                          "cases": task["cases"],
                          "findings": [{"label": RULE_LABELS.get(r, r), "count": n}
                                       for r, n in task["findings"].items()]})
        plans.append({"plan_no": plan["plan_no"], "plan_name": plan["plan_name"],
                      "rule": f"{plan['publication_rule']['days']} 个"
                              f"{plan['publication_rule']['unit']}",
                      "tasks": tasks})
    groups = []
    for rule in RULES:
        found = [_finding_view(snap, f) for f in report["findings"] if f["rule"] == rule]
        if found:
            groups.append({"rule": rule, "label": RULE_LABELS[rule], "findings": found})
    chi = []
    for row in report["fairness"]["chi_square"]:
        chi.append({"by": {"town": "乡镇", "sector": "行业"}.get(row["by"], row["by"]),
                    "groups": len(row["groups"]), "statistic": row["statistic"],
                    "df": row["df"], "p_value": row["p_value"] or "—",
                    "min_expected": row["min_expected"] or "—"})
    reports = []
    for report_id, item in sorted(snap.states["pages"]["reports"].items(),
                                  key=lambda kv: kv[1]["index"]):
        if plan_no is not None and item.get("plan_no") != plan_no:
            continue
        reports.append({
            "report_id": report_id, "kind": item.get("kind"), "plan_no": item.get("plan_no"),
            "tree_size": item.get("tree_size"), "sha256": item.get("sha256"),
            "index": item["index"], "time": beijing_time(item["logged_at"]),
            "entry_url": entry_url(item["index"]),
            "command": shlex.join(["spotcheck-verify", "report", BUNDLE_NAME, report_id,
                                   "--vkey", snap.vkey or ""]),
        })
    return {
        "plan_no": plan_no,
        "tree_size": report["tree_size"],
        "root": report["root"],
        "as_of": beijing_time(report["as_of"]),
        "as_of_date": report["as_of_date"],
        "summary": summary,
        "total": len(report["findings"]),
        "plans": plans,
        "groups": groups,
        "charts": _charts(snap, report),
        "chi_square": chi,
        "reports": reports,
        "commands": verify_commands(snap, base_url),
    }
