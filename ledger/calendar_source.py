"""Sources of ``WorkCalendarSet`` data (DESIGN.md C5, DOMAIN.md §6).

``calendar_data(year)`` reads the State Council holiday arrangement (节假日安排
and 调休) for one year from the ``chinese-calendar`` package, which knows
2004..2026 in version 1.11.0. Later years are entered by hand, as a JSON file
of the same shape, once the State Council (国务院办公厅) publishes its notice;
``load_calendar_file`` reads and validates such a file. Deadlines themselves
are computed by :mod:`ledger.domain.calendar` from the logged data only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from ledger.domain.calendar import RULE, validate_calendar_data
from ledger.errors import FormatError, RuleError


def _package() -> Any:
    import chinese_calendar

    return chinese_calendar


def known_years() -> range:
    """The years the installed ``chinese-calendar`` package has data for."""
    cc = _package()
    days: Sequence[date] = list(cc.holidays)
    return range(min(days).year, max(days).year + 1)


def calendar_data(year: int) -> dict[str, Any]:
    """Return ``{"year", "holidays", "workdays"}`` for ``year`` from the package.

    ``holidays`` are the package's days off (including weekend days inside a
    holiday span), ``workdays`` its 调休 make-up working days; both are sorted
    ``YYYY-MM-DD`` strings. The result passes ``validate_calendar_data``.
    Raises ``RuleError`` (rule ``C5 calendar``) for a year the package does
    not know: that calendar must be entered by hand from the notice.
    """
    if isinstance(year, bool) or not isinstance(year, int):
        raise FormatError(RULE, f"year must be an integer, got {year!r}", field="year")
    years = known_years()
    if year not in years:
        cc = _package()
        raise RuleError(
            RULE,
            f"chinese-calendar {cc.__version__} has no data for {year} (it knows "
            f"{years.start}-{years.stop - 1}); enter the {year} calendar by hand from the "
            "State Council notice on holiday arrangements (国务院办公厅关于"
            f"{year}年部分节假日安排的通知) as a JSON file "
            '{"year": …, "holidays": […], "workdays": […]}',
            field="year",
        )
    cc = _package()
    data: dict[str, Any] = {
        "year": year,
        "holidays": sorted(d.isoformat() for d in cc.holidays if d.year == year),
        "workdays": sorted(d.isoformat() for d in cc.workdays if d.year == year),
    }
    validate_calendar_data(data)
    return data


def _no_float(text: str) -> Any:
    raise FormatError(RULE, f"numbers must be integers, got {text}")


def _no_constant(text: str) -> Any:
    raise FormatError(RULE, f"{text} is not allowed")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise FormatError(RULE, "duplicate member name", field=key)
        out[key] = value
    return out


def load_calendar_file(path: str | Path) -> dict[str, Any]:
    """Read a hand-written calendar JSON file (UTF-8, BOM allowed) and validate it.

    The file holds one object in the ``WorkCalendarSet`` shape, optionally
    with a ``source`` string naming the notice. Duplicate member names and
    floats are refused. Raises ``FormatError`` for an unreadable file, bad
    JSON or data that fails ``validate_calendar_data``.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise FormatError(RULE, f"cannot read {p}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(RULE, f"{p} is not UTF-8 (byte {exc.start})") from None
    try:
        data = json.loads(
            text,
            object_pairs_hook=_unique_object,
            parse_float=_no_float,
            parse_constant=_no_constant,
        )
    except json.JSONDecodeError as exc:
        raise FormatError(
            RULE, f"{p} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    validate_calendar_data(data)
    result: dict[str, Any] = data
    return result
