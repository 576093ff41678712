"""Annual-plan import (年度抽查工作计划; DESIGN.md C2, C5).

The seed's appendix table is the import format of a year's plan: one row per
task (抽查任务) with the eleven columns of :data:`COLUMNS`.  This module turns
rows that were already read from CSV or XLSX (``list[dict[str, str]]`` keyed
by the Chinese headers) into normalised task dicts, and groups those into the
data of ``PlanImported`` entries (DESIGN.md A12: stream ``plan/<plan no>``).

Real tables vary (DESIGN.md C2): a blank 抽查类型, "定向抽查" for 定向, ratios
as "5%" or prose, windows as "2023年2月至11月" or full dates, departments as
"承德县应急管理局" or "应急局".  What is unambiguous is read; everything else is
reported per row and column and nothing is guessed.  All problems of a table
are collected and raised together as one :class:`PlanImportError`.

Values follow DESIGN.md A1: no floats (a ratio is a decimal string such as
``"0.05"``), dates are ``YYYY-MM-DD``.  Pure functions: standard library and
``ledger.errors`` only (the verifier's light path, DESIGN.md B2).
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date
from types import MappingProxyType
from typing import Any, TypedDict

from ledger.errors import FormatError, RuleError

__all__ = [
    "COLUMNS",
    "DEMO_GRADE_RATIOS",
    "GRADES",
    "KINDS",
    "PUBLICATION_UNITS",
    "SECTORS",
    "PlanImportError",
    "PlanTask",
    "Problem",
    "parse_plan_rows",
    "plan_entries",
]

# ---------------------------------------------------------------------------
# The import format (the seed's appendix table)

PLAN_NO = "抽查计划编号"
PLAN_NAME = "抽查计划名称"
TASK_NO = "抽查任务编号"
TASK_NAME = "抽查任务名称"
KIND = "抽查类型"
RATIO = "抽查比例"
ITEMS = "抽查事项"
SCOPE = "抽查对象范围"
INITIATOR = "发起部门"
JOINT = "联合部门"
WINDOW = "抽查时间"

#: The eleven columns of the seed's appendix table, in its order.
COLUMNS: tuple[str, ...] = (
    PLAN_NO,
    PLAN_NAME,
    TASK_NO,
    TASK_NAME,
    KIND,
    RATIO,
    ITEMS,
    SCOPE,
    INITIATOR,
    JOINT,
    WINDOW,
)

#: Other spellings of a header (DESIGN.md C2 writes 计划名称 and 任务名称).
_HEADER_ALIASES = {"计划名称": PLAN_NAME, "任务名称": TASK_NAME}

#: Cells that may not be blank.
_REQUIRED = (PLAN_NO, TASK_NO, TASK_NAME, INITIATOR, WINDOW)

#: 抽查类型 spellings: 定向 draws within a filter, 不定向 from all (DOMAIN.md §1).
KINDS: Mapping[str, str] = MappingProxyType(
    {"定向": "directed", "定向抽查": "directed", "不定向": "undirected", "不定向抽查": "undirected"}
)

#: Sector codes (行业领域, DESIGN.md C1) and the words that name them in a
#: scope (抽查对象范围).  Scanned longest word first, so 非煤矿山 is not 煤矿.
SECTORS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "工贸": ("工贸", "工商贸"),
        "危化": ("危险化学品", "危化品", "危化"),
        "加油站": ("加油站", "加油加气站"),
        "非煤矿山": ("非煤矿山", "金属非金属矿山"),
        "安全服务机构": ("安全服务机构", "安全生产服务机构", "安全生产技术服务机构"),
        "煤矿": ("煤矿",),
    }
)

#: Credit-risk grades (信用风险分类 A/B/C/D, DOMAIN.md §3).
GRADES: tuple[str, ...] = ("A", "B", "C", "D")

#: Per-grade ratios used by the demo.  Ratios are a local choice (DOMAIN.md
#: §3) and the seed gives none, so these are an example, not a default.
DEMO_GRADE_RATIOS: Mapping[str, str] = MappingProxyType(
    {"A": "0.05", "B": "0.1", "C": "0.3", "D": "0.6"}
)

#: Units of the publication deadline (一公开, DESIGN.md C5).
PUBLICATION_UNITS: tuple[str, ...] = ("工作日", "日")

#: ``(row number, column, rule, reason)``.
Problem = tuple[int, str, str, str]


class PlanTask(TypedDict):
    """One imported task (抽查任务), as :func:`parse_plan_rows` returns it."""

    plan_no: str
    plan_name: str
    task_no: str
    task_id: str
    task_name: str
    kind: str | None
    ratio_text: str
    ratio: str | None
    ratio_by_grade: bool
    items: str
    scope: str
    sectors: list[str]
    initiator: str
    joint_departments: list[str]
    window_start: str
    window_end: str
    window_text: str


class PlanImportError(FormatError):
    """Every problem of one plan table (DESIGN.md C2, B5).

    ``problems`` lists ``(row number, column, rule, reason)``; ``str()`` gives
    a summary line and then one line per problem.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        count = len(self.problems)
        super().__init__(
            "plan.import", f"the plan table has {count} problem{'s' if count != 1 else ''}"
        )

    def __str__(self) -> str:
        lines = [super().__str__()]
        lines.extend(
            f"row {row}, column {column}: {reason} [{rule}]"
            for row, column, rule, reason in self.problems
        )
        return "\n".join(lines)

    def to_problem(self) -> dict[str, object]:
        """RFC 9457 members plus ``problems`` (one object per row problem)."""
        body = super().to_problem()
        body["problems"] = [
            {"row": row, "column": column, "rule": rule, "reason": reason}
            for row, column, rule, reason in self.problems
        ]
        return body


