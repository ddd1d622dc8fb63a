"""One source of the current time, so that tests can travel through it."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

_offset = dt.timedelta(0)


def now() -> dt.datetime:
    return timezone.now() + _offset


def today() -> dt.date:
    return timezone.localdate(now())


def travel(delta: dt.timedelta) -> None:
    """Move the clock forward (tests and time-travel checks only)."""
    global _offset  # noqa: PLW0603 - the clock is process-wide by design
    _offset += delta


def reset() -> None:
    global _offset  # noqa: PLW0603
    _offset = dt.timedelta(0)
