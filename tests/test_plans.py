"""Annual-plan import (DESIGN.md C2, C5): ``ledger.domain.plans``.

The fixtures ``seed_plan.csv`` / ``seed_plan.xlsx`` hold the seed's appendix
table verbatim.  They are read here with ``csv`` and ``openpyxl`` directly, so
these tests do not depend on the project's own table reader.
"""

from __future__ import annotations

import ast
import copy
import csv
import re
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain import plans
from ledger.domain.plans import (
    COLUMNS,
    DEMO_GRADE_RATIOS,
    PlanImportError,
    parse_plan_rows,
    plan_entries,
)
from ledger.errors import FormatError, RuleError

FIXTURES = Path(__file__).parent / "fixtures"

DEPARTMENTS = {
    "AJJ": "县应急管理局",
    "SCJGJ": "县市场监管局",
    "TJJ": "县统计局",
    "SWJ": "县商务局",
    "QXJ": "县气象局",
}

BY_GRADE = "结合企业信用风险分级分类开展,不同风险等级确定不同抽查比例"

EXPECTED_TASKS: list[dict[str, Any]] = [
    {
        "plan_no": "联202301",
        "plan_name": "2023年承德县应急管理局联合随机抽查001",
        "task_no": "001号",
        "task_id": "联202301-001",
        "task_name": "2023年承德县工贸行业部门联合抽查(以实施方案名称为准)",
        "kind": "directed",
        "ratio_text": "结合企业信用风险分级分类开展,不同风险等级确定不同抽查比例",
        "ratio": None,
        "ratio_by_grade": True,
        "items": "《承德县“分业清单”》中所包含的对工贸企业相关检查事项",
        "scope": "全县范围内工贸企业",
        "sectors": ["工贸"],
        "initiator": "AJJ",
        "joint_departments": ["TJJ", "SCJGJ"],
        "window_start": "2023-02-01",
        "window_end": "2023-11-30",
        "window_text": "2023年2月至11月",
    },
    {
        "plan_no": "联202302",
        "plan_name": "2023年承德县应急管理局联合随机抽查002",
        "task_no": "002号",
        "task_id": "联202302-002",
        "task_name": "2023年承德县危险化学品行业部门联合抽查(以实施方案名称为准)",
        "kind": "directed",
        "ratio_text": "结合企业信用风险分级分类开展,不同风险等级确定不同抽查比例",
        "ratio": None,
        "ratio_by_grade": True,
        "items": "《承德县“分业清单”》中所包含的对危险化学品生产、经营企业相关检查事项",
        "scope": "全县范围内危险化学品、经营企业、加油站",
        "sectors": ["危化", "加油站"],
        "initiator": "AJJ",
        "joint_departments": ["SWJ", "QXJ"],
        "window_start": "2023-02-01",
        "window_end": "2023-11-30",
        "window_text": "2023年2月至11月",
    },
    {
        "plan_no": "联202303",
        "plan_name": "2023年承德县应急管理局联合随机抽查003",
        "task_no": "003号",
        "task_id": "联202303-003",
        "task_name": "2023年承德县第二十次联合抽查(以实施方案名称为准)",
        "kind": None,
        "ratio_text": "结合企业信用风险分级分类开展,不同风险等级确定不同抽查比例",
        "ratio": None,
        "ratio_by_grade": True,
        "items": (
            "《承德县“分业清单”》中所包含的对煤矿企业、非煤矿山、危险化学品及相关企业、"
            "工贸行业企业的安全检查事项,对安全生产技术服务机构的行政检查"
        ),
        "scope": "全县范围内非煤矿山、危险化学品、工贸企业、安全生产服务机构",
        "sectors": ["非煤矿山", "危化", "工贸", "安全服务机构"],
        "initiator": "AJJ",
        "joint_departments": ["SCJGJ"],
        "window_start": "2023-09-01",
        "window_end": "2023-11-30",
        "window_text": "2023年9月至11月",
    },
]


# ---------------------------------------------------------------------------
# helpers


