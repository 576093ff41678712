"""Times and dates as A1 writes them: RFC 3339 UTC, six fractional digits, ``Z``."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta

from ledger.errors import FormatError

# ASCII digits only, hours 00-23 (``fromisoformat`` of later Pythons reads 24:00 as midnight).
TIME_PATTERN = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-9]{2}:[0-9]{2}\.[0-9]{6}Z"
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def format_time(moment: datetime) -> str:
    """Return ``moment`` (aware, or naive meaning UTC) as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: object, field: str = "time") -> datetime:
    """Parse an A1 time string into an aware UTC datetime; FormatError names ``field``."""
    if not isinstance(text, str) or not TIME_PATTERN.fullmatch(text):
        raise FormatError(
            "A1 time", "expected RFC 3339 UTC with six fractional digits and Z", field=field
        )
    try:
        return datetime.fromisoformat(text)  # the pattern above leaves only ...Z, i.e. UTC
    except ValueError:
        raise FormatError("A1 time", f"{text!r} is not a real time", field=field) from None


def parse_date(text: object, field: str = "date") -> date:
    """Parse a ``YYYY-MM-DD`` date; FormatError names ``field``."""
    if not isinstance(text, str) or not _DATE.fullmatch(text):
        raise FormatError("A1 date", "expected YYYY-MM-DD", field=field)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FormatError("A1 date", f"{text!r} is not a real date", field=field) from None


CLOCK_OFFSET_VAR = "SPOTCHECK_CLOCK_OFFSET"


def clock_offset() -> timedelta:
    """``SPOTCHECK_CLOCK_OFFSET`` (whole seconds, may be negative), read at each call.

    For demonstrations and tests that replay a past season (the seed's 2023
    plan can only be inspected inside its 2023 task windows): the server and
    the clients that sign for it shift their clocks by the same amount, so
    the A3 skew rule still holds. Never set it in production: the log would
    claim times that did not happen (``/healthz`` reports it).
    """
    text = os.environ.get(CLOCK_OFFSET_VAR, "").strip()
    if not text:
        return timedelta(0)
    try:
        return timedelta(seconds=int(text))
    except ValueError:
        raise FormatError("B6 settings", "must be a whole number of seconds",
                          field=CLOCK_OFFSET_VAR) from None


def now_utc() -> datetime:
    """The clock of the write side and of signing clients (A3, A4 ``logged_at``)."""
    return datetime.now(UTC) + clock_offset()
