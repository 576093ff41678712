"""Read registry and plan tables from CSV and XLSX files (DESIGN.md C1, C2).

A table is the first non-empty row as headers and every later non-empty row
as a ``dict`` header → cell text, with the row number the user sees in the
file: the spreadsheet row for XLSX, the record number (= line number unless a
quoted cell spans lines) for CSV, both counting from 1 with the header row
included. Cells are stripped of surrounding whitespace.

CSV: UTF-8 with or without BOM, UTF-16 with BOM, else GB18030 (what Excel and
WPS write on Chinese Windows); comma-separated (``.tsv``: tab). XLSX (and
``.xlsm``): the first sheet, read with openpyxl; dates become ``YYYY-MM-DD``,
integral numbers lose ``.0``, percent-formatted numbers become ``"5%"``.
Every failure is a ``FormatError`` with rule ``C1 table file``.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from ledger.errors import FormatError

RULE = "C1 table file"
_EXACT_DIGITS = 10**15  # Excel keeps 15 significant digits of a number


@dataclass(frozen=True)
class Table:
    """Rows of one table file; ``row_numbers[i]`` is the file row of ``rows[i]``."""

    source: str
    headers: tuple[str, ...]
    rows: list[dict[str, str]]
    row_numbers: list[int]

    def numbered(self) -> list[tuple[int, dict[str, str]]]:
        """``(row number, row)`` pairs, in file order."""
        return list(zip(self.row_numbers, self.rows, strict=True))


def read_table(path: str | Path) -> Table:
    """Read a ``.csv``/``.tsv``/``.xlsx``/``.xlsm`` file into a :class:`Table`.

    Raises ``FormatError`` for an unreadable file, an unknown extension, bad
    encoding, a missing header row, blank or repeated headers, or a value in a
    column without a header.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise FormatError(RULE, f"cannot read {p}: {exc.strerror or exc}") from None
    return parse_table(data, name=p.name)


def parse_table(data: bytes, *, name: str) -> Table:
    """Parse file bytes (e.g. an upload); ``name``'s extension picks the format."""
    suffix = Path(name).suffix.lower()
    if suffix in (".csv", ".tsv"):
        text = _decode(data, name)
        return _table(name, _csv_rows(text, name, "\t" if suffix == ".tsv" else ","))
    if suffix in (".xlsx", ".xlsm"):
        return _table(name, _xlsx_rows(data, name))
    if suffix == ".xls":
        raise FormatError(RULE, f"{name}: the old .xls format is not read; save it as .xlsx or CSV")
    raise FormatError(
        RULE, f"{name}: unknown table format {suffix or '(no extension)'!r}; use .csv or .xlsx"
    )


def _decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise FormatError(RULE, f"{name}: has a UTF-16 BOM but is not UTF-16") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise FormatError(
            RULE, f"{name}: not UTF-8 or GB18030 text (bad byte at offset {exc.start})"
        ) from None


def _csv_rows(text: str, name: str, delimiter: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    out: list[tuple[int, list[str]]] = []
    number = 0
    try:
        for number, record in enumerate(reader, start=1):
            out.append((number, record))
    except csv.Error as exc:
        raise FormatError(RULE, f"{name}: row {number + 1}: {exc}") from None
    return out


def _xlsx_rows(data: bytes, name: str) -> list[tuple[int, list[str]]]:
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise FormatError(RULE, f"{name}: not a readable XLSX file ({exc})") from None
    try:
        if not wb.worksheets:
            raise FormatError(RULE, f"{name}: the workbook has no sheet")
        ws = wb.worksheets[0]
        out: list[tuple[int, list[str]]] = []
        for cells in ws.iter_rows():
            if not cells:
                continue
            for c in cells:
                if isinstance(c.value, float) and abs(c.value) >= _EXACT_DIGITS:
                    raise FormatError(
                        RULE,
                        f"{name}: cell {c.coordinate} holds the number {c.value!r}, longer "
                        "than the 15 digits a spreadsheet number keeps (a code typed as a "
                        "number?); format the column as text and type it again",
                    )
            out.append((cells[0].row, [_cell_text(c.value, c.number_format or "") for c in cells]))
        return out
    finally:
        wb.close()


def _cell_text(value: object, number_format: str) -> str:
    """Text of one XLSX cell value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, int | float):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        suffix = ""
        if "%" in number_format:
            number, suffix = number * 100, "%"
        if number == number.to_integral_value():
            return f"{int(number)}{suffix}"
        return f"{number.normalize():f}{suffix}"
    return str(value)


def _table(source: str, records: Iterable[tuple[int, Sequence[str]]]) -> Table:
    headers: list[str] | None = None
    header_row = 0
    rows: list[dict[str, str]] = []
    numbers: list[int] = []
    for number, record in records:
        cells = [c.strip() for c in record]
        if not any(cells):
            continue
        if headers is None:
            headers, header_row = _headers(cells, source, number), number
            continue
        for k, cell in enumerate(cells):
            if cell and (k >= len(headers) or not headers[k]):
                raise FormatError(
                    RULE,
                    f"{source}: row {number} has a value in column {k + 1}, which has no "
                    f"header (row {header_row})",
                )
        cells += [""] * (len(headers) - len(cells))
        rows.append({h: v for h, v in zip(headers, cells, strict=False) if h})
        numbers.append(number)
    if headers is None:
        raise FormatError(RULE, f"{source}: no header row (the file is empty)")
    named = tuple(h for h in headers if h)
    return Table(source=source, headers=named, rows=rows, row_numbers=numbers)


def _headers(cells: list[str], source: str, number: int) -> list[str]:
    # Blank headers are fine as long as no data sits under them (checked per row).
    while cells and not cells[-1]:
        cells.pop()
    seen: dict[str, int] = {}
    for k, h in enumerate(cells, start=1):
        if not h:
            continue
        if h in seen:
            raise FormatError(
                RULE,
                f"{source}: header row {number}: {h!r} appears in columns {seen[h]} and {k}",
            )
        seen[h] = k
    return cells
