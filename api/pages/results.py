"""The 抽查结果公示 table: rows of the public register and their downloads (DESIGN.md C5, C6).

One row per published unit and check item, flattened from
:func:`projections.register.public_register` (plans in order, tasks in plan
order, units in the order their cases were opened, items as inspected), so the
web table, ``/results.csv`` and ``/results.xlsx`` are the register
projection's rows and nothing else.  Columns follow the published tables of
DOMAIN.md §7 (企业名称, 统一社会信用代码, 检查事项, 检查结果, 检查日期, …).

The CSV is UTF-8 with a byte order mark and CRLF line ends, which Excel opens
as Chinese text; the XLSX is written with openpyxl.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

__all__ = [
    "COLUMNS",
    "filter_rows",
    "group_units",
    "inspection_dates",
    "register_rows",
    "rows_csv",
    "rows_xlsx",
]

COLUMNS = (
    "序号",
    "抽查计划编号",
    "抽查任务编号",
    "抽查任务名称",
    "企业名称",
    "统一社会信用代码",
    "检查事项",
    "检查结果",
    "整改情况",
    "检查日期",
    "公示日期",
    "检查部门",
)
"""Column headers of the results table and its downloads, in order."""

_WIDTHS = (6, 12, 10, 36, 30, 22, 26, 26, 12, 14, 12, 30)


def inspection_dates(inspection: dict[str, Any]) -> str:
    """``YYYY-MM-DD``, or ``YYYY-MM-DD至YYYY-MM-DD`` for a visit over several days."""
    start = inspection.get("start") or ""
    end = inspection.get("end") or start
    return start if end == start else f"{start}至{end}"


def register_rows(register: dict[str, Any]) -> list[list[str]]:
    """The rows of the results table from a ``public_register`` view (every plan).

    A unit without check items still gets one row (items and results empty).
    ``序号`` numbers the rows from 1.
    """
    rows: list[list[str]] = []
    for plan in register["plans"]:
        for task in plan["tasks"]:
            for unit in task["units"]:
                results = unit["results"] or [{"item": "", "result": ""}]
                for result in results:
                    rows.append([
                        str(len(rows) + 1),
                        plan["plan_no"],
                        task.get("task_no") or "",
                        task.get("task_name") or "",
                        unit["enterprise"]["name"] or "",
                        unit["enterprise"]["usc"],
                        result["item"] or "",
                        result["result"] or "",
                        unit["rectification"],
                        inspection_dates(unit["inspection"]),
                        unit["published"] or "",
                        "、".join(d for d in unit["departments"] if d),
                    ])
    return rows


def filter_rows(rows: Iterable[Sequence[str]], query: str) -> list[list[str]]:
    """Rows any of whose cells (but ``序号``) contains every word of ``query``, ignoring case."""
    words = [w.casefold() for w in query.split()]
    out = []
    for row in rows:
        text = "\t".join(row[1:]).casefold()
        if all(w in text for w in words):
            out.append(list(row))
    return out


def group_units(rows: Iterable[Sequence[str]]) -> list[dict[str, Any]]:
    """Consecutive rows of one unit (plan, task, enterprise) grouped for the web table.

    Each group is ``{"number", "plan_no", "task_no", "task_name", "name", "usc",
    "rectification", "inspected", "published", "departments", "items": [(item, result)]}``,
    numbered from 1 in order.
    """
    units: list[dict[str, Any]] = []
    for row in rows:
        key = (row[1], row[2], row[5])
        if not units or units[-1]["key"] != key:
            units.append({"key": key, "number": len(units) + 1, "plan_no": row[1],
                          "task_no": row[2], "task_name": row[3], "name": row[4],
                          "usc": row[5], "rectification": row[8], "inspected": row[9],
                          "published": row[10], "departments": row[11], "items": []})
        units[-1]["items"].append((row[6], row[7]))
    return units


def rows_csv(rows: Iterable[Sequence[str]]) -> bytes:
    """The header and ``rows`` as CSV: UTF-8 with BOM, CRLF line ends (for Excel)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def rows_xlsx(rows: Iterable[Sequence[str]], *, title: str = "抽查结果公示") -> bytes:
    """The header and ``rows`` as an XLSX workbook of one sheet (openpyxl)."""
    book = Workbook()
    sheet = book.active
    if sheet is None:
        raise AssertionError("bad math: a new openpyxl workbook has no active sheet")
    sheet.title = title
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append(list(row))
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="E8EEF7")
    for cell in sheet[1]:
        cell.font = header_font
        cell.fill = header_fill
        cell.alignment = Alignment(vertical="center")
    for column, width in zip("ABCDEFGHIJKL", _WIDTHS, strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