def read_csv_rows() -> list[dict[str, str]]:
    with (FIXTURES / "seed_plan.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_xlsx_rows() -> list[dict[str, str]]:
    workbook = openpyxl.load_workbook(FIXTURES / "seed_plan.xlsx", read_only=True)
    try:
        values = list(workbook.active.iter_rows(values_only=True))
    finally:
        workbook.close()
    header = [str(cell) for cell in values[0]]
    return [
        {key: "" if cell is None else str(cell) for key, cell in zip(header, row, strict=True)}
        for row in values[1:]
    ]


def seed_rows(**changes: str) -> list[dict[str, str]]:
    """The seed's rows, with ``changes`` (column -> cell) applied to the first one."""
    rows = read_csv_rows()
    rows[0].update(changes)
    return rows


def first_task(**changes: str) -> dict[str, Any]:
    return dict(parse_plan_rows(seed_rows(**changes), departments=DEPARTMENTS)[0])


def import_error(rows: list[dict[str, str]], **kwargs: Any) -> PlanImportError:
    kwargs.setdefault("departments", DEPARTMENTS)
    with pytest.raises(PlanImportError) as caught:
        parse_plan_rows(rows, **kwargs)
    return caught.value


def assert_only_problem(err: PlanImportError, row: int, column: str, rule: str) -> str:
    """The error has exactly this one problem, and its message names it; returns the reason."""
    assert [p[:3] for p in err.problems] == [(row, column, rule)], err.problems
    message = str(err)
    assert f"row {row}, column {column}: " in message
    assert f"[{rule}]" in message
    return err.problems[0][3]


def walk(value: Any) -> list[Any]:
    """Every scalar inside nested dicts and lists."""
    if isinstance(value, dict):
        return [x for v in value.values() for x in walk(v)]
    if isinstance(value, list):
        return [x for v in value for x in walk(v)]
    return [value]


# ---------------------------------------------------------------------------
# the seed plan


@pytest.mark.parametrize("reader", [read_csv_rows, read_xlsx_rows], ids=["csv", "xlsx"])
def test_seed_plan_every_field(reader: Callable[[], list[dict[str, str]]]) -> None:
    tasks = parse_plan_rows(reader(), departments=DEPARTMENTS)
    assert [dict(t) for t in tasks] == EXPECTED_TASKS
    for task in tasks:
        assert list(task) == list(EXPECTED_TASKS[0])
        assert all(isinstance(x, str | int | bool | type(None)) for x in walk(task))
        assert not any(isinstance(x, float) for x in walk(task))


def test_fixtures_hold_the_same_table() -> None:
    assert read_csv_rows() == read_xlsx_rows()
    assert list(read_csv_rows()[0]) == list(COLUMNS)
    assert len(read_csv_rows()) == 3


def test_seed_plan_entries_with_grade_ratios() -> None:
    tasks = parse_plan_rows(read_csv_rows(), departments=DEPARTMENTS)
    entries = plan_entries(tasks, grade_ratios=DEMO_GRADE_RATIOS)
    grade_ratios = {"A": "0.05", "B": "0.1", "C": "0.3", "D": "0.6"}
    expected = [
        {
            "plan_no": task["plan_no"],
            "plan_name": task["plan_name"],
            "tasks": [
                {
                    **{k: v for k, v in task.items() if k not in ("plan_no", "plan_name")},
                    "grade_ratios": grade_ratios,
                }
            ],
            "publication": {"days": 7, "unit": "工作日"},
        }
        for task in EXPECTED_TASKS
    ]
    assert entries == expected
    assert [e["plan_no"] for e in entries] == ["联202301", "联202302", "联202303"]
    assert "plan_no" not in entries[0]["tasks"][0]
    assert not any(isinstance(x, float) for x in walk(entries))


def test_plan_entries_groups_tasks_of_one_plan() -> None:
    rows = read_csv_rows()
    rows[1]["抽查计划编号"] = "联202301"
    rows[1]["抽查计划名称"] = rows[0]["抽查计划名称"]
    tasks = parse_plan_rows(rows, departments=DEPARTMENTS)
    entries = plan_entries(tasks, grade_ratios={"A": "0", "B": "0.2", "C": "0.5", "D": "1"})
    assert [e["plan_no"] for e in entries] == ["联202301", "联202303"]
    assert [t["task_id"] for t in entries[0]["tasks"]] == ["联202301-001", "联202301-002"]
    assert entries[0]["tasks"][1]["grade_ratios"] == {"A": "0", "B": "0.2", "C": "0.5", "D": "1"}


def test_plan_entries_needs_grade_ratios_for_prose_ratios() -> None:
    tasks = parse_plan_rows(read_csv_rows(), departments=DEPARTMENTS)
    with pytest.raises(RuleError) as caught:
        plan_entries(tasks)
    err = caught.value
    assert err.rule == "plan.grade_ratios"
    assert err.field == "grade_ratios"
    for task_id in ("联202301-001", "联202302-002", "联202303-003"):
        assert task_id in str(err)
    assert "pass grade_ratios" in str(err)


def test_plan_entries_numeric_ratio_needs_no_grade_ratios() -> None:
    tasks = parse_plan_rows(seed_rows(抽查比例="5%")[:1], departments=DEPARTMENTS)
    (entry,) = plan_entries(tasks)
    assert entry["tasks"][0]["ratio"] == "0.05"
    assert entry["tasks"][0]["ratio_by_grade"] is False
    assert "grade_ratios" not in entry["tasks"][0]


def test_plan_entries_publication_parameters() -> None:
    tasks = parse_plan_rows(read_csv_rows(), departments=DEPARTMENTS)
    entries = plan_entries(tasks, grade_ratios=DEMO_GRADE_RATIOS, days=20, unit="日")
    assert {e["publication"]["days"] for e in entries} == {20}
    assert {e["publication"]["unit"] for e in entries} == {"日"}


@pytest.mark.parametrize(
    ("days", "unit", "field"),
    [
        (0, "工作日", "publication.days"),
        (True, "工作日", "publication.days"),
        ("7", "工作日", "publication.days"),
        (7, "周", "publication.unit"),
    ],
)
def test_plan_entries_rejects_bad_publication(days: Any, unit: str, field: str) -> None:
    tasks = parse_plan_rows(read_csv_rows(), departments=DEPARTMENTS)
    with pytest.raises(FormatError) as caught:
        plan_entries(tasks, grade_ratios=DEMO_GRADE_RATIOS, days=days, unit=unit)
    assert caught.value.rule == "plan.publication"
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("grade_ratios", "says"),
    [
        ({"A": "0.05", "B": "0.1", "C": "0.3"}, "grade D is missing"),
        ({**DEMO_GRADE_RATIOS, "E": "0.9"}, "'E' is not a grade"),
        ({**DEMO_GRADE_RATIOS, "D": "1.5"}, "grade D: 1.5 is greater than 1"),
        ({**DEMO_GRADE_RATIOS, "D": "1.01"}, "grade D: 1.01 is greater than 1"),
        ({**DEMO_GRADE_RATIOS, "A": "5%"}, "grade A: '5%' is not a decimal string"),
        ({**DEMO_GRADE_RATIOS, "A": 0.05}, "grade A: 0.05 is not a decimal string"),
        ({**DEMO_GRADE_RATIOS, "B": ".1"}, "grade B: '.1' is not a decimal string"),
    ],
)
def test_plan_entries_rejects_bad_grade_ratios(grade_ratios: dict[str, Any], says: str) -> None:
    tasks = parse_plan_rows(read_csv_rows(), departments=DEPARTMENTS)
    with pytest.raises(FormatError) as caught:
        plan_entries(tasks, grade_ratios=grade_ratios)
    assert caught.value.rule == "plan.grade_ratios"
    assert says in str(caught.value)


