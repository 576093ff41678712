"""工作日 (working-day) arithmetic from calendar data only (DESIGN.md C5, DOMAIN.md §6).

A year's calendar is the data of a ``WorkCalendarSet`` entry (A12, stream
``calendar/<year>``)::

    {"year": 2023,
     "holidays": ["2023-01-02", ...],   # statutory days off (法定节假日)
     "workdays": ["2023-01-28", ...]}   # 调休 make-up working days (weekends)

A day is a working day when it is listed in ``workdays``, or when it is a
Monday..Friday not listed in ``holidays``. ``holidays`` may also list weekend
days inside a holiday span (as the State Council notices and the
``chinese-calendar`` package do); that changes nothing. An optional ``source``
string (e.g. the notice's document number) may accompany the data.

Deadlines are computed from these entries only, so an outside verifier gets
the same dates without any calendar package; a date in a year with no entry is
a ``RuleError``, never a weekday guess. Standard library only (light path).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from ledger.errors import FormatError, RuleError

RULE = "C5 calendar"
UNIT_WORKING_DAYS = "工作日"
UNIT_DAYS = "日"
UNITS = (UNIT_WORKING_DAYS, UNIT_DAYS)

_DATE_RE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_REQUIRED = ("year", "holidays", "workdays")
_OPTIONAL = ("source",)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MIN_YEAR = 1949
MAX_YEAR = 2999


def _parse_date(text: object, field: str) -> date:
    if not isinstance(text, str) or not _DATE_RE.match(text):
        raise FormatError(RULE, f"expected a YYYY-MM-DD date string, got {text!r}", field=field)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FormatError(RULE, f"{text!r} is not a calendar date", field=field) from None


def _parse_dates(values: object, field: str, year: int) -> list[date]:
    if not isinstance(values, list):
        raise FormatError(
            RULE, f"expected a list of dates, got {type(values).__name__}", field=field
        )
    out: list[date] = []
    for i, text in enumerate(values):
        where = f"{field}[{i}]"
        d = _parse_date(text, where)
        if d.year != year:
            raise FormatError(RULE, f"{text} is outside the year {year}", field=where)
        if out and d <= out[-1]:
            what = "repeated" if d == out[-1] else f"not after {out[-1].isoformat()}"
            raise FormatError(
                RULE, f"dates must be ascending and unique: {text} is {what}", field=where
            )
        out.append(d)
    return out


def validate_calendar_data(data: object) -> None:
    """Check the data of one ``WorkCalendarSet`` entry (C5); return or raise.

    Rules: a mapping with exactly ``year``, ``holidays``, ``workdays`` (and
    optionally a non-empty ``source`` string); ``year`` an integer in
    1949..2999; dates as ``YYYY-MM-DD`` strings, ascending, unique and inside
    the year; every make-up working day on a Saturday or Sunday (a weekday is
    a working day anyway); no date in both lists. Raises ``FormatError`` with
    rule ``C5 calendar`` and the offending field, e.g. ``workdays[2]``.
    """
    _check(data)


def _check(data: object) -> tuple[int, frozenset[date], frozenset[date]]:
    if not isinstance(data, Mapping):
        raise FormatError(RULE, f"calendar data must be an object, got {type(data).__name__}")
    for key in _REQUIRED:
        if key not in data:
            raise FormatError(RULE, "missing member", field=key)
    for key in data:
        if key not in _REQUIRED and key not in _OPTIONAL:
            raise FormatError(RULE, "unknown member", field=str(key))
    if "source" in data:
        source = data["source"]
        if not isinstance(source, str) or not source.strip():
            raise FormatError(RULE, "source must be a non-empty string", field="source")
    year = data["year"]
    if isinstance(year, bool) or not isinstance(year, int):
        raise FormatError(RULE, f"year must be an integer, got {year!r}", field="year")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise FormatError(RULE, f"year {year} is outside {MIN_YEAR}..{MAX_YEAR}", field="year")
    holidays = _parse_dates(data["holidays"], "holidays", year)
    workdays = _parse_dates(data["workdays"], "workdays", year)
    for i, d in enumerate(workdays):
        if d.weekday() < 5:
            raise FormatError(
                RULE,
                f"{d.isoformat()} is a {_WEEKDAYS[d.weekday()]}; make-up working days (调休) "
                "fall on a Saturday or Sunday",
                field=f"workdays[{i}]",
            )
    both = sorted(set(holidays) & set(workdays))
    if both:
        raise FormatError(
            RULE,
            f"{both[0].isoformat()} is listed both as holiday and as workday",
            field="workdays",
        )
    return year, frozenset(holidays), frozenset(workdays)


def _as_date(value: object, field: str) -> date:
    # datetime is a subclass of date but never equal to one: refuse it rather
    # than silently miss every set lookup.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{field} must be a datetime.date, got {type(value).__name__}")
    return value


def _count(n: object, field: str = "days") -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise FormatError(RULE, f"day count must be an integer >= 1, got {n!r}", field=field)
    return n


class WorkCalendar:
    """The official working-day calendar, from ``WorkCalendarSet`` data only (C5).

    Built from a mapping year → entry data; each entry is validated with
    :func:`validate_calendar_data` and its ``year`` must equal its key.
    """

    def __init__(self, calendars: Mapping[int, Mapping[str, Any]]) -> None:
        self._years: dict[int, tuple[frozenset[date], frozenset[date]]] = {}
        for key, data in calendars.items():
            year, holidays, workdays = _check(data)
            if key != year:
                raise FormatError(
                    RULE, f"calendar filed under {key!r} says year {year}", field="year"
                )
            self._years[year] = (holidays, workdays)

    @property
    def years(self) -> tuple[int, ...]:
        """The years this calendar has data for, ascending."""
        return tuple(sorted(self._years))

    def is_workday(self, d: date) -> bool:
        """``True`` if ``d`` is a working day (工作日) on the official calendar.

        Raises ``RuleError`` (rule ``C5 calendar``) when there is no
        ``WorkCalendarSet`` entry for ``d``'s year.
        """
        d = _as_date(d, "d")
        try:
            holidays, workdays = self._years[d.year]
        except KeyError:
            raise RuleError(RULE, f"no WorkCalendarSet entry for year {d.year}") from None
        if d in workdays:
            return True
        return d.weekday() < 5 and d not in holidays

    def add_working_days(self, start: date, n: int) -> date:
        """Return the n-th working day after ``start`` (``start`` not counted).

        Steps forward one day at a time and counts the days that are working
        days, so a holiday start is handled correctly (unlike
        ``chinese_calendar.find_workday``, which is one day late then,
        DOMAIN.md §6). ``n`` must be >= 1. E.g. 2023-09-28 + 7 = 2023-10-13.
        """
        d = _as_date(start, "start")
        left = _count(n)
        while left:
            d += timedelta(days=1)
            if self.is_workday(d):
                left -= 1
        return d

    def add_calendar_days(self, start: date, n: int) -> date:
        """Return the last day of an n-day (日) period starting after ``start``.

        民法典 art. 201: the start day is not counted; art. 203: if the last
        day is a 法定休假日 (here: any non-working day of the calendar), the
        period ends on the next working day instead.
        """
        d = _as_date(start, "start") + timedelta(days=_count(n))
        while not self.is_workday(d):
            d += timedelta(days=1)
        return d

    def deadline(self, start: date, days: int, unit: str) -> date:
        """Deadline of a ``days``-long period counted from ``start`` (C5).

        ``unit`` is ``"工作日"`` (working days) or ``"日"`` (calendar days with
        the art. 203 roll-forward). Raises ``FormatError`` for another unit.
        """
        if unit == UNIT_WORKING_DAYS:
            return self.add_working_days(start, days)
        if unit == UNIT_DAYS:
            return self.add_calendar_days(start, days)
        raise FormatError(RULE, f"unit must be 工作日 or 日, got {unit!r}", field="unit")
