"""Due times in working days: weekends and England and Wales bank holidays do not count."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")
# Work that arrives outside a working day is counted from the start of the next one.
DAY_STARTS = dt.time(9, 0)


@lru_cache(maxsize=32)
def _bank_holidays(year: int) -> frozenset[dt.date]:
    # England and Wales share their bank holidays; "ENG" is the subdivision that holds them.
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=[year]).keys())


def is_bank_holiday(day: dt.date) -> bool:
    return day in _bank_holidays(day.year)


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and not is_bank_holiday(day)


def next_working_day(day: dt.date) -> dt.date:
    """The first working day after the given one."""
    day += dt.timedelta(days=1)
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    """The same time of day, the given number of working days later (local to London).

    Raised on a Friday afternoon with 2 working days: due on Tuesday afternoon, or on Wednesday
    if Monday is a bank holiday. Raised on a weekend or holiday: counted from 09:00 on the next
    working day.
    """
    if days < 0:
        raise ValueError("a due time cannot be in the past")
    local = start.astimezone(LONDON)
    day, at = local.date(), local.time()
    if not is_working_day(day):
        day, at = next_working_day(day), DAY_STARTS
    for _ in range(days):
        day = next_working_day(day)
    return dt.datetime.combine(day, at, tzinfo=LONDON)


def working_days_between(start: dt.datetime, end: dt.datetime) -> int:
    """Whole working days from start to end (0 on the same day, negative if end is earlier)."""
    if end < start:
        return -working_days_between(end, start)
    first, last = start.astimezone(LONDON).date(), end.astimezone(LONDON).date()
    count = 0
    day = first
    while day < last:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count