def test_plan_entries_accepts_one_point_zero_and_leaves_tasks_alone() -> None:
    tasks = parse_plan_rows(read_csv_rows(), departments=DEPARTMENTS)
    before = copy.deepcopy(tasks)
    entries = plan_entries(tasks, grade_ratios={"D": "1.0", "C": "0.30", "B": "0.1", "A": "0"})
    assert entries[0]["tasks"][0]["grade_ratios"] == {"A": "0", "B": "0.1", "C": "0.30", "D": "1.0"}
    entries[0]["tasks"][0]["joint_departments"].append("SWJ")
    assert tasks == before


# ---------------------------------------------------------------------------
# what is accepted


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2023年2月至11月", "2023-02-01", "2023-11-30"),
        ("2023年2月-2023年11月", "2023-02-01", "2023-11-30"),
        ("2023年9月至11月", "2023-09-01", "2023-11-30"),
        ("2023-02-01至2023-11-30", "2023-02-01", "2023-11-30"),
        ("2023.2-2023.11", "2023-02-01", "2023-11-30"),
        ("2023年2月1日至2023年11月30日", "2023-02-01", "2023-11-30"),
        ("2023-02-01-2023-11-30", "2023-02-01", "2023-11-30"),
        ("2023/2/1~2023/3/15", "2023-02-01", "2023-03-15"),
        ("2023 年 2 月 至 11 月底", "2023-02-01", "2023-11-30"),
        ("２０２３年２月～１１月", "2023-02-01", "2023-11-30"),
        ("2024年2月至2月", "2024-02-01", "2024-02-29"),
        ("2023年5月", "2023-05-01", "2023-05-31"),
        ("2023年12月1日至12月31日", "2023-12-01", "2023-12-31"),
    ],
)
def test_window_forms(text: str, start: str, end: str) -> None:
    task = first_task(抽查时间=text)
    assert (task["window_start"], task["window_end"], task["window_text"]) == (start, end, text)


