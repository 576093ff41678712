"""Registry row validation and code lists (DESIGN.md C1, C4; DOMAIN.md §2)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ledger.domain.registry import (
    HAZARD_LEVELS,
    RESULT_CATEGORIES,
    RESULT_LABELS,
    RESULT_PARENTS,
    ImportRowsError,
    Problem,
    normalise_hazard,
    normalise_result,
    result_code,
    validate_conflict,
    validate_department,
    validate_enterprise_rows,
    validate_inspector_rows,
)
from ledger.errors import FormatError, RuleError

HUAWEI = "914403001922038216"
TIANJIN = "91120116697415782C"


def ent(**over: object) -> dict[str, object]:
    row: dict[str, object] = {
        "usc": HUAWEI,
        "name": "某某公司",
        "sector": "工贸",
        "town": "下板城镇",
        "grade": "A",
        "status": "active",
    }
    row.update(over)
    return row


def insp(**over: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": "AJJ-001",
        "name": "王伟",
        "cert_no": "130821010001",
        "department": "AJJ",
        "active": True,
    }
    row.update(over)
    return row


def problems_of(call: Callable[[], object]) -> list[Problem]:
    with pytest.raises(ImportRowsError) as info:
        call()
    return info.value.problems


# ---------------------------------------------------------------- enterprises


def test_enterprise_rows_normalised() -> None:
    rows: list[dict[str, object]] = [
        ent(),
        {
            "统一社会信用代码": " 91120116697415782c ",
            "企业名称": "天津样例",
            "行业": "危险化学品",
            "乡镇": "甲山镇",
            "风险等级": "c",
            "状态": "注销",
            "序号": "2",  # unknown columns are ignored
        },
    ]
    out = validate_enterprise_rows(rows, existing=set())
    assert out == [
        ent(),
        {
            "usc": TIANJIN,
            "name": "天津样例",
            "sector": "危化",
            "town": "甲山镇",
            "grade": "C",
            "status": "deregistered",
        },
    ]
    assert all(isinstance(v, str) for row in out for v in row.values())


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("sector", "金属非金属矿山", "非煤矿山"),
        ("sector", "安全生产技术服务机构", "安全服务机构"),
        ("sector", "煤矿", "煤矿"),
        ("grade", "B类", "B"),
        ("grade", "信用风险高", "D"),
        ("status", "在营", "active"),
        ("status", "停业", "closed"),
        ("status", "CLOSED", "closed"),
    ],
)
def test_enterprise_aliases(field: str, value: object, expected: str) -> None:
    (row,) = validate_enterprise_rows([ent(**{field: value})], existing=set())
    assert row[field] == expected


def test_enterprise_problems_collected_with_row_numbers() -> None:
    rows = [
        ent(),
        ent(usc="91350100M000100Y4Z", grade="E"),
        ent(usc="914403001922038217"),
        ent(usc="31210000MD0052502C", sector="餐饮", name="  ", town=3.0),
        ent(),  # repeats row 5 (numbered as in the file)
        ent(usc=TIANJIN),
    ]
    problems = problems_of(
        lambda: validate_enterprise_rows(rows, existing={TIANJIN}, row_numbers=[5, 6, 7, 8, 9, 10])
    )
    assert problems == [
        (6, "usc", "GB 32100-2015 character set",
         "character 'Z' at position 18 is not in the code character set "
         "0-9 ABCDEFGHJKLMNPQRTUWXY"),
        (6, "grade", "C1 registry", "'E' is not one of A/B/C/D"),
        (7, "usc", "GB 32100-2015 check character",
         "check character (position 18) expected '6', got '7'"),
        (8, "name", "C1 registry", "empty value"),
        (8, "sector", "C1 registry",
         "'餐饮' is not one of 工贸/危化/加油站/非煤矿山/安全服务机构/煤矿"),
        (8, "town", "C1 registry", "floats are not allowed, got 3.0"),
        (9, "usc", "C1 import", f"{HUAWEI} repeats row 5"),
        (10, "usc", "C1 registry", f"{TIANJIN} is already registered"),
    ]  # fmt: skip


def test_import_error_formats_one_problem_per_line() -> None:
    with pytest.raises(ImportRowsError) as info:
        validate_enterprise_rows([ent(), ent(usc=TIANJIN, grade="Z")], existing=set())
    err = info.value
    assert isinstance(err, FormatError)
    assert str(err).splitlines() == [
        "1 problem(s) in 1 of the enterprise rows; nothing imported [C1 import]",
        "row 2, field 'grade': 'Z' is not one of A/B/C/D [C1 registry]",
    ]
    problem = err.to_problem()
    assert problem["status"] == 422
    assert problem["errors"] == [
        {"row": 2, "field": "grade", "rule": "C1 registry", "reason": "'Z' is not one of A/B/C/D"}
    ]


def test_missing_column_reported_once() -> None:
    rows = [{k: v for k, v in ent(usc=u).items() if k != "town"} for u in (HUAWEI, TIANJIN)]
    problems = problems_of(lambda: validate_enterprise_rows(rows, existing=set()))
    assert len(problems) == 1
    row, field, rule, reason = problems[0]
    assert (row, field, rule) == (1, "town", "C1 import")
    assert "乡镇" in reason


def test_missing_value_in_one_row() -> None:
    rows = [ent(), {k: v for k, v in ent(usc=TIANJIN).items() if k != "town"}]
    assert problems_of(lambda: validate_enterprise_rows(rows, existing=set())) == [
        (2, "town", "C1 import", "missing value")
    ]


def test_column_given_twice() -> None:
    row = ent()
    row["企业名称"] = "别名"
    problems = problems_of(lambda: validate_enterprise_rows([row], existing=set()))
    assert problems[0][:3] == (1, "name", "C1 import")
    assert "given twice" in problems[0][3]


def test_empty_import_and_bad_row_numbers() -> None:
    with pytest.raises(FormatError, match="no rows"):
        validate_enterprise_rows([], existing=set())
    with pytest.raises(FormatError, match="row numbers"):
        validate_enterprise_rows([ent()], existing=set(), row_numbers=[1, 2])
    assert problems_of(lambda: validate_enterprise_rows(["x"], existing=set())) == [  # type: ignore[list-item]
        (1, "row", "C1 import", "row is not an object")
    ]


# ---------------------------------------------------------------- inspectors


def test_inspector_rows_normalised() -> None:
    rows: list[dict[str, object]] = [
        insp(),
        {"编号": "SCJGJ-1", "姓名": "李娜", "执法证号": "X-2", "部门": "SCJGJ", "在岗": "否"},
        insp(id="AJJ-2", cert_no="3", active="是"),
        insp(id="AJJ-3", cert_no="4", active="TRUE"),
        insp(id="AJJ-4", cert_no="5", active=0),
        insp(id="AJJ-5", cert_no="6", active="1"),
    ]
    out = validate_inspector_rows(rows, departments={"AJJ", "SCJGJ"}, existing=set())
    assert out[1] == {
        "id": "SCJGJ-1",
        "name": "李娜",
        "cert_no": "X-2",
        "department": "SCJGJ",
        "active": False,
    }
    assert [r["active"] for r in out] == [True, False, True, True, False, True]


def test_inspector_department_by_name_when_mapping_given() -> None:
    deps = {"AJJ": "县应急管理局", "SCJGJ": "县市场监管局"}
    (row,) = validate_inspector_rows(
        [insp(department="县应急管理局")], departments=deps, existing=set()
    )
    assert row["department"] == "AJJ"


def test_inspector_problems() -> None:
    rows = [
        insp(),
        insp(),  # duplicate id and cert
        insp(id="bad id!", cert_no="9"),
        insp(id="AJJ-9", cert_no="10", department="XYZ", active="maybe"),
        insp(id="OLD-1", cert_no="11"),
        insp(id="AJJ-10", cert_no="12", active=1.0),
    ]
    problems = problems_of(
        lambda: validate_inspector_rows(rows, departments={"AJJ"}, existing={"OLD-1"})
    )
    assert [(p[0], p[1]) for p in problems] == [
        (2, "id"),
        (2, "cert_no"),
        (3, "id"),
        (4, "department"),
        (4, "active"),
        (5, "id"),
        (6, "active"),
    ]
    assert "repeats row 1" in problems[0][3]
    assert "not registered" in problems[3][3]
    assert "already registered" in problems[5][3]


# ---------------------------------------------------------------- departments, conflicts


def test_department() -> None:
    assert validate_department("AJJ", " 县应急管理局 ") == {
        "department": "AJJ",
        "name": "县应急管理局",
    }
    with pytest.raises(FormatError) as info:
        validate_department("县应急", "县应急管理局")
    assert info.value.field == "department"
    with pytest.raises(FormatError) as info:
        validate_department("A" * 33, "x")
    with pytest.raises(FormatError) as info:
        validate_department("AJJ", "")
    assert info.value.field == "name"
    with pytest.raises(RuleError, match="already registered"):
        validate_department("AJJ", "县应急管理局", existing={"AJJ"})


def test_conflict() -> None:
    data = validate_conflict("AJJ-001", HUAWEI, " 亲属任职 ", {"AJJ-001"}, {HUAWEI})
    assert data == {"enterprise": HUAWEI, "inspector": "AJJ-001", "reason": "亲属任职"}
    with pytest.raises(RuleError) as info:
        validate_conflict("AJJ-002", HUAWEI, "x", {"AJJ-001"}, {HUAWEI})
    assert info.value.field == "inspector"
    with pytest.raises(RuleError) as info:
        validate_conflict("AJJ-001", TIANJIN, "x", {"AJJ-001"}, {HUAWEI})
    assert info.value.field == "enterprise"
    with pytest.raises(FormatError) as bad:
        validate_conflict("AJJ-001", HUAWEI, "  ", {"AJJ-001"}, {HUAWEI})
    assert bad.value.field == "reason"


# ---------------------------------------------------------------- result categories, hazards


def test_result_list_is_complete_and_exact() -> None:
    assert len(RESULT_CATEGORIES) == 19
    assert RESULT_LABELS["1"] == "未发现问题"
    assert RESULT_LABELS["E"] == "发现问题经责令已改正"
    assert RESULT_LABELS["5"] == "违反其他部门相关规定"
    assert RESULT_LABELS["6"] == "通过登记的住所（经营场所）无法联系"
    assert [RESULT_LABELS[c] for c in ("9", "10", "11", "12")] == [
        "注销",
        "被吊销",
        "被撤销",
        "迁出",
    ]
    assert all(child in RESULT_LABELS and parent in RESULT_LABELS
               for child, parent in RESULT_PARENTS.items())  # fmt: skip


@pytest.mark.parametrize(
    ("text", "label", "code"),
    [
        ("E", "发现问题经责令已改正", "E"),
        ("e", "发现问题经责令已改正", "E"),
        ("发现问题经责令已改正", "发现问题经责令已改正", "E"),
        ("发现问题已责令改正", "发现问题经责令已改正", "E"),  # used by the conformance bundle
        ("正常", "未发现问题", "1"),
        (" 未发现问题 ", "未发现问题", "1"),
        ("10", "被吊销", "10"),
        ("通过登记的住所(经营场所)无法联系", "通过登记的住所（经营场所）无法联系", "6"),
        ("不予配合情节严重", "不配合检查情节严重", "8"),
    ],
)
def test_normalise_result(text: str, label: str, code: str) -> None:
    assert normalise_result(text) == label
    assert result_code(text) == code


@pytest.mark.parametrize("text", ["有问题", "", "13", "H"])
def test_unknown_result_is_an_error(text: str) -> None:
    with pytest.raises(FormatError, match="not an official result category") as info:
        normalise_result(text)
    assert info.value.field == "result"


def test_hazard_levels() -> None:
    assert HAZARD_LEVELS == ("一般", "重大")
    assert normalise_hazard("重大事故隐患") == "重大"
    assert normalise_hazard("一般") == "一般"
    with pytest.raises(FormatError, match="一般 or 重大"):
        normalise_hazard("较大")
