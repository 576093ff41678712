"""Registry rows and code lists (DESIGN.md C1, C4; DOMAIN.md §1-§5).

Pure validation for the registry commands of A12: departments, the
监管主体名录库 (enterprise registry), the 执法人员名录库 (inspector registry) and
conflict-of-interest (回避) declarations. An import is all-or-nothing: every
row is checked and either the normalised rows come back (the ``rows`` of an
``EnterprisesImported``/``InspectorsImported`` entry) or ``ImportRowsError``
lists every problem, one per line, with the row number the user sees.

Also the official 抽查检查结果 code list (DOMAIN.md §2) and the hazard levels
(一般/重大事故隐患, DOMAIN.md §4). Standard library and ``ledger.errors``
only: this module is on the verifier's light path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from ledger.domain.uscc import validate_uscc
from ledger.errors import FormatError, RuleError

RULE_REGISTRY = "C1 registry"
RULE_IMPORT = "C1 import"
RULE_CONFLICT = "C1 conflicts"
RULE_RESULT = "C4 result category"
RULE_HAZARD = "C4 hazard level"

ID_RE = re.compile(r"\A[A-Za-z0-9_-]{1,32}\Z")
"""Department and inspector ids."""

SECTORS = ("工贸", "危化", "加油站", "非煤矿山", "安全服务机构", "煤矿")
"""Industry sectors (行业) of the enterprise registry."""

GRADES = ("A", "B", "C", "D")
"""Credit-risk grades (信用风险分类, DOMAIN.md §3): A low … D high."""

GRADE_LABELS = {"A": "信用风险低", "B": "信用风险一般", "C": "信用风险较高", "D": "信用风险高"}

STATUSES = ("active", "closed", "deregistered")

ENTERPRISE_FIELDS = ("usc", "name", "sector", "town", "grade", "status")
INSPECTOR_FIELDS = ("id", "name", "cert_no", "department", "active")

ENTERPRISE_HEADERS: dict[str, str] = {
    "统一社会信用代码": "usc",
    "社会信用代码": "usc",
    "信用代码": "usc",
    "企业名称": "name",
    "单位名称": "name",
    "名称": "name",
    "行业": "sector",
    "行业类别": "sector",
    "所属行业": "sector",
    "乡镇": "town",
    "所属乡镇": "town",
    "风险等级": "grade",
    "信用风险等级": "grade",
    "信用风险分类": "grade",
    "状态": "status",
    "经营状态": "status",
}
"""Chinese column headers accepted for enterprise rows (plus the field names)."""

INSPECTOR_HEADERS: dict[str, str] = {
    "编号": "id",
    "人员编号": "id",
    "执法人员编号": "id",
    "姓名": "name",
    "执法证号": "cert_no",
    "执法证件号": "cert_no",
    "部门": "department",
    "所属部门": "department",
    "在岗": "active",
    "是否在岗": "active",
}
"""Chinese column headers accepted for inspector rows (plus the field names)."""

_SECTOR_ALIASES = {
    **{s: s for s in SECTORS},
    "工商贸": "工贸",
    "工贸行业": "工贸",
    "工贸企业": "工贸",
    "危险化学品": "危化",
    "危化品": "危化",
    "金属非金属矿山": "非煤矿山",
    "安全生产服务机构": "安全服务机构",
    "安全生产技术服务机构": "安全服务机构",
}
_GRADE_ALIASES = {
    **{g: g for g in GRADES},
    **{f"{g}类": g for g in GRADES},
    **{f"{g}级": g for g in GRADES},
    **{label: g for g, label in GRADE_LABELS.items()},
}
_STATUS_ALIASES = {
    **{s: s for s in STATUSES},
    "在营": "active",
    "存续": "active",
    "在业": "active",
    "正常": "active",
    "关闭": "closed",
    "已关闭": "closed",
    "停业": "closed",
    "关停": "closed",
    "注销": "deregistered",
    "已注销": "deregistered",
}
_TRUE = frozenset({"是", "true", "1"})
_FALSE = frozenset({"否", "false", "0"})
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

# ---------------------------------------------------------------------------
# 抽查检查结果 (DOMAIN.md §2): codes of the Zhejiang 双随机 system, exact labels.

RESULT_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("1", "未发现问题"),
    ("A", "发现问题待后续处理"),
    ("2", "违反工商行政管理相关规定"),
    ("B", "未按规定公示应当公示的信息"),
    ("C", "公示信息隐瞒真实情况弄虚作假"),
    ("6", "通过登记的住所（经营场所）无法联系"),
    ("D", "违反其他工商行政管理规定行为"),
    ("3", "违反食品药品管理相关规定"),
    ("4", "违反质量技术监督相关规定"),
    ("5", "违反其他部门相关规定"),
    ("G", "违反公安部门相关规定"),
    ("E", "发现问题经责令已改正"),
    ("F", "未发现开展本次抽查涉及的经营活动"),
    ("7", "已关闭停业或正在组织清算"),
    ("8", "不配合检查情节严重"),
    ("9", "注销"),
    ("10", "被吊销"),
    ("11", "被撤销"),
    ("12", "迁出"),
)
RESULT_LABELS: dict[str, str] = dict(RESULT_CATEGORIES)
"""Code → exact label."""

RESULT_PARENTS: dict[str, str] = {
    "2": "A",
    "3": "A",
    "4": "A",
    "5": "A",
    "B": "2",
    "C": "2",
    "6": "2",
    "D": "2",
}
"""Code → parent code in the multi-select tree (DOMAIN.md §2)."""

RESULT_ALIASES: dict[str, str] = {
    # display variants seen on government pages (DOMAIN.md §2)
    "正常": "1",
    "正常经营": "1",
    "发现问题已责令改正": "E",
    "未按规定公示信息": "B",
    # the older 公示信息抽查 list of the same system
    "正常（符合信息公示相关规定）": "1",
    "未按规定公示即时信息": "B",
    "未按规定公示年报信息": "B",
    "公示信息隐瞒真实情况、弄虚作假": "C",
    "不予配合情节严重": "8",
    "已办理营业执照注销": "9",
    "被吊销营业执照": "10",
    "被撤销登记": "11",
}
"""Display text → code, for wording that differs from the exact label."""

HAZARD_LEVELS = ("一般", "重大")
"""事故隐患 grades (原安监总局令第16号 art. 3, DOMAIN.md §4)."""

_HAZARD_ALIASES = {
    "一般": "一般",
    "一般隐患": "一般",
    "一般事故隐患": "一般",
    "重大": "重大",
    "重大隐患": "重大",
    "重大事故隐患": "重大",
}
_LABEL_TO_CODE = {label: code for code, label in RESULT_CATEGORIES}


def _lookup_key(text: str) -> str:
    return "".join(text.split()).replace("(", "（").replace(")", "）")


def result_code(label_or_code: str) -> str:
    """Return the code (``"1"``, ``"E"``…) of a result given as code, label or alias.

    Raises ``FormatError`` (field ``result``) for text that is none of these.
    """
    if not isinstance(label_or_code, str):
        raise FormatError(
            RULE_RESULT, f"expected text, got {type(label_or_code).__name__}", field="result"
        )
    key = _lookup_key(label_or_code)
    if key.upper() in RESULT_LABELS:
        return key.upper()
    if key in _LABEL_TO_CODE:
        return _LABEL_TO_CODE[key]
    if key in RESULT_ALIASES:
        return RESULT_ALIASES[key]
    raise FormatError(
        RULE_RESULT,
        f"{label_or_code!r} is not an official result category (DOMAIN.md §2), e.g. "
        "未发现问题, 发现问题经责令已改正, 违反其他部门相关规定",
        field="result",
    )


def normalise_result(label_or_code: str) -> str:
    """Return the canonical label of a result category (抽查检查结果).

    Accepts the code (``"E"``), the exact label or a display alias
    (``"正常"`` → ``未发现问题``, ``"发现问题已责令改正"`` → ``发现问题经责令已改正``).
    """
    return RESULT_LABELS[result_code(label_or_code)]


def normalise_hazard(text: str) -> str:
    """Return ``"一般"`` or ``"重大"`` for a hazard level (also ``重大事故隐患`` etc.)."""
    key = _lookup_key(text) if isinstance(text, str) else ""
    try:
        return _HAZARD_ALIASES[key]
    except KeyError:
        raise FormatError(
            RULE_HAZARD, f"hazard level must be 一般 or 重大, got {text!r}", field="hazard"
        ) from None


# ---------------------------------------------------------------------------
# Import errors

Problem = tuple[int, str, str, str]
"""(row number, field, rule, reason)."""


class ImportRowsError(FormatError):
    """Every problem of a refused registry import (C1: nothing is appended).

    ``problems`` is a list of ``(row, field, rule, reason)``; ``str()`` gives a
    summary line and then one line per problem.
    """

    def __init__(self, problems: Iterable[Problem], *, what: str = "rows") -> None:
        self.problems: list[Problem] = sorted(problems, key=lambda p: p[0])
        rows = len({p[0] for p in self.problems})
        super().__init__(
            RULE_IMPORT,
            f"{len(self.problems)} problem(s) in {rows} of the {what}; nothing imported",
        )

    def __str__(self) -> str:
        lines = [super().__str__()]
        lines += [
            f"row {row}, field {field!r}: {reason} [{rule}]"
            for row, field, rule, reason in self.problems
        ]
        return "\n".join(lines)

    def to_problem(self) -> dict[str, object]:
        body = super().to_problem()
        body["errors"] = [
            {"row": row, "field": field, "rule": rule, "reason": reason}
            for row, field, rule, reason in self.problems
        ]
        return body


class _Bad(Exception):
    def __init__(self, reason: str, rule: str = RULE_REGISTRY) -> None:
        super().__init__(reason)
        self.rule = rule
        self.reason = reason


def _text(value: object, *, max_len: int = 200) -> str:
    if value is None:
        raise _Bad("missing value")
    if isinstance(value, float):
        raise _Bad(f"floats are not allowed, got {value!r}")
    if not isinstance(value, str):
        raise _Bad(f"expected text, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise _Bad("empty value")
    if _CONTROL_RE.search(text):
        raise _Bad("contains a control character")
    if len(text) > max_len:
        raise _Bad(f"longer than {max_len} characters")
    return text


def _ident(value: object) -> str:
    text = _text(value, max_len=64)
    if not ID_RE.match(text):
        raise _Bad(f"id {text!r} must be 1-32 characters of A-Z a-z 0-9 _ -")
    return text


def _choice(value: object, aliases: Mapping[str, str], allowed: Sequence[str]) -> str:
    text = _text(value)
    for key in (text, text.upper(), text.lower()):
        if key in aliases:
            return aliases[key]
    raise _Bad(f"{text!r} is not one of {'/'.join(allowed)}")


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        key = value.strip().lower()
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
    raise _Bad(f"expected 是/否/true/false/1/0, got {value!r}")


def _fields(
    raw: Mapping[str, object], aliases: Mapping[str, str], names: Sequence[str]
) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """Map input columns to field names; unknown columns are ignored."""
    out: dict[str, object] = {}
    source: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    for key, value in raw.items():
        if not isinstance(key, str):
            continue
        k = key.strip()
        field = k if k in names else aliases.get(k)
        if field is None:
            continue
        if field in out:
            problems.append((field, f"given twice (columns {source[field]!r} and {key!r})"))
            continue
        out[field] = value
        source[field] = str(key)
    return out, problems


def _numbers(rows: Sequence[object], row_numbers: Sequence[int] | None) -> Sequence[int]:
    if row_numbers is None:
        return range(1, len(rows) + 1)
    if len(row_numbers) != len(rows):
        raise FormatError(
            RULE_IMPORT,
            f"{len(row_numbers)} row numbers for {len(rows)} rows",
            field="row_numbers",
        )
    return row_numbers


Check = Callable[[object], Any]


def _check_rows(
    rows: Iterable[Mapping[str, object]],
    row_numbers: Sequence[int] | None,
    aliases: Mapping[str, str],
    checks: Mapping[str, Check],
    unique: Mapping[str, AbstractSet[str]],
    what: str,
) -> list[dict[str, Any]]:
    """Run ``checks`` per field over every row; collect all problems.

    ``unique`` names the fields that must not repeat within the import, each
    with the set of values already registered. A column missing from every
    row is reported once (at the first row), not once per row.
    """
    items = list(rows)
    if not items:
        raise FormatError(RULE_IMPORT, "no rows to import", field="rows")
    numbers = _numbers(items, row_numbers)
    names = tuple(checks)
    mapped: list[tuple[int, dict[str, object] | None]] = []
    problems: list[Problem] = []
    for number, raw in zip(numbers, items, strict=True):
        if not isinstance(raw, Mapping):
            problems.append((number, "row", RULE_IMPORT, "row is not an object"))
            mapped.append((number, None))
            continue
        fields, dup = _fields(raw, aliases, names)
        problems += [(number, f, RULE_IMPORT, r) for f, r in dup]
        mapped.append((number, fields))
    given_rows = [m for _, m in mapped if m is not None]
    absent = [f for f in names if given_rows and all(f not in m for m in given_rows)]
    for field in absent:
        headers = [h for h, f in aliases.items() if f == field]
        problems.append(
            (numbers[0], field, RULE_IMPORT, f"no column {'/'.join([field, *headers])}")
        )
    result: list[dict[str, Any]] = []
    seen: dict[str, dict[str, int]] = {field: {} for field in unique}
    for number, given in mapped:
        if given is None:
            continue
        row: dict[str, Any] = {}
        for field, check in checks.items():
            if field in absent:
                continue
            if field not in given:
                problems.append((number, field, RULE_IMPORT, "missing value"))
                continue
            try:
                row[field] = check(given[field])
            except _Bad as bad:
                problems.append((number, field, bad.rule, bad.reason))
        for field, existing in unique.items():
            value = row.get(field)
            if not isinstance(value, str):
                continue
            if value in existing:
                problems.append((number, field, RULE_REGISTRY, f"{value} is already registered"))
            elif value in seen[field]:
                first = seen[field][value]
                problems.append((number, field, RULE_IMPORT, f"{value} repeats row {first}"))
            else:
                seen[field][value] = number
        result.append(row)
    if problems:
        raise ImportRowsError(problems, what=what)
    return result


def validate_enterprise_rows(
    rows: Iterable[Mapping[str, object]],
    *,
    existing: AbstractSet[str],
    row_numbers: Sequence[int] | None = None,
) -> list[dict[str, str]]:
    """Validate an enterprise import (监管主体名录库, C1) and return normalised rows.

    Each result row is ``{"usc", "name", "sector", "town", "grade", "status"}``,
    all strings: ``usc`` an 18-character code valid per GB 32100-2015
    (uppercased), ``sector`` one of ``SECTORS``, ``grade`` A-D, ``status``
    active/closed/deregistered. Input keys may be the field names or the
    Chinese headers of ``ENTERPRISE_HEADERS``; unknown columns are ignored.
    A code repeated in the import or already in ``existing`` is a problem.
    ``row_numbers`` gives the number to report for each row (default 1..n).
    Raises ``ImportRowsError`` listing every problem, or ``FormatError`` for
    an empty import.
    """
    checks: dict[str, Check] = {
        "usc": _usc,
        "name": _text,
        "sector": lambda v: _choice(v, _SECTOR_ALIASES, SECTORS),
        "town": lambda v: _text(v, max_len=50),
        "grade": lambda v: _choice(v, _GRADE_ALIASES, GRADES),
        "status": lambda v: _choice(v, _STATUS_ALIASES, STATUSES),
    }
    return _check_rows(
        rows, row_numbers, ENTERPRISE_HEADERS, checks, {"usc": existing}, "enterprise rows"
    )


def _usc(value: object) -> str:
    code = _text(value, max_len=64).upper()
    try:
        validate_uscc(code)
    except FormatError as exc:
        raise _Bad(exc.reason, exc.rule) from None
    return code


def _department_resolver(
    departments: AbstractSet[str] | Mapping[str, str],
) -> Mapping[str, str]:
    """Text → department id: every id, plus each unambiguous name of a mapping."""
    table = {d: d for d in departments}
    if isinstance(departments, Mapping):
        names: dict[str, list[str]] = {}
        for dep, name in departments.items():
            names.setdefault(name, []).append(dep)
        for name, ids in names.items():
            if len(ids) == 1 and name not in table:
                table[name] = ids[0]
    return table


def validate_inspector_rows(
    rows: Iterable[Mapping[str, object]],
    *,
    departments: AbstractSet[str] | Mapping[str, str],
    existing: AbstractSet[str],
    row_numbers: Sequence[int] | None = None,
) -> list[dict[str, object]]:
    """Validate an inspector import (执法人员名录库, C1) and return normalised rows.

    Each result row is ``{"id": str, "name": str, "cert_no": str,
    "department": str, "active": bool}``. ``id`` matches ``ID_RE``;
    ``cert_no`` (执法证号) is an opaque non-empty string, unique in the import;
    ``department`` must be a registered id (when ``departments`` is a mapping
    id → name, an unambiguous name is accepted and stored as its id);
    ``active`` accepts 是/否/true/false/1/0. Input keys may be the field names
    or the headers of ``INSPECTOR_HEADERS``. An id repeated in the import or
    already in ``existing`` is a problem. Raises ``ImportRowsError``.
    """
    resolve = _department_resolver(departments)
    checks: dict[str, Check] = {
        "id": _ident,
        "name": lambda v: _text(v, max_len=50),
        "cert_no": lambda v: _text(v, max_len=64),
        "department": lambda v: _department(v, resolve),
        "active": _flag,
    }
    unique = {"id": existing, "cert_no": frozenset[str]()}
    return _check_rows(rows, row_numbers, INSPECTOR_HEADERS, checks, unique, "inspector rows")


def _department(value: object, resolve: Mapping[str, str]) -> str:
    text = _text(value, max_len=64)
    try:
        return resolve[text]
    except KeyError:
        raise _Bad(f"department {text!r} is not registered") from None


def validate_department(
    department: str, name: str, *, existing: AbstractSet[str] = frozenset()
) -> dict[str, str]:
    """Validate a ``departments.register`` command (C1); return its entry data.

    Returns ``{"department": id, "name": name}``. Raises ``FormatError`` for a
    malformed id or name and ``RuleError`` for an id already in ``existing``.
    """
    try:
        dep = _ident(department)
    except _Bad as bad:
        raise FormatError(bad.rule, bad.reason, field="department") from None
    try:
        text = _text(name, max_len=100)
    except _Bad as bad:
        raise FormatError(bad.rule, bad.reason, field="name") from None
    if dep in existing:
        raise RuleError(
            RULE_REGISTRY, f"department {dep!r} is already registered", field="department"
        )
    return {"department": dep, "name": text}


def validate_conflict(
    inspector: str,
    enterprise: str,
    reason: str,
    known_inspectors: AbstractSet[str],
    known_enterprises: AbstractSet[str],
) -> dict[str, str]:
    """Validate a conflict-of-interest declaration (回避, C1/C3); return its entry data.

    Returns ``{"enterprise", "inspector", "reason"}``. The inspector and the
    enterprise must be registered (``RuleError``); the reason (利害关系) must be
    non-empty text of at most 500 characters (``FormatError``).
    """
    for field, value, known in (
        ("inspector", inspector, known_inspectors),
        ("enterprise", enterprise, known_enterprises),
    ):
        if not isinstance(value, str) or not value:
            raise FormatError(RULE_CONFLICT, "missing value", field=field)
        if value not in known:
            raise RuleError(RULE_CONFLICT, f"{field} {value!r} is not registered", field=field)
    try:
        text = _text(reason, max_len=500)
    except _Bad as bad:
        raise FormatError(RULE_CONFLICT, bad.reason, field="reason") from None
    return {"enterprise": enterprise, "inspector": inspector, "reason": text}
