"""工作日 arithmetic from WorkCalendarSet data (DESIGN.md C5, DOMAIN.md §6)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.calendar_source import calendar_data, known_years, load_calendar_file
from ledger.domain.calendar import WorkCalendar, validate_calendar_data
from ledger.errors import FormatError, RuleError


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar({y: calendar_data(y) for y in (2023, 2024, 2025, 2026)})


# ---------------------------------------------------------------- worked examples


@pytest.mark.parametrize(
    ("start", "deadline"),
    [
        # 国庆/中秋 2023: 9-29..10-06 off, Sat 10-07 and Sun 10-08 worked.
        (date(2023, 9, 28), date(2023, 10, 13)),
        # 春节 2026: 2-15..2-23 off, Sat 2-14 worked.
        (date(2026, 2, 10), date(2026, 2, 26)),
        # 春节 2025: Sun 1-26 and Sat 2-08 worked.
        (date(2025, 1, 24), date(2025, 2, 10)),
        # A start on a non-workday: chinese_calendar.find_workday gives 10-16.
        (date(2023, 10, 1), date(2023, 10, 13)),
    ],
)
def test_domain_worked_examples(cal: WorkCalendar, start: date, deadline: date) -> None:
    assert cal.add_working_days(start, 7) == deadline
    assert cal.deadline(start, 7, "工作日") == deadline


def test_find_workday_pitfall_is_avoided(cal: WorkCalendar) -> None:
    start = date(2023, 10, 1)
    assert chinese_calendar.find_workday(7, start) == date(2023, 10, 16)
    assert cal.add_working_days(start, 7) == date(2023, 10, 13)


def test_make_up_days_and_holidays(cal: WorkCalendar) -> None:
    assert cal.is_workday(date(2023, 10, 7))  # Saturday, 调休
    assert cal.is_workday(date(2023, 10, 8))  # Sunday, 调休
    assert not cal.is_workday(date(2023, 10, 2))  # Monday, 国庆
    assert not cal.is_workday(date(2023, 10, 14))  # ordinary Saturday
    assert cal.is_workday(date(2023, 10, 9))  # ordinary Monday
    assert cal.add_working_days(date(2023, 10, 6), 1) == date(2023, 10, 7)


# ---------------------------------------------------------------- 日 unit (民法典 201/203)


def test_calendar_days_plain(cal: WorkCalendar) -> None:
    # 2023-03-01 (Wed) + 7 日 = 2023-03-08 (Wed), a working day.
    assert cal.add_calendar_days(date(2023, 3, 1), 7) == date(2023, 3, 8)
    assert cal.deadline(date(2023, 3, 1), 7, "日") == date(2023, 3, 8)


def test_calendar_days_roll_past_weekend(cal: WorkCalendar) -> None:
    # 2023-03-04 (Sat) + 7 = 2023-03-11 (Sat) -> Monday 2023-03-13.
    assert cal.add_calendar_days(date(2023, 3, 4), 7) == date(2023, 3, 13)


def test_calendar_days_roll_past_holiday_to_make_up_day(cal: WorkCalendar) -> None:
    # 2023-09-24 + 7 = 2023-10-01 (国庆) -> the first working day, Sat 10-07.
    assert cal.add_calendar_days(date(2023, 9, 24), 7) == date(2023, 10, 7)


def test_calendar_days_ending_on_make_up_day_does_not_move(cal: WorkCalendar) -> None:
    # 2026-02-07 + 7 = 2026-02-14, a Saturday worked in lieu (调休).
    assert cal.add_calendar_days(date(2026, 2, 7), 7) == date(2026, 2, 14)


def test_start_day_is_not_counted(cal: WorkCalendar) -> None:
    assert cal.add_working_days(date(2023, 3, 1), 1) == date(2023, 3, 2)
    assert cal.add_calendar_days(date(2023, 3, 1), 1) == date(2023, 3, 2)


# ---------------------------------------------------------------- unknown years, bad input


def test_unknown_year_is_an_error_never_a_guess(cal: WorkCalendar) -> None:
    with pytest.raises(RuleError, match="no WorkCalendarSet entry for year 2027") as info:
        cal.is_workday(date(2027, 3, 1))
    assert info.value.rule == "C5 calendar"
    # A period running into an unknown year fails too.
    with pytest.raises(RuleError, match="year 2027"):
        cal.add_working_days(date(2026, 12, 28), 7)
    with pytest.raises(RuleError, match="year 2022"):
        cal.is_workday(date(2022, 12, 31))
    # ...but a period that stays inside known years does not need the next year.
    assert cal.add_working_days(date(2026, 12, 21), 3) == date(2026, 12, 24)


def test_bad_unit_and_count(cal: WorkCalendar) -> None:
    with pytest.raises(FormatError, match="unit must be") as info:
        cal.deadline(date(2023, 3, 1), 7, "周")
    assert info.value.field == "unit"
    for n in (0, -1, True):
        with pytest.raises(FormatError, match="day count"):
            cal.add_working_days(date(2023, 3, 1), n)
    with pytest.raises(TypeError):
        cal.is_workday(datetime(2023, 3, 1, 8, 0))


def test_years_and_key_mismatch(cal: WorkCalendar) -> None:
    assert cal.years == (2023, 2024, 2025, 2026)
    with pytest.raises(FormatError, match="filed under 2024"):
        WorkCalendar({2024: calendar_data(2023)})


# ---------------------------------------------------------------- validate_calendar_data

GOOD = {"year": 2023, "holidays": ["2023-01-02", "2023-10-02"], "workdays": ["2023-10-07"]}


def _with(**changes: object) -> dict[str, object]:
    data = dict(GOOD)
    data.update(changes)
    return data


def test_good_data_passes() -> None:
    validate_calendar_data(GOOD)
    validate_calendar_data(_with(source="国办发明电〔2022〕16号"))
    validate_calendar_data(_with(holidays=[], workdays=[]))


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ([], None, "must be an object"),
        ({"year": 2023, "holidays": []}, "workdays", "missing member"),
        (_with(extra=1), "extra", "unknown member"),
        (_with(source=""), "source", "non-empty"),
        (_with(year="2023"), "year", "integer"),
        (_with(year=True), "year", "integer"),
        (_with(year=20230), "year", "outside"),
        (_with(holidays="2023-01-02"), "holidays", "list of dates"),
        (_with(holidays=["2023-1-2"]), "holidays[0]", "YYYY-MM-DD"),
        (_with(holidays=[20230102]), "holidays[0]", "YYYY-MM-DD"),
        (_with(holidays=["2023-02-30"]), "holidays[0]", "not a calendar date"),
        (_with(holidays=["2022-12-30"]), "holidays[0]", "outside the year 2023"),
        (_with(holidays=["2023-10-02", "2023-01-02"]), "holidays[1]", "ascending"),
        (_with(holidays=["2023-01-02", "2023-01-02"]), "holidays[1]", "repeated"),
        (_with(workdays=["2023-10-09"]), "workdays[0]", "Saturday or Sunday"),
        (_with(holidays=["2023-10-07"]), "workdays", "both as holiday and as workday"),
    ],
)
def test_bad_data_names_field_and_rule(data: object, field: str, fragment: str) -> None:
    with pytest.raises(FormatError, match=fragment) as info:
        validate_calendar_data(data)
    assert info.value.rule == "C5 calendar"
    assert info.value.field == field
    with pytest.raises(FormatError):
        WorkCalendar({2023: data})  # type: ignore[dict-item]


# ---------------------------------------------------------------- calendar_source


def test_known_years() -> None:
    assert known_years() == range(2004, 2027)


@pytest.mark.parametrize("year", [2023, 2026])
def test_data_agrees_with_package_every_day(year: int) -> None:
    cal = WorkCalendar({year: calendar_data(year)})
    d = date(year, 1, 1)
    while d.year == year:
        assert cal.is_workday(d) == chinese_calendar.is_workday(d), d
        d += timedelta(days=1)


def test_all_known_years_validate_and_agree() -> None:
    data = {y: calendar_data(y) for y in known_years()}
    cal = WorkCalendar(data)
    d = date(2004, 1, 1)
    while d.year <= 2026:
        assert cal.is_workday(d) == chinese_calendar.is_workday(d), d
        d += timedelta(days=1)


def test_calendar_data_shape_2023() -> None:
    data = calendar_data(2023)
    assert set(data) == {"year", "holidays", "workdays"}
    assert data["workdays"] == [
        "2023-01-28", "2023-01-29", "2023-04-23", "2023-05-06",
        "2023-06-25", "2023-10-07", "2023-10-08",
    ]  # fmt: skip
    assert "2023-09-29" in data["holidays"] and "2023-10-06" in data["holidays"]


def test_calendar_data_shape_2026() -> None:
    data = calendar_data(2026)
    for d in ("2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"):
        assert d in data["workdays"]
    for d in ("2026-02-16", "2026-02-23", "2026-10-01", "2026-10-07"):
        assert d in data["holidays"]


def test_unknown_year_from_package_says_enter_by_hand() -> None:
    with pytest.raises(RuleError, match="by hand from the State Council notice") as info:
        calendar_data(2027)
    assert "2004-2026" in info.value.reason
    with pytest.raises(RuleError):
        calendar_data(2003)


def test_load_calendar_file(tmp_path: Path) -> None:
    hand = {
        "year": 2027,
        "source": "hand-entered test calendar",
        "holidays": ["2027-01-01", "2027-02-08"],
        "workdays": ["2027-02-06"],
    }
    path = tmp_path / "2027.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(hand, ensure_ascii=False).encode())
    assert load_calendar_file(path) == hand
    cal = WorkCalendar({2027: load_calendar_file(path)})
    assert cal.is_workday(date(2027, 2, 6))  # Saturday, make-up day
    assert not cal.is_workday(date(2027, 2, 8))  # Monday, holiday
    assert cal.add_working_days(date(2027, 2, 5), 1) == date(2027, 2, 6)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"year": 2027, "year": 2028, "holidays": [], "workdays": []}', "duplicate member"),
        (b'{"year": 2027.0, "holidays": [], "workdays": []}', "integers"),
        (b'{"year": 2027, "holidays": [NaN], "workdays": []}', "not allowed"),
        (b'{"year": 2027, "holidays": [', "not JSON"),
        (b'\xff{"year": 2027}', "not UTF-8"),
        (b'{"year": 2027, "holidays": ["2027-02-31"], "workdays": []}', "not a calendar date"),
    ],
)
def test_load_calendar_file_errors(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=fragment):
        load_calendar_file(path)


def test_load_calendar_file_missing(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="cannot read"):
        load_calendar_file(tmp_path / "nope.json")


# ---------------------------------------------------------------- properties


@settings(max_examples=200, deadline=None)
@given(st.dates(date(2023, 1, 1), date(2026, 10, 31)), st.integers(1, 25))
def test_working_days_properties(start: date, n: int) -> None:
    cal = WorkCalendar({y: calendar_data(y) for y in (2023, 2024, 2025, 2026)})
    end = cal.add_working_days(start, n)
    assert end > start
    assert cal.is_workday(end)
    between = [start + timedelta(days=k) for k in range(1, (end - start).days + 1)]
    assert sum(map(cal.is_workday, between)) == n
    # agrees with the package's own count (inclusive both ends)
    assert len(chinese_calendar.get_workdays(start + timedelta(days=1), end)) == n
    # a workday start: find_workday is right then
    if cal.is_workday(start):
        assert chinese_calendar.find_workday(n, start) == end


def test_domain_modules_stay_on_the_light_path() -> None:
    # Only the standard library and ledger itself may be imported (B2).
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import ledger.domain.calendar, ledger.domain.uscc, ledger.domain.registry\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "print(','.join(sorted(n for n in new\n"
        "                      if n not in sys.stdlib_module_names and n != 'ledger')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
