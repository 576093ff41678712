"""OpenAPI documentation of every action's ``args`` (DESIGN.md A3, A12, Part C).

These JSON Schemas *describe* the arguments :mod:`ledger.domain.decide`
accepts, with one worked example per action, for the OpenAPI document: the
request body of ``POST /v1/commands`` lists every action as an example, and
each documentation route ``POST /v1/actions/<action>`` carries the action's
own schema.  They are documentation, not the authority: the server never
validates a command against them, it hands the command to the domain, which
refuses it with the rule named (B1, B5).

Example commands are signed with a fixed demonstration key
(:data:`EXAMPLE_SIGNER`), so their signatures verify, but that key is in no
log: submitting an example gets ``403 A3 key unknown``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ledger.domain.roles import ACTIONS, ROLES

Schema = dict[str, Any]

# -- building blocks ----------------------------------------------------------------
ID: Schema = {"type": "string", "pattern": "^[^\\x00-\\x20\\x7f/:]{1,64}$",
              "description": "1-64 characters, no space, '/' or ':'"}
TEXT: Schema = {"type": "string", "minLength": 1, "maxLength": 500}
LONG_TEXT: Schema = {"type": "string", "minLength": 1, "maxLength": 5000}
DATE: Schema = {"type": "string", "format": "date", "description": "YYYY-MM-DD (A1)"}
TIME: Schema = {"type": "string",
                "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$",
                "description": "RFC 3339 UTC, six fractional digits, Z (A1)"}
HEX64: Schema = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
KEY_ID: Schema = {"type": "string", "pattern": "^[0-9a-f]{16}$",
                  "description": "A2 key id: hex of the first 8 bytes of SHA-256(public key)"}
PUBLIC_KEY: Schema = {"type": "string", "pattern": "^[A-Za-z0-9+/]{43}=$",
                      "description": "base64 of the raw 32-byte Ed25519 public key"}
RATIO: Schema = {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$",
                 "description": "decimal string such as \"0.05\" (A1: no floats)"}
NULLABLE_TEXT: Schema = {"anyOf": [TEXT, {"type": "null"}]}
TEXTS: Schema = {"type": "array", "items": TEXT, "minItems": 1, "uniqueItems": True}
CASE_ID: Schema = {"type": "string", "minLength": 1, "maxLength": 200,
                   "description": "<draw id>:<enterprise credit code>, from CaseOpened"}
GRADE: Schema = {"type": "string", "enum": ["A", "B", "C", "D"]}
SECTOR: Schema = {"type": "string",
                  "enum": ["工贸", "危化", "加油站", "非煤矿山", "安全服务机构", "煤矿"]}
USC: Schema = {"type": "string", "pattern": "^[0-9A-Z]{18}$",
               "description": "统一社会信用代码, check digit per GB 32100-2015"}


def _obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
        "additionalProperties": False,
    }


HOLDER = _obj({"name": TEXT, "department": {"anyOf": [ID, {"type": "null"}]},
               "inspector": {"anyOf": [ID, {"type": "null"}]}})
ENTERPRISE_ROW = _obj({"usc": USC, "name": TEXT, "sector": SECTOR, "town": TEXT,
                       "grade": GRADE,
                       "status": {"type": "string", "enum": ["active", "closed", "deregistered"]}})
INSPECTOR_ROW = _obj({"id": ID, "name": TEXT, "cert_no": TEXT, "department": ID,
                      "active": {"type": "boolean"}})
TASK = _obj(
    {"task_id": ID, "task_name": TEXT,
     "kind": {"anyOf": [{"type": "string", "enum": ["directed", "undirected"]},
                        {"type": "null"}], "description": "定向 / 不定向 / blank"},
     "ratio": {"anyOf": [RATIO, {"type": "null"}]},
     "sectors": {"type": "array", "items": SECTOR, "uniqueItems": True},
     "initiator": ID, "joint_departments": {"type": "array", "items": ID, "uniqueItems": True},
     "window_start": DATE, "window_end": DATE},
    {"task_no": TEXT, "items": TEXT, "scope": TEXT, "ratio_text": TEXT, "window_text": TEXT,
     "ratio_by_grade": {"type": "boolean"},
     "grade_ratios": _obj({"A": RATIO, "B": RATIO, "C": RATIO, "D": RATIO}),
     "towns": TEXTS, "grades": {"type": "array", "items": GRADE, "minItems": 1}},
)


@dataclass(frozen=True)
class ActionDoc:
    """One row of A12 with its argument schema and an example."""

    action: str
    summary: str
    args: Schema
    example: dict[str, Any]

    @property
    def entry_type(self) -> str:
        return ACTIONS[self.action].entry_type

    @property
    def signers(self) -> str:
        alts = ACTIONS[self.action].signers
        return ", ".join("+".join([a.role, *sorted(a.conditions)]) for a in alts)


_CASE = "d2023-01:914403001922038216"
_DAY = "2023-03-01"
_DOCS: tuple[ActionDoc, ...] = (
    ActionDoc("keys.register", "Register a person's key with roles (A7)", _obj({
        "key": KEY_ID, "public_key": PUBLIC_KEY, "holder": HOLDER,
        "roles": {"type": "array", "items": {"type": "string", "enum": sorted(ROLES)},
                  "minItems": 1, "uniqueItems": True},
        "valid_from": TIME}), {
        "key": "<key id>", "public_key": "<base64 public key>",
        "holder": {"name": "张三", "department": "yjj", "inspector": "yjj-001"},
        "roles": ["inspector"], "valid_from": "2023-03-01T00:00:00.000000Z"}),
    ActionDoc("keys.revoke", "Revoke a key (A7)", _obj({"key": KEY_ID, "reason": TEXT}),
              {"key": "0123456789abcdef", "reason": "调离岗位"}),
    ActionDoc("calendar.set", "Log a year's official working calendar (C5)", _obj(
        {"year": {"type": "integer", "minimum": 1949, "maximum": 2999},
         "holidays": {"type": "array", "items": DATE, "uniqueItems": True},
         "workdays": {"type": "array", "items": DATE, "uniqueItems": True}},
        {"source": TEXT}), {
        "year": 2023, "holidays": ["2023-01-02", "2023-01-23"], "workdays": ["2023-01-28"],
        "source": "国务院办公厅关于2023年部分节假日安排的通知"}),
    ActionDoc("departments.register", "Register a department (C1)",
              _obj({"department": ID, "name": TEXT}),
              {"department": "yjj", "name": "县应急管理局"}),
    ActionDoc("enterprises.import", "Import enterprises into the 监管主体名录库 (C1)",
              _obj({"rows": {"type": "array", "items": ENTERPRISE_ROW, "minItems": 1}}),
              {"rows": [{"usc": "914403001922038216", "name": "承德某化工有限公司",
                         "sector": "危化", "town": "下板城镇", "grade": "B",
                         "status": "active"}]}),
    ActionDoc("enterprises.update", "Change an enterprise's registry fields (C1)", _obj(
        {"usc": USC},
        {"name": TEXT, "sector": SECTOR, "town": TEXT, "grade": GRADE,
         "status": {"type": "string", "enum": ["active", "closed", "deregistered"]},
         "reason": TEXT}),
        {"usc": "914403001922038216", "grade": "C", "reason": "信用风险分类调整"}),
    ActionDoc("inspectors.import", "Import inspectors into the 执法人员名录库 (C1)",
              _obj({"rows": {"type": "array", "items": INSPECTOR_ROW, "minItems": 1}}),
              {"rows": [{"id": "yjj-001", "name": "张三", "cert_no": "13082100001",
                         "department": "yjj", "active": True}]}),
    ActionDoc("inspectors.update", "Change an inspector's registry fields (C1)", _obj(
        {"id": ID},
        {"name": TEXT, "cert_no": TEXT, "department": ID, "active": {"type": "boolean"},
         "reason": TEXT}),
        {"id": "yjj-001", "active": False, "reason": "退休"}),
    ActionDoc("conflicts.declare", "Declare a conflict of interest (C1, C3)",
              _obj({"inspector": ID, "enterprise": USC, "reason": TEXT}),
              {"inspector": "yjj-001", "enterprise": "914403001922038216",
               "reason": "近亲属在该企业任职"}),
    ActionDoc("plans.import", "Import a year's spot-check plan (C2)", _obj(
        {"plan_no": ID, "plan_name": TEXT,
         "tasks": {"type": "array", "items": TASK, "minItems": 1},
         "publication": _obj({"days": {"type": "integer", "minimum": 1, "maximum": 366},
                              "unit": {"type": "string", "enum": ["工作日", "日"]}})}), {
        "plan_no": "2023-01", "plan_name": "2023年度双随机抽查工作计划",
        "tasks": [{"task_id": "2023-01-1", "task_name": "危化企业安全生产检查",
                   "kind": "directed", "ratio": "0.05", "sectors": ["危化"],
                   "initiator": "yjj", "joint_departments": ["scjgj"],
                   "window_start": "2023-02-01", "window_end": "2023-11-30"}],
        "publication": {"days": 7, "unit": "工作日"}}),
    ActionDoc("draws.schedule", "Freeze a draw's candidates, pool and parties (A11, C3)", _obj({
        "draw_id": ID, "task_id": ID, "replaces": {"anyOf": [ID, {"type": "null"}]},
        "parties": {"type": "array", "minItems": 1,
                    "items": _obj({"party": TEXT, "key": KEY_ID})},
        "strata": {"type": "array", "items": _obj({
            "stratum": {"type": "string"}, "ratio": RATIO,
            "candidates": {"type": "array", "items": USC}})},
        "inspectors": {"type": "array", "items": _obj(
            {"id": ID, "department": ID, "active": {"type": "boolean"}})},
        "conflicts": {"type": "array", "items": _obj({"inspector": ID, "enterprise": USC})},
        "required_departments": {"type": "array", "items": ID},
        "team_size": {"type": "integer", "minimum": 2},
        "max_load": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]}}), {
        "draw_id": "d2023-01", "task_id": "2023-01-1", "replaces": None,
        "parties": [{"party": "yjj", "key": "0123456789abcdef"}],
        "strata": [{"stratum": "B", "ratio": "0.05", "candidates": ["914403001922038216"]}],
        "inspectors": [{"id": "yjj-001", "department": "yjj", "active": True},
                       {"id": "scjgj-001", "department": "scjgj", "active": True}],
        "conflicts": [], "required_departments": ["scjgj", "yjj"],
        "team_size": 2, "max_load": None}),
    ActionDoc("draws.commit", "Commit to a secret: SHA-256 hex of 32 bytes (A11)",
              _obj({"draw_id": ID, "party": TEXT, "commitment": HEX64}),
              {"draw_id": "d2023-01", "party": "yjj", "commitment": "0" * 64}),
    ActionDoc("draws.reveal", "Reveal the committed secret (A11); the last reveal performs "
              "the draw", _obj({"draw_id": ID, "party": TEXT, "secret": HEX64}),
              {"draw_id": "d2023-01", "party": "yjj", "secret": "1" * 64}),
    ActionDoc("draws.void", "Void a draw, with a reason (C3)",
              _obj({"draw_id": ID, "reason": {"type": "string", "minLength": 1,
                                              "maxLength": 1000}}),
              {"draw_id": "d2023-01", "reason": "候选名单有误"}),
    ActionDoc("cases.recuse", "An inspector steps aside; the replacement is drawn (C3)", _obj(
        {"case_id": CASE_ID, "inspector": ID, "reason": TEXT}, {"replacement": ID}),
        {"case_id": _CASE, "inspector": "yjj-001", "reason": "与企业负责人系亲属"}),
    ActionDoc("cases.record_inspection", "Record the on-site inspection (C4)", _obj(
        {"case_id": CASE_ID, "date": DATE, "inspectors": TEXTS, "items": TEXTS},
        {"end_date": DATE}),
        {"case_id": _CASE, "date": _DAY, "inspectors": ["yjj-001", "scjgj-001"],
         "items": ["安全生产责任制落实情况"]}),
    ActionDoc("cases.record_finding", "Record the result of one check item (C4)", _obj({
        "case_id": CASE_ID, "item": TEXT, "result": TEXT,
        "hazard": {"anyOf": [{"type": "string", "enum": ["一般", "重大"]}, {"type": "null"}]},
        "text": LONG_TEXT, "evidence": {"type": "array", "items": HEX64, "uniqueItems": True}}),
        {"case_id": _CASE, "item": "安全生产责任制落实情况", "result": "发现问题待后续处理",
         "hazard": "一般", "text": "未建立全员安全生产责任制", "evidence": ["a" * 64]}),
    ActionDoc("cases.order_rectification", "Issue a 限期整改通知书 on the spot (C4)", _obj(
        {"case_id": CASE_ID, "order": TEXT, "date": DATE, "deadline": DATE, "items": TEXTS}),
        {"case_id": _CASE, "order": "承县应急责改〔2023〕1号", "date": _DAY,
         "deadline": "2023-03-31", "items": ["安全生产责任制落实情况"]}),
    ActionDoc("cases.verify_rectification", "Record that an order was complied with (C4)",
              _obj({"case_id": CASE_ID, "order": TEXT, "date": DATE}),
              {"case_id": _CASE, "order": "承县应急责改〔2023〕1号", "date": "2023-03-30"}),
    ActionDoc("cases.record_interview", "Record a 约谈 and its outcome (C4)", _obj(
        {"case_id": CASE_ID, "date": DATE, "person": TEXT,
         "outcome": {"type": "string", "enum": ["agreed", "refused"]}}),
        {"case_id": _CASE, "date": "2023-04-03", "person": "李四（法定代表人）",
         "outcome": "agreed"}),
    ActionDoc("cases.decide_penalty", "Record a 行政处罚 decision; amount in fen (C4)", _obj(
        {"case_id": CASE_ID, "decision": TEXT, "date": DATE,
         "amount_fen": {"type": "integer", "minimum": 0, "maximum": 9007199254740991},
         "basis": TEXT}),
        {"case_id": _CASE, "decision": "承县应急罚〔2023〕1号", "date": "2023-04-10",
         "amount_fen": 2000000, "basis": "《安全生产法》第九十七条"}),
    ActionDoc("cases.refer", "Hand case clues to a receiving body (C4)", _obj(
        {"case_id": CASE_ID, "referral": TEXT, "date": DATE, "to": TEXT, "summary": LONG_TEXT}),
        {"case_id": _CASE, "referral": "移2023-1", "date": "2023-04-12", "to": "县纪委监委",
         "summary": "检查中发现的问题线索"}),
    ActionDoc("cases.acknowledge_referral", "The receiving body acknowledges (C4)",
              _obj({"case_id": CASE_ID, "referral": TEXT, "date": DATE}),
              {"case_id": _CASE, "referral": "移2023-1", "date": "2023-04-14"}),
    ActionDoc("cases.expose", "Record a public exposure (曝光) (C4)",
              _obj({"case_id": CASE_ID, "date": DATE, "where": TEXT}),
              {"case_id": _CASE, "date": "2023-04-15", "where": "承德县人民政府网"}),
    ActionDoc("cases.publish", "Publish the result (一公开) (C5)", _obj(
        {"case_id": CASE_ID, "date": DATE, "where": TEXT}, {"correction": {"type": "boolean"}}),
        {"case_id": _CASE, "date": "2023-03-08", "where": "国家企业信用信息公示系统"}),
    ActionDoc("cases.declare_integrity", "An inspector's 廉洁承诺 after the visit (C4)", _obj({
        "case_id": CASE_ID, "inspector": ID, "date": DATE,
        "no_banquet": {"const": True}, "no_gift": {"const": True}, "no_money": {"const": True}}),
        {"case_id": _CASE, "inspector": "yjj-001", "date": _DAY, "no_banquet": True,
         "no_gift": True, "no_money": True}),
    ActionDoc("cases.close", "Close the case (C4)", _obj({"case_id": CASE_ID, "date": DATE}),
              {"case_id": _CASE, "date": "2023-05-01"}),
    ActionDoc("reports.publish", "Publish a compliance report's hash and coverage (C7)", _obj({
        "report_id": ID, "kind": {"type": "string", "minLength": 1, "maxLength": 64},
        "plan_no": {"anyOf": [ID, {"type": "null"}]}, "sha256": HEX64,
        "tree_size": {"type": "integer", "minimum": 1, "maximum": 9007199254740991},
        "root": HEX64}), {
        "report_id": "compliance-2023-01", "kind": "compliance", "plan_no": "2023-01",
        "sha256": "b" * 64, "tree_size": 120, "root": "c" * 64}),
)

ACTION_DOCS: dict[str, ActionDoc] = {
    # An action added to A12 before it is documented here still gets a route.
    **{action: ActionDoc(action, f"{spec.entry_type} (A12)", {"type": "object"}, {})
       for action, spec in ACTIONS.items()},
    **{doc.action: doc for doc in _DOCS},
}

COMMAND_SCHEMA: Schema = {
    "title": "Command",
    "description": "A signed command (A3): exactly these six members. `sig` signs "
                   "\"spotcheck-ledger/1 command\\n\" + the canonical JSON (RFC 8785) of the "
                   "command without `sig`.",
    "type": "object",
    "required": ["action", "args", "key", "nonce", "issued_at", "sig"],
    "properties": {
        "action": {"type": "string", "enum": sorted(ACTIONS)},
        "args": {"type": "object"},
        "key": KEY_ID,
        "nonce": {"type": "string", "pattern": "^[A-Za-z0-9+/]{21}[AQgw]==$",
                  "description": "base64 of 16 random bytes"},
        "issued_at": TIME,
        "sig": {"type": "string", "pattern": "^[A-Za-z0-9+/]{85}[AQgw]==$",
                "description": "base64 Ed25519 signature (64 bytes)"},
    },
    "additionalProperties": False,
}


def schema_name(action: str) -> str:
    """Component name of an action's command schema, e.g. ``Command_cases_record_finding``."""
    return "Command_" + action.replace(".", "_")