@pytest.mark.parametrize(
    ("text", "ratio"),
    [
        ("5%", "0.05"),
        ("5 %", "0.05"),
        ("５％", "0.05"),
        ("0.05", "0.05"),
        ("12.50%", "0.125"),
        ("100%", "1"),
        ("1", "1"),
        ("0", "0"),
        ("3‰", "0.003"),
    ],
)
def test_ratio_forms(text: str, ratio: str) -> None:
    task = first_task(抽查比例=text)
    assert (task["ratio"], task["ratio_by_grade"], task["ratio_text"]) == (ratio, False, text)


@pytest.mark.parametrize(
    "text",
    [BY_GRADE, "按信用风险分类确定抽查比例", "不同风险等级确定不同抽查比例"],
)
def test_ratio_by_grade_statements(text: str) -> None:
    task = first_task(抽查比例=text)
    assert (task["ratio"], task["ratio_by_grade"]) == (None, True)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("定向", "directed"),
        ("定向抽查", "directed"),
        ("不定向", "undirected"),
        ("不定向抽查", "undirected"),
        ("", None),
        ("  ", None),
    ],
)
def test_kind_spellings(text: str, kind: str | None) -> None:
    assert first_task(抽查类型=text)["kind"] == kind


@pytest.mark.parametrize(
    ("name", "dept_id"),
    [
        ("承德县应急管理局", "AJJ"),
        ("县应急管理局", "AJJ"),
        ("应急管理局", "AJJ"),
        ("应急局", "AJJ"),
        ("承德县应急局", "AJJ"),
        ("AJJ", "AJJ"),
        ("市场监管局", "SCJGJ"),
        ("县市场监督管理局", "SCJGJ"),
        ("气象局", "QXJ"),
        (" 县统计局 ", "TJJ"),
    ],
)
def test_initiator_spellings(name: str, dept_id: str) -> None:
    task = first_task(发起部门=name, 联合部门="" if dept_id != "AJJ" else "县统计局")
    assert task["initiator"] == dept_id


