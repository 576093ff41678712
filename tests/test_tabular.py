"""CSV/XLSX table reading for registry and plan imports (DESIGN.md C1, C2)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path

import openpyxl
import pytest

from ledger.domain.registry import ImportRowsError, validate_enterprise_rows
from ledger.errors import FormatError
from ledger.tabular import Table, parse_table, read_table

HEADER = "统一社会信用代码,企业名称,行业,乡镇,风险等级,状态"
ROWS = [
    "914403001922038216,样例甲,工贸,下板城镇,A,在营",
    "91120116697415782C,样例乙,危化,甲山镇,B,active",
]


def write_csv(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes("\r\n".join(lines).encode(encoding) + b"\r\n")
    return path


def write_xlsx(
    path: Path, rows: Sequence[Sequence[object]], formats: dict[tuple[int, int], str] | None = None
) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is not None:
                cell = ws.cell(row=r, column=c, value=value)
                if formats and (r, c) in formats:
                    cell.number_format = formats[(r, c)]
    wb.create_sheet("second")["A1"] = "ignored"
    wb.save(path)
    return path


# ---------------------------------------------------------------- CSV


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_csv_encodings(tmp_path: Path, encoding: str) -> None:
    table = read_table(write_csv(tmp_path / "e.csv", [HEADER, *ROWS], encoding))
    assert isinstance(table, Table)
    assert table.headers == ("统一社会信用代码", "企业名称", "行业", "乡镇", "风险等级", "状态")
    assert table.rows[0]["企业名称"] == "样例甲"
    assert table.rows[1]["统一社会信用代码"] == "91120116697415782C"
    assert table.row_numbers == [2, 3]


def test_csv_row_numbers_as_seen_in_the_file(tmp_path: Path) -> None:
    lines = ["", " , ", HEADER, ROWS[0], ",,,,,", "", ROWS[1]]
    table = read_table(write_csv(tmp_path / "e.csv", lines))
    assert table.row_numbers == [4, 7]
    assert [n for n, _ in table.numbered()] == [4, 7]


def test_csv_quoted_cells_and_short_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "q.csv", ["a,b,c", '" x, y ",2', '3,"multi\nline",4'])
    table = read_table(path)
    assert table.rows == [
        {"a": "x, y", "b": "2", "c": ""},
        {"a": "3", "b": "multi\nline", "c": "4"},
    ]
    assert table.row_numbers == [2, 3]  # record numbers, as a spreadsheet shows them


def test_tsv(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("a\tb\n1\t2\n", encoding="utf-8")
    assert read_table(path).rows == [{"a": "1", "b": "2"}]


def test_blank_header_column_without_data_is_ignored(tmp_path: Path) -> None:
    table = read_table(write_csv(tmp_path / "b.csv", ["a,,c,,", "1,,3,,"]))
    assert table.headers == ("a", "c")
    assert table.rows == [{"a": "1", "c": "3"}]


@pytest.mark.parametrize(
    ("lines", "fragment"),
    [
        ([], "no header row"),
        (["", " ,"], "no header row"),
        (["a,b,a", "1,2,3"], "'a' appears in columns 1 and 3"),
        (["a,b", "1,2,3"], "row 2 has a value in column 3, which has no header"),
        (["a,,c", "1,2,3"], "row 2 has a value in column 2"),
    ],
)
def test_csv_structure_errors(tmp_path: Path, lines: list[str], fragment: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes("\n".join(lines).encode())
    with pytest.raises(FormatError, match=fragment) as info:
        read_table(path)
    assert info.value.rule == "C1 table file"


def test_undecodable_csv(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"a,b\n\xff,1\n")
    with pytest.raises(FormatError, match="not UTF-8 or GB18030"):
        read_table(path)


def test_bad_quoting_csv(tmp_path: Path) -> None:
    path = tmp_path / "n.csv"
    path.write_bytes(b'a,b\n1,"2"x\n')
    with pytest.raises(FormatError, match="row 2"):
        read_table(path)


def test_unreadable_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="cannot read"):
        read_table(tmp_path / "missing.csv")
    with pytest.raises(FormatError, match="cannot read"):
        read_table(tmp_path)  # a directory
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(FormatError, match="unknown table format"):
        read_table(tmp_path / "x.json")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(FormatError, match=r"\.xls format"):
        read_table(tmp_path / "old.xls")
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(FormatError, match="not a readable XLSX"):
        read_table(tmp_path / "broken.xlsx")


# ---------------------------------------------------------------- XLSX


def test_xlsx_cells_become_text(tmp_path: Path) -> None:
    rows = [
        None,
        ["标题", "日期", "时间戳", "整数", "浮点整数", "小数", "比例", "布尔", "空", "时刻"],
        [
            "  甲 ",
            date(2023, 2, 1),
            datetime(2023, 11, 30, 0, 0),
            914403,
            5.0,
            3.25,
            0.05,
            True,
            None,
            time(8, 30),
        ],
        [None] * 10,
        ["乙", datetime(2023, 3, 1, 9, 15, 0), None, -7, 1e3, 0.1, 0.125, False, "", None],
    ]
    path = write_xlsx(tmp_path / "t.xlsx", [r or [] for r in rows], {(3, 7): "0%", (5, 7): "0.0%"})
    table = read_table(path)
    assert table.headers[0] == "标题"
    assert table.row_numbers == [3, 5]
    assert table.rows[0] == {
        "标题": "甲",
        "日期": "2023-02-01",
        "时间戳": "2023-11-30",
        "整数": "914403",
        "浮点整数": "5",
        "小数": "3.25",
        "比例": "5%",
        "布尔": "true",
        "空": "",
        "时刻": "08:30:00",
    }
    assert table.rows[1]["日期"] == "2023-03-01 09:15:00"
    assert table.rows[1]["整数"] == "-7"
    assert table.rows[1]["浮点整数"] == "1000"
    assert table.rows[1]["小数"] == "0.1"
    assert table.rows[1]["比例"] == "12.5%"
    assert table.rows[1]["布尔"] == "false"


def test_xlsx_first_sheet_only_and_header_errors(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "d.xlsx", [["a", "b", "a"], [1, 2, 3]])
    with pytest.raises(FormatError, match="appears in columns 1 and 3"):
        read_table(path)
    path = write_xlsx(tmp_path / "e.xlsx", [])
    with pytest.raises(FormatError, match="no header row"):
        read_table(path)


def test_xlsx_long_number_is_refused(tmp_path: Path) -> None:
    # A 统一社会信用代码 typed into a number cell has already lost digits.
    path = write_xlsx(tmp_path / "n.xlsx", [["usc"], [9.14403001922038e17]])
    with pytest.raises(FormatError, match=r"cell A2 .* 15 digits"):
        read_table(path)
    path = write_xlsx(tmp_path / "i.xlsx", [["n"], [999999999999999]])  # 15 digits: exact
    assert read_table(path).rows == [{"n": "999999999999999"}]


def test_parse_table_from_upload_bytes(tmp_path: Path) -> None:
    data = write_xlsx(tmp_path / "u.xlsx", [["a"], ["x"]]).read_bytes()
    assert parse_table(data, name="UPLOAD.XLSX").rows == [{"a": "x"}]
    assert parse_table(b"a\r\n1\r\n", name="u.csv").rows == [{"a": "1"}]


# ---------------------------------------------------------------- into the registry


def test_xlsx_registry_import_reports_file_rows(tmp_path: Path) -> None:
    header = HEADER.split(",")
    good = ROWS[0].split(",")
    bad = ["91350100M000100Y4Z", "样例丙", "工贸", "三沟镇", "B", "在营"]
    path = write_xlsx(
        tmp_path / "r.xlsx", [["承德县监管主体名录库（样例）"], [], header, good, bad]
    )
    # The title row is the first non-empty row: a clear error, not a guess.
    with pytest.raises(FormatError, match="no header"):
        read_table(path)
    path = write_xlsx(tmp_path / "r2.xlsx", [[], header, good, [], bad])
    table = read_table(path)
    with pytest.raises(ImportRowsError) as info:
        validate_enterprise_rows(table.rows, existing=set(), row_numbers=table.row_numbers)
    assert [p[0] for p in info.value.problems] == [5]
    ok = validate_enterprise_rows(table.rows[:1], existing=set(), row_numbers=[3])
    assert ok[0]["usc"] == "914403001922038216"