def action_command_schema(action: str) -> Schema:
    """The command schema with ``action`` fixed and ``args`` the action's own schema."""
    doc = ACTION_DOCS[action]
    properties = dict(COMMAND_SCHEMA["properties"])
    properties["action"] = {"const": action}
    properties["args"] = doc.args
    return {**COMMAND_SCHEMA, "title": schema_name(action), "properties": properties}


def _example_signer() -> Any:
    from ledger.keys import KeyPair

    return KeyPair.from_seed("example", hashlib.sha256(b"spotcheck-ledger example key").digest())


def example_command(action: str) -> dict[str, Any]:
    """A signed example of ``action`` (the demonstration key; not registered in any log)."""
    from ledger.commands import sign_command

    pair = _example_signer()
    args = dict(ACTION_DOCS[action].example)
    if action == "keys.register":
        args.update(key=pair.key_id, public_key=pair.public_key_b64)
    nonce = hashlib.sha256(f"example nonce {action}".encode()).digest()[:16]
    return sign_command(pair, action, args, issued_at="2023-03-01T08:00:00.000000Z", nonce=nonce)


def description(action: str) -> str:
    doc = ACTION_DOCS[action]
    return (f"{doc.summary}. Appends one `{doc.entry_type}` entry (A12). Who may sign: "
            f"{doc.signers}. Same body and answers as `POST /v1/commands`; the body's "
            f"`action` must be `{action}`.")