# ---------------------------------------------------------------------------
# parse_plan_rows


def parse_plan_rows(
    rows: Sequence[Mapping[str, str]],
    *,
    departments: Mapping[str, str],
    first_row_number: int = 2,
    county: str = "承德县",
) -> list[PlanTask]:
    """Read the rows of a plan table into normalised tasks (DESIGN.md C2).

    ``rows`` are the table's data rows keyed by header (the seed's headers;
    计划名称/任务名称 are accepted for 抽查计划名称/抽查任务名称), the first of them
    on spreadsheet row ``first_row_number`` (the header is the row before).
    ``departments`` maps a department id to its registered name; a cell may
    name a department in full, without the ``county`` or "县" prefix, with
    监督管理 shortened to 监管, with 管理局 shortened to 局, or by its id.

    Cells are read without their surrounding whitespace and fully blank rows
    are skipped.  Returns one :class:`PlanTask` per row, in table order.
    Raises :class:`PlanImportError` listing every problem of the table:
    missing headers (then nothing else is checked), cells beyond the header
    (``csv.DictReader`` keys them ``None``), cells that are not text, blank
    required cells,
    unknown departments, bad 抽查类型/抽查比例/抽查时间 cells, a repeated task id,
    the initiator listed again as joint department, or one plan number with
    two plan names.
    """
    header_row = first_row_number - 1
    columns = _check_header(rows, header_row)
    known = _Departments.of(departments, county)
    problems: list[Problem] = []
    tasks: list[PlanTask] = []
    task_rows: dict[str, int] = {}
    plan_names: dict[str, tuple[int, str]] = {}

    for offset, raw in enumerate(rows):
        row = _Row(first_row_number + offset)
        cells = {column: _cell(raw.get(key), column, row) for column, key in columns.items()}
        if not any(cells.values()):
            continue
        extra = [v for k, v in raw.items() if not isinstance(k, str) and v]
        if extra:
            row.report(
                "", "plan.row", f"the row has more cells than the header has columns: {extra!r}"
            )
        for column in _REQUIRED:
            if not cells[column]:
                row.report(column, "plan.required", f"{column} is blank; every task needs one")

        plan_no, plan_name = cells[PLAN_NO], cells[PLAN_NAME]
        if re.search(r"\s|/", plan_no):
            row.report(PLAN_NO, "plan.plan_no", f"{plan_no!r} contains a space or '/'")
            plan_no = ""
        if plan_no:
            first_row, first_name = plan_names.setdefault(plan_no, (row.number, plan_name))
            if first_name != plan_name:
                row.report(
                    PLAN_NAME,
                    "plan.plan_name",
                    f"plan {plan_no} is named {first_name!r} on row {first_row} "
                    f"but {plan_name!r} here",
                )

        task_digits = _task_digits(cells[TASK_NO], row)
        task_id = f"{plan_no}-{task_digits}"
        if plan_no and task_digits:
            first_row = task_rows.setdefault(task_id, row.number)
            if first_row != row.number:
                row.report(TASK_NO, "plan.task_id", f"task {task_id} is already on row {first_row}")

        kind = _kind(cells[KIND], row)
        ratio, by_grade = _ratio(cells[RATIO], row)
        initiator = _initiator(cells[INITIATOR], known, row)
        joint = _joint(cells[JOINT], initiator, known, row)
        window = _window(cells[WINDOW], row)

        problems.extend(row.problems)
        if row.problems or initiator is None or window is None:
            continue
        tasks.append(
            PlanTask(
                plan_no=plan_no,
                plan_name=plan_name,
                task_no=cells[TASK_NO],
                task_id=task_id,
                task_name=cells[TASK_NAME],
                kind=kind,
                ratio_text=cells[RATIO],
                ratio=ratio,
                ratio_by_grade=by_grade,
                items=cells[ITEMS],
                scope=cells[SCOPE],
                sectors=_sectors(cells[SCOPE]),
                initiator=initiator,
                joint_departments=joint,
                window_start=window[0].isoformat(),
                window_end=window[1].isoformat(),
                window_text=cells[WINDOW],
            )
        )

    if not problems and not tasks:
        problems.append((header_row, "", "plan.empty", "the plan table has no task rows"))
    if problems:
        raise PlanImportError(problems)
    return tasks


