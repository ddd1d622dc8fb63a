"""Working days: weekends and England and Wales bank holidays are not counted."""

from __future__ import annotations

import datetime as dt

import pytest

from cis.workflow.due import (
    LONDON,
    add_working_days,
    is_bank_holiday,
    is_working_day,
    working_days_between,
)


def at(day: str, hour: int = 15) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=LONDON)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (at("2025-06-03"), 2, at("2025-06-05")),  # Tuesday -> Thursday
        (at("2025-06-06"), 2, at("2025-06-10")),  # Friday -> Tuesday, over a weekend
        (at("2025-04-17"), 1, at("2025-04-22")),  # Thursday before Easter -> Tuesday after
        (at("2025-05-23"), 1, at("2025-05-27")),  # Friday before the Spring bank holiday
        (at("2025-12-24"), 2, at("2025-12-30")),  # Christmas Eve: 25, 26 and a weekend skipped
        (at("2026-12-24"), 1, at("2026-12-29")),  # Boxing Day on a Saturday, observed Monday 28
        (at("2025-06-07", 11), 1, at("2025-06-10", 9)),  # Saturday: counted from Monday 09:00
        (at("2025-06-03"), 0, at("2025-06-03")),
    ],
)
def test_add_working_days(start: dt.datetime, days: int, due: dt.datetime) -> None:
    assert add_working_days(start, days) == due


def test_the_time_of_day_is_kept_across_a_clock_change() -> None:
    # British Summer Time ends on Sunday 26 October 2025: the local time stays 15:00.
    due = add_working_days(at("2025-10-24"), 1)
    assert due.astimezone(LONDON).hour == 15
    assert due.utcoffset() == dt.timedelta(0)


def test_bank_holidays_are_those_of_england_and_wales() -> None:
    assert is_bank_holiday(dt.date(2025, 8, 25))  # Summer bank holiday (England and Wales)
    assert not is_bank_holiday(dt.date(2025, 8, 4))  # Scotland's, not England's
    assert not is_bank_holiday(dt.date(2025, 3, 17))  # St Patrick's Day: Northern Ireland only
    assert not is_working_day(dt.date(2025, 6, 7))  # a Saturday
    assert is_working_day(dt.date(2025, 6, 9))


def test_working_days_between() -> None:
    assert working_days_between(at("2025-06-06"), at("2025-06-10")) == 2
    assert working_days_between(at("2025-06-10"), at("2025-06-06")) == -2
    assert working_days_between(at("2025-04-17"), at("2025-04-22")) == 1
    assert working_days_between(at("2025-06-03", 9), at("2025-06-03", 17)) == 0


def test_a_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="past"):
        add_working_days(at("2025-06-03"), -1)