def test_joint_departments_split_in_written_order() -> None:
    task = first_task(联合部门="县气象局，统计局;商务局 市场监管局,\u3000")
    assert task["joint_departments"] == ["QXJ", "TJJ", "SWJ", "SCJGJ"]
    assert first_task(联合部门="")["joint_departments"] == []


@pytest.mark.parametrize(
    ("scope", "sectors"),
    [
        ("全县范围内工贸企业", ["工贸"]),
        ("全县范围内危险化学品、经营企业、加油站", ["危化", "加油站"]),
        ("煤矿企业、非煤矿山、金属非金属矿山", ["煤矿", "非煤矿山"]),
        ("危化品企业、工商贸企业、危险化学品", ["危化", "工贸"]),
        ("安全生产技术服务机构", ["安全服务机构"]),
        ("全县范围内所有企业", []),
        ("", []),
    ],
)
def test_sectors_from_scope(scope: str, sectors: list[str]) -> None:
    assert first_task(抽查对象范围=scope)["sectors"] == sectors


def test_header_aliases_and_padding() -> None:
    rows = [
        {
            {"抽查计划名称": "计划名称", "抽查任务名称": " 任务名称"}.get(k, k + " "): v
            for k, v in r.items()
        }
        for r in read_csv_rows()
    ]
    assert [dict(t) for t in parse_plan_rows(rows, departments=DEPARTMENTS)] == EXPECTED_TASKS


def test_blank_rows_are_skipped_and_rows_keep_their_numbers() -> None:
    rows = read_csv_rows()
    blank = dict.fromkeys(rows[0], " ")
    rows.insert(1, blank)
    rows[3]["抽查类型"] = "随机"
    err = import_error(rows)
    assert_only_problem(err, 5, "抽查类型", "plan.kind")


# ---------------------------------------------------------------------------
# one test per error rule


def test_missing_header_names_the_headers_found() -> None:
    rows = [
        {k: v for k, v in r.items() if k not in ("抽查比例", "发起部门")} for r in read_csv_rows()
    ]
    err = import_error(rows)
    assert [p[:3] for p in err.problems] == [
        (1, "抽查比例", "plan.header"),
        (1, "发起部门", "plan.header"),
    ]
    assert "抽查计划编号、抽查计划名称、抽查任务编号" in err.problems[0][3]
    assert "row 1, column 抽查比例: column 抽查比例 is missing" in str(err)


def test_doubled_header() -> None:
    rows = [{**r, "计划名称": r["抽查计划名称"]} for r in read_csv_rows()]
    err = import_error(rows)
    assert_only_problem(err, 1, "抽查计划名称", "plan.header")


@pytest.mark.parametrize(
    "column", ["抽查计划编号", "抽查任务编号", "抽查任务名称", "发起部门", "抽查时间"]
)
def test_required_cell_blank(column: str) -> None:
    err = import_error(seed_rows(**{column: " "}))
    reason = assert_only_problem(err, 2, column, "plan.required")
    assert "blank" in reason


def test_unknown_department_lists_the_registered_ones() -> None:
    err = import_error(seed_rows(发起部门="县教育局", 联合部门="县统计局、承德市应急管理局"))
    assert [p[:3] for p in err.problems] == [
        (2, "发起部门", "plan.department"),
        (2, "联合部门", "plan.department"),
    ]
    assert "'县教育局' is not registered" in err.problems[0][3]
    assert "县应急管理局 (AJJ)" in err.problems[0][3]
    assert "县气象局 (QXJ)" in err.problems[0][3]
    assert "'承德市应急管理局' is not registered" in err.problems[1][3]


def test_ambiguous_department_short_form() -> None:
    departments = {**DEPARTMENTS, "AJJ2": "县应急局"}
    err = import_error(seed_rows(发起部门="应急局"), departments=departments)
    reason = assert_only_problem(err, 2, "发起部门", "plan.department")
    assert "may be any of AJJ, AJJ2" in reason


def test_two_initiators() -> None:
    err = import_error(seed_rows(发起部门="县应急管理局、县统计局", 联合部门=""))
    assert_only_problem(err, 2, "发起部门", "plan.initiator")


