"""Dates and times at the edge (API.md "Dates"): where a field names a day, a plain
`YYYY-MM-DD` is read as the start or the end of that day in the company's zone; timestamps
must carry an offset; nothing outside 2000..2100 gets in (such a value once made every
matching run fail for the whole market). Everything comes out timezone-aware UTC.

Errors are (message, parameters) pairs marked for translation, applied after translation
where they are shown."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from market.core.errors import N_

# Companies have no zone of their own yet: the platform's (API.md: unless the company says
# otherwise).
DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")
MIN_YEAR, MAX_YEAR = 2000, 2100
# The end of a named day for a deadline: its last second (a range's end is the next midnight).
END_OF_DAY = time(23, 59, 59)


class DateError(ValueError):
    """A value that is not a usable date; `message` is marked for translation."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _in_range(value: date | datetime) -> None:
    if value.year < 100:  # "26" typed for 2026 (a date field pads it to 0026): say so
        raise DateError(N_("Write the year with four digits, such as 2026."))
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise DateError(N_("Use a date between 2000 and 2100."))


def parse_day(value: Any) -> date:
    """A calendar day from a date or `YYYY-MM-DD`."""
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        text = str(value or "").strip()
        if not text:
            raise DateError(N_("Enter a date."))
        try:
            if len(text) != 10:
                raise ValueError(text)
            value = date.fromisoformat(text)
        except ValueError:
            raise DateError(N_("Use a date such as 2026-12-20.")) from None
    _in_range(value)
    return value


def parse_moment(value: Any, *, day: str = "start", zone: ZoneInfo = DEFAULT_ZONE) -> datetime:
    """An aware UTC datetime from a datetime, an ISO 8601 timestamp with offset, or a plain
    `YYYY-MM-DD` read in `zone` as that day's start (`day="start"`), its last second
    (`day="end"`, for deadlines) or the next midnight (`day="until"`, for a range's end)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = _day_moment(value, day, zone)
    else:
        text = str(value or "").strip()
        if not text:
            raise DateError(N_("Enter a date."))
        if len(text) == 10:
            return _day_moment(parse_day(text), day, zone)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise DateError(N_("Use a date such as 2026-12-20, or a time with its offset "
                               "such as 2026-12-20T17:00:00+08:00.")) from None
    if moment.tzinfo is None:
        raise DateError(N_("Include a time zone offset, e.g. 2026-12-20T17:00:00+08:00, or "
                           "give just the date."))
    _in_range(moment)
    return moment.astimezone(UTC)


def _day_moment(value: date, day: str, zone: ZoneInfo) -> datetime:
    _in_range(value)
    if day == "end":
        local = datetime.combine(value, END_OF_DAY, zone)
    elif day == "until":
        local = datetime.combine(value + timedelta(days=1), time(0), zone)
    else:
        local = datetime.combine(value, time(0), zone)
    return local.astimezone(UTC)