class _Row:
    """The problems found on one data row of the table."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.problems: list[Problem] = []

    def report(self, column: str, rule: str, reason: str) -> None:
        """Note a problem of this row's ``column``."""
        self.problems.append((self.number, column, rule, reason))


def _check_header(rows: Sequence[Mapping[str, str]], header_row: int) -> dict[str, str]:
    """Map each column of :data:`COLUMNS` to the key the rows use for it.

    Raises :class:`PlanImportError` naming every missing or doubled column and
    the headers that were found.
    """
    seen: dict[str, str] = {}
    keys: list[str] = []
    for raw in rows:
        for key in raw:
            if isinstance(key, str) and key not in keys:
                keys.append(key)
    problems: list[Problem] = []
    for key in keys:
        column = _HEADER_ALIASES.get(key.strip(), key.strip())
        if column not in COLUMNS:
            continue
        if column in seen:
            problems.append(
                (
                    header_row,
                    column,
                    "plan.header",
                    f"column {column} appears twice (as {seen[column]!r} and {key!r})",
                )
            )
        else:
            seen[column] = key
    header = "、".join(keys) if keys else "(none)"
    for column in COLUMNS:
        if column not in seen and rows:
            problems.append(
                (
                    header_row,
                    column,
                    "plan.header",
                    f"column {column} is missing; the table's headers are: {header}",
                )
            )
    if problems:
        raise PlanImportError(problems)
    return seen