@pytest.mark.parametrize("kind", ["随机", "定向 抽查", "directed"])
def test_kind_not_accepted(kind: str) -> None:
    err = import_error(seed_rows(抽查类型=kind))
    reason = assert_only_problem(err, 2, "抽查类型", "plan.kind")
    assert "定向、定向抽查、不定向、不定向抽查" in reason


@pytest.mark.parametrize(
    ("ratio", "says"),
    [
        ("看情况", "neither a number or percentage"),
        ("", "the ratio is blank"),
        ("5", "did you mean '5%'?"),
        ("150%", "more than 1 (100%)"),
        ("-5%", "neither a number"),
        ("5%,不同风险等级确定不同抽查比例", "neither a number"),
        ("百分之五", "neither a number"),
    ],
)
def test_ratio_not_accepted(ratio: str, says: str) -> None:
    err = import_error(seed_rows(抽查比例=ratio))
    reason = assert_only_problem(err, 2, "抽查比例", "plan.ratio")
    assert says in reason


def test_duplicate_task_id() -> None:
    rows = read_csv_rows()
    rows[2].update({k: rows[1][k] for k in ("抽查计划编号", "抽查计划名称", "抽查任务编号")})
    err = import_error(rows)
    reason = assert_only_problem(err, 4, "抽查任务编号", "plan.task_id")
    assert reason == "task 联202302-002 is already on row 3"


@pytest.mark.parametrize("task_no", ["甲号", "2023-001号"])
def test_task_number_without_one_number(task_no: str) -> None:
    err = import_error(seed_rows(抽查任务编号=task_no))
    assert_only_problem(err, 2, "抽查任务编号", "plan.task_no")


def test_plan_number_with_a_slash() -> None:
    err = import_error(seed_rows(抽查计划编号="联2023/01"))
    assert_only_problem(err, 2, "抽查计划编号", "plan.plan_no")


@pytest.mark.parametrize("joint", ["县统计局、应急局", "承德县应急管理局"])
def test_initiator_listed_again_as_joint(joint: str) -> None:
    err = import_error(seed_rows(联合部门=joint))
    reason = assert_only_problem(err, 2, "联合部门", "plan.joint")
    assert "(AJJ)" in reason and "initiating department" in reason


def test_joint_department_listed_twice() -> None:
    err = import_error(seed_rows(联合部门="县统计局、统计局"))
    assert_only_problem(err, 2, "联合部门", "plan.joint")


@pytest.mark.parametrize(
    ("window", "says"),
    [
        ("2023年11月至2月", "ends (2023-02-28) before it starts (2023-11-01)"),
        ("2023-11-30至2023-02-01", "before it starts"),
        ("2月至11月", "cannot be read"),
        ("2023.2-11", "cannot be read"),
        ("23年2月至11月", "cannot be read"),
        ("全年", "cannot be read"),
        ("2023年上半年", "cannot be read"),
        ("2023年2月30日至11月", "does not exist"),
        ("2023年13月至14月", "does not exist"),
    ],
)
def test_window_not_accepted(window: str, says: str) -> None:
    err = import_error(seed_rows(抽查时间=window))
    reason = assert_only_problem(err, 2, "抽查时间", "plan.window")
    assert says in reason


def test_one_plan_number_two_names() -> None:
    rows = read_csv_rows()
    rows[1]["抽查计划编号"] = "联202301"
    err = import_error(rows)
    reason = assert_only_problem(err, 3, "抽查计划名称", "plan.plan_name")
    assert "on row 2" in reason


def test_cells_beyond_the_header() -> None:
    text = (FIXTURES / "seed_plan.csv").read_text(encoding="utf-8").splitlines()
    text[2] += ",多余"
    rows = list(csv.DictReader(text))
    err = import_error(rows)
    assert_only_problem(err, 3, "", "plan.row")