def _cell(value: object, column: str, row: _Row) -> str:
    """The cell's text without surrounding whitespace; a missing cell is blank.

    The table reader must hand over text: any other value is reported (and
    read as its ``str()`` so that it is not also reported as blank).
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        row.report(column, "plan.cell", f"expected text, got {type(value).__name__} {value!r}")
        value = str(value)
    return value.strip()


def _task_digits(task_no: str, row: _Row) -> str:
    """The one run of digits of a task number (抽查任务编号): "001号" -> "001"."""
    if not task_no:
        return ""
    runs = re.findall(r"[0-9]+", unicodedata.normalize("NFKC", task_no))
    if len(runs) != 1:
        row.report(
            TASK_NO,
            "plan.task_no",
            f"{task_no!r} must contain exactly one number, like '001号'",
        )
        return ""
    return str(runs[0])


def _kind(text: str, row: _Row) -> str | None:
    """抽查类型: "directed", "undirected", or None for a blank cell."""
    if not text:
        return None
    kind = KINDS.get(text)
    if kind is None:
        row.report(
            KIND,
            "plan.kind",
            f"{text!r} is not a kind of check; write one of {'、'.join(KINDS)} or leave it blank",
        )
    return kind


# ---------------------------------------------------------------------------
# 抽查比例

_PERCENT = re.compile(r"([0-9]+)(?:\.([0-9]+))?\s*(%|‰)?")
_BY_GRADE = re.compile(r"信用风险|风险等级|风险分级|风险分类|分级分类|信用等级")
_DECIMAL_RATIO = re.compile(r"(0|1)(\.[0-9]+)?")


def _ratio(text: str, row: _Row) -> tuple[str | None, bool]:
    """Read 抽查比例 as ``(ratio, by_grade)``.

    A number or percentage in [0, 1] ("5%", "5 %", "0.05", "5‰") gives its
    exact decimal string; prose that sets the ratio by credit-risk grade
    (信用风险分级分类) gives ``(None, True)``.  Anything else is reported.
    """
    normal = unicodedata.normalize("NFKC", text)
    match = _PERCENT.fullmatch(normal)
    if match:
        whole, frac, sign = match.group(1), match.group(2) or "", match.group(3)
        shift = {None: 0, "%": 2, "‰": 3}[sign]
        numerator, scale = int(whole + frac), 10 ** (len(frac) + shift)
        if numerator > scale:
            hint = "" if sign else f"; did you mean '{text}%'?"
            row.report(RATIO, "plan.ratio", f"ratio {text!r} is more than 1 (100%){hint}")
            return None, False
        return _decimal(numerator, scale), False
    if _BY_GRADE.search(normal) and not re.search(r"[0-9]", normal):
        return None, True
    what = f"ratio {text!r} is" if text else "the ratio is blank:"
    row.report(
        RATIO,
        "plan.ratio",
        f"{what} neither a number or percentage in [0, 1] (like '5%' or '0.05') "
        "nor a statement that ratios differ by credit-risk grade (信用风险分级分类)",
    )
    return None, False


def _decimal(numerator: int, scale: int) -> str:
    """``numerator / scale`` (``scale`` a power of ten) as a shortest decimal string."""
    digits = len(str(scale)) - 1
    whole, frac = divmod(numerator, scale)
    if not frac:
        return str(whole)
    return f"{whole}.{str(frac).rjust(digits, '0').rstrip('0')}"


# ---------------------------------------------------------------------------
# 抽查对象范围


_SECTOR_WORDS = sorted(
    ((word, code) for code, names in SECTORS.items() for word in names),
    key=lambda item: -len(item[0]),
)


def _sectors(scope: str) -> list[str]:
    """Sector codes named in a scope, in the scope's order, without repeats.

    The scope is scanned left to right, trying the longest word first, so
    "非煤矿山" is read as 非煤矿山 and never as 煤矿.
    """
    found: list[str] = []
    at = 0
    while at < len(scope):
        for word, code in _SECTOR_WORDS:
            if scope.startswith(word, at):
                if code not in found:
                    found.append(code)
                at += len(word)
                break
        else:
            at += 1
    return found


# ---------------------------------------------------------------------------
# 发起部门 and 联合部门

_NAME_SPLIT = re.compile(r"[、，,;；\s]+")


def _name_key(name: str, county: str) -> str:
    """A department name without the county prefix, with 监督管理 as 监管."""
    name = name.strip()
    for prefix in (county, "县"):
        if prefix and name.startswith(prefix) and len(name) > len(prefix):
            name = name[len(prefix) :]
            break
    return name.replace("监督管理", "监管")


class _Departments:
    """The registered departments and every accepted spelling of their names."""

    def __init__(
        self, names: Mapping[str, str], county: str, spellings: dict[str, set[str]]
    ) -> None:
        self.names = names
        self.county = county
        self.spellings = spellings

    @classmethod
    def of(cls, departments: Mapping[str, str], county: str) -> _Departments:
        """Index ``departments`` (id -> registered name) by spelling."""
        spellings: dict[str, set[str]] = {}
        for dept_id, name in departments.items():
            key = _name_key(name, county)
            accepted = {dept_id, key}
            if key.endswith("管理局") and len(key) > 3:
                accepted.add(key[:-3] + "局")
            for spelling in accepted:
                spellings.setdefault(spelling, set()).add(dept_id)
        return cls(departments, county, spellings)

    def resolve(self, name: str, column: str, row: _Row) -> str | None:
        """The id of the department ``name`` means, or None after reporting why not."""
        ids = self.spellings.get(name) or self.spellings.get(_name_key(name, self.county))
        if ids is not None and len(ids) == 1:
            return next(iter(ids))
        registered = "、".join(f"{n} ({i})" for i, n in self.names.items()) or "(none)"
        if ids:
            reason = (
                f"department {name!r} may be any of {', '.join(sorted(ids))}; "
                f"write its registered name ({registered})"
            )
        else:
            reason = f"department {name!r} is not registered; registered departments: {registered}"
        row.report(column, "plan.department", reason)
        return None


def _initiator(text: str, known: _Departments, row: _Row) -> str | None:
    """发起部门: exactly one registered department."""
    if not text:
        return None
    names = [n for n in _NAME_SPLIT.split(text) if n]
    if len(names) != 1:
        row.report(
            INITIATOR,
            "plan.initiator",
            f"{text!r} names {len(names)} departments; a task has one initiating "
            "department (list the others under 联合部门)",
        )
        return None
    return known.resolve(names[0], INITIATOR, row)


def _joint(text: str, initiator: str | None, known: _Departments, row: _Row) -> list[str]:
    """联合部门: registered departments in the order written, none twice.

    Names are split on 、，,; and whitespace.  The initiator may not be listed
    again as a joint department.
    """
    joint: list[str] = []
    for name in _NAME_SPLIT.split(text):
        if not name:
            continue
        dept_id = known.resolve(name, JOINT, row)
        if dept_id is None:
            continue
        if dept_id == initiator:
            row.report(
                JOINT,
                "plan.joint",
                f"{name!r} is the initiating department ({dept_id}); "
                "it may not be a joint department too",
            )
        elif dept_id in joint:
            row.report(JOINT, "plan.joint", f"{name!r} ({dept_id}) is listed twice")
        else:
            joint.append(dept_id)
    return joint


# ---------------------------------------------------------------------------
# 抽查时间

_WINDOW_SEPARATOR = re.compile(r"至|到|~|—+|–|-")
_CJK_POINT = re.compile(
    r"(?:(?P<y>[0-9]{4})年)?(?P<m>[0-9]{1,2})月份?(?:(?P<d>[0-9]{1,2})[日号]|(?P<eom>底|末))?"
)
_NUMERIC_POINT = re.compile(
    r"(?P<y>[0-9]{4})(?P<sep>[-./])(?P<m>[0-9]{1,2})(?:(?P=sep)(?P<d>[0-9]{1,2}))?"
)
_WINDOW_FORMS = (
    "'2023年2月至11月', '2023年2月-2023年11月', '2023年2月1日至2023年11月30日', "
    "'2023-02-01至2023-11-30', '2023.2-2023.11'"
)

#: ``(year or None, month, day or None, end of month)``.
_Point = tuple[int | None, int, int | None, bool]


def _point(text: str, *, end: bool) -> _Point | None:
    """One end of a window, or None when it is not one of the accepted forms.

    Only the end may leave out the year (it takes the start's, as in
    "2023年2月至11月") or say 月底.
    """
    match = _CJK_POINT.fullmatch(text) or _NUMERIC_POINT.fullmatch(text)
    if match is None:
        return None
    groups = match.groupdict()
    year, eom = groups["y"], bool(groups.get("eom"))
    if (year is None or eom) and not end:
        return None
    day = groups["d"]
    return (
        int(year) if year else None,
        int(groups["m"]),
        int(day) if day else None,
        eom,
    )


def _window(text: str, row: _Row) -> tuple[date, date] | None:
    """抽查时间 as ``(first day, last day)``.

    A month without a day runs from its first to its last day.  A window
    with no separator is one month or one day.  A text that reads in more
    than one way, or not at all, or ends before it starts, is reported.
    """
    if not text:
        return None
    normal = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    readings: set[tuple[_Point, _Point]] = set()
    for sep in _WINDOW_SEPARATOR.finditer(normal):
        start = _point(normal[: sep.start()], end=False)
        stop = _point(normal[sep.end() :], end=True)
        if start is not None and stop is not None:
            readings.add((start, stop))
    if not readings:
        single = _point(normal, end=False)
        if single is not None:
            readings.add((single, single))
    if len(readings) != 1:
        how = "can be read in more than one way" if readings else "cannot be read"
        row.report(WINDOW, "plan.window", f"window {text!r} {how}; write it like {_WINDOW_FORMS}")
        return None
    ((start, stop),) = readings
    year = start[0]
    if year is None:
        raise AssertionError("bad math")  # a start without a year is no reading
    stop_year = year if stop[0] is None else stop[0]
    try:
        first = date(year, start[1], start[2] or 1)
        last = date(stop_year, stop[1], stop[2] or calendar.monthrange(stop_year, stop[1])[1])
    except ValueError:  # also calendar.IllegalMonthError
        row.report(WINDOW, "plan.window", f"window {text!r} names a date that does not exist")
        return None
    if last < first:
        row.report(
            WINDOW,
            "plan.window",
            f"window {text!r} ends ({last.isoformat()}) before it starts ({first.isoformat()})",
        )
        return None
    return first, last


# ---------------------------------------------------------------------------
# plan_entries


def plan_entries(
    tasks: Sequence[Mapping[str, Any]],
    *,
    grade_ratios: Mapping[str, str] | None = None,
    days: int = 7,
    unit: str = "工作日",
) -> list[dict[str, Any]]:
    """Group tasks into the data of ``PlanImported`` entries (DESIGN.md C2, C5, A12).

    Returns one ``{"plan_no", "plan_name", "tasks", "publication"}`` per plan
    number, in the order plans first appear; ``tasks`` are the task dicts
    without ``plan_no``/``plan_name``, and ``publication`` is the 一公开
    deadline ``{"days": days, "unit": unit}`` (the seed: 7 个工作日).

    A task whose ratio is set per credit-risk grade with no number (the seed's
    three tasks) gets ``"grade_ratios": {"A": ..., "B": ..., "C": ..., "D": ...}``
    from ``grade_ratios``, which must then be given (the seed has no numbers;
    ratios are a local choice, DOMAIN.md §3; the demo uses
    :data:`DEMO_GRADE_RATIOS`).  Raises :class:`~ledger.errors.RuleError`
    (``plan.grade_ratios``) when they are needed and missing, and
    :class:`~ledger.errors.FormatError` for bad ratios or a bad deadline.
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366:
        raise FormatError(
            "plan.publication",
            f"days must be an integer in [1, 366], got {days!r}",
            field="publication.days",
        )
    if unit not in PUBLICATION_UNITS:
        raise FormatError(
            "plan.publication",
            f"unit must be one of {'、'.join(PUBLICATION_UNITS)}, got {unit!r}",
            field="publication.unit",
        )
    grades = _check_grade_ratios(grade_ratios) if grade_ratios is not None else None
    needing = [t["task_id"] for t in tasks if t["ratio_by_grade"] and t["ratio"] is None]
    if needing and grades is None:
        sample = ", ".join(f"{g}: {r!r}" for g, r in DEMO_GRADE_RATIOS.items())
        raise RuleError(
            "plan.grade_ratios",
            f"tasks {', '.join(needing)} set the ratio per credit-risk grade and the plan "
            f"gives no numbers; pass grade_ratios with a ratio for each grade "
            f"{'/'.join(GRADES)} (e.g. {{{sample}}}); ratios are a local choice",
            field="grade_ratios",
        )

    plans: dict[str, dict[str, Any]] = {}
    for task in tasks:
        plan = plans.setdefault(
            task["plan_no"],
            {
                "plan_no": task["plan_no"],
                "plan_name": task["plan_name"],
                "tasks": [],
                "publication": {"days": days, "unit": unit},
            },
        )
        item = {
            key: list(value) if isinstance(value, list) else value
            for key, value in task.items()
            if key not in ("plan_no", "plan_name")
        }
        if grades is not None and task["ratio_by_grade"] and task["ratio"] is None:
            item["grade_ratios"] = dict(grades)
        plan["tasks"].append(item)
    return list(plans.values())


def _check_grade_ratios(grade_ratios: Mapping[str, str]) -> dict[str, str]:
    """Per-grade ratios in grade order, each a decimal string in [0, 1]."""
    problems = [f"grade {g} is missing" for g in GRADES if g not in grade_ratios]
    problems += [f"{g!r} is not a grade" for g in grade_ratios if g not in GRADES]
    for grade in GRADES:
        value = grade_ratios.get(grade)
        if value is None:
            continue
        if not isinstance(value, str) or not _DECIMAL_RATIO.fullmatch(value):
            problems.append(
                f"grade {grade}: {value!r} is not a decimal string like '0.05' "
                r"(^(0|1)(\.[0-9]+)?$)"
            )
        else:
            whole, _, frac = value.partition(".")
            if int(whole + frac) > 10 ** len(frac):
                problems.append(f"grade {grade}: {value} is greater than 1")
    if problems:
        raise FormatError("plan.grade_ratios", "; ".join(problems), field="grade_ratios")
    return {grade: grade_ratios[grade] for grade in GRADES}