def test_cell_that_is_not_text() -> None:
    rows: list[dict[str, Any]] = list(read_csv_rows())
    rows[1]["抽查比例"] = 0.05
    err = import_error(rows)
    reason = assert_only_problem(err, 3, "抽查比例", "plan.cell")
    assert reason == "expected text, got float 0.05"


@pytest.mark.parametrize("rows", [[], [{c: "" for c in COLUMNS}]], ids=["none", "blank"])
def test_empty_table(rows: list[dict[str, str]]) -> None:
    err = import_error(rows)
    assert [p[2] for p in err.problems] == ["plan.empty"]


def test_every_problem_is_reported_at_once() -> None:
    rows = read_csv_rows()
    rows[0].update(抽查类型="随机", 抽查比例="看情况", 联合部门="县教育局")
    rows[1].update(抽查时间="2023年11月至2月", 抽查任务名称="")
    rows[2].update(抽查计划编号="联202301", 抽查任务编号="001号")
    err = import_error(rows, first_row_number=5)
    assert [p[:3] for p in err.problems] == [
        (5, "抽查类型", "plan.kind"),
        (5, "抽查比例", "plan.ratio"),
        (5, "联合部门", "plan.department"),
        (6, "抽查任务名称", "plan.required"),
        (6, "抽查时间", "plan.window"),
        (7, "抽查计划名称", "plan.plan_name"),
        (7, "抽查任务编号", "plan.task_id"),
    ]
    lines = str(err).splitlines()
    assert lines[0] == "the plan table has 7 problems [plan.import]"
    assert lines[1:] == [
        f"row {row}, column {column}: {reason} [{rule}]"
        for row, column, rule, reason in err.problems
    ]
    assert isinstance(err, FormatError)
    assert err.rule == "plan.import"
    body = err.to_problem()
    assert body["status"] == 422
    problems = body["problems"]
    assert isinstance(problems, list) and len(problems) == 7
    assert problems[0] == {
        "row": 5,
        "column": "抽查类型",
        "rule": "plan.kind",
        "reason": err.problems[0][3],
    }


# ---------------------------------------------------------------------------
# ratios are exact (no floats, DESIGN.md A1)

_DECIMAL_RATIO = re.compile(r"(0|1)(\.[0-9]*[1-9])?")


def _decimal_text(numerator: int, places: int) -> str:
    text = str(numerator).rjust(places + 1, "0")
    return f"{text[:-places]}.{text[-places:]}" if places else text


@given(
    places=st.integers(0, 8),
    data=st.data(),
    sign=st.sampled_from(["%", " %", "％"]),
)
def test_percentages_are_exact(places: int, data: st.DataObject, sign: str) -> None:
    numerator = data.draw(st.integers(0, 100 * 10**places))
    written = _decimal_text(numerator, places) + sign
    task = first_task(抽查比例=written)
    assert Fraction(task["ratio"]) == Fraction(numerator, 10**places) / 100
    assert _DECIMAL_RATIO.fullmatch(task["ratio"])


@given(places=st.integers(0, 8), data=st.data())
def test_decimals_are_exact_and_over_one_is_refused(places: int, data: st.DataObject) -> None:
    numerator = data.draw(st.integers(0, 2 * 10**places))
    written = _decimal_text(numerator, places)
    rows = seed_rows(抽查比例=written)
    if numerator > 10**places:
        err = import_error(rows)
        assert_only_problem(err, 2, "抽查比例", "plan.ratio")
    else:
        ratio = parse_plan_rows(rows, departments=DEPARTMENTS)[0]["ratio"]
        assert ratio is not None
        assert Fraction(ratio) == Fraction(numerator, 10**places)
        assert _DECIMAL_RATIO.fullmatch(ratio)


# ---------------------------------------------------------------------------
# the light path (DESIGN.md B2)


def test_imports_only_the_standard_library_and_ledger_errors() -> None:
    tree = ast.parse(Path(plans.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    outside = {
        name
        for name in imported
        if name.split(".")[0] not in sys.stdlib_module_names and name != "__future__"
    }
    assert outside == {"ledger.errors"}
