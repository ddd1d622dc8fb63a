"""How the portal writes dates, times, people, roles and statuses: in one place, NHS style.

The NHS service manual's content style: dates as "3 December 2026", times as "2:05pm" in UK
time (Europe/London, so summer time is right), a person by name with their user id as a hint, a
role by name with its code as a hint. Pages use these through the `nhsuk` template library
(`long_date`, `uk_datetime`, `nhs_person`, `nhs_role`, `nhs_status`); views and messages call
them directly.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

UK = zoneinfo.ZoneInfo("Europe/London")


def _as_uk(value: dt.datetime) -> dt.datetime:
    return value.astimezone(UK) if value.tzinfo is not None else value


def long_date(value: dt.date | dt.datetime | None, default: str = "") -> str:
    """3 December 2026 (a date and time is shown as its day in UK time)."""
    if value is None or value == "":
        return default
    if isinstance(value, dt.datetime):
        value = _as_uk(value).date()
    return f"{value.day} {value:%B %Y}"


def short_date(value: dt.date | dt.datetime | None, default: str = "") -> str:
    """3 Dec 2026, for tables where space is short."""
    if value is None or value == "":
        return default
    if isinstance(value, dt.datetime):
        value = _as_uk(value).date()
    return f"{value.day} {value:%b %Y}"


def uk_time(value: dt.datetime | dt.time | None, default: str = "") -> str:
    """2:05pm, 9am, midday or midnight, in UK time."""
    if value is None or value == "":
        return default
    if isinstance(value, dt.datetime):
        value = _as_uk(value).time()
    if value.hour == 12 and value.minute == 0:
        return "midday"
    if value.hour == 0 and value.minute == 0:
        return "midnight"
    hour = value.hour % 12 or 12
    suffix = "am" if value.hour < 12 else "pm"
    return f"{hour}{suffix}" if value.minute == 0 else f"{hour}:{value.minute:02d}{suffix}"


def uk_datetime(value: dt.datetime | None, default: str = "") -> str:
    """3 December 2026 at 2:05pm, in UK time."""
    if value is None or value == "":
        return default
    return f"{long_date(value)} at {uk_time(value)}"


def duration(delta: dt.timedelta) -> str:
    """How long, in the largest whole unit that reads naturally: 3 days, 5 hours, 12 minutes."""
    seconds = max(int(delta.total_seconds()), 0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "less than a minute"


def plural(count: int, singular: str, plural_form: str = "") -> str:
    """1 card, 2 cards; 1 person, 3 people (with the plural given)."""
    return f"{count} {singular if count == 1 else plural_form or singular + 's'}"


def status_label(obj: Any, field: str = "status") -> str:
    """An object's status as its choices label ("Locked"), never the stored value."""
    display = getattr(obj, f"get_{field}_display", None)
    if callable(display):
        return str(display())
    return str(getattr(obj, field, "")).replace("_", " ").capitalize()


# Tag colours by what a status means: green in force, blue new, yellow or orange waiting or
# needing action, red refused or broken, grey over.
STATUS_COLOURS: dict[str, str] = {
    "active": "green",
    "open": "green",
    "current": "green",
    "valid": "green",
    "verified": "green",
    "applied": "green",
    "issued": "blue",
    "issued (being personalised)": "blue",
    "submitted": "blue",
    "starts later": "blue",
    "approved": "yellow",
    "restricted": "orange",
    "not verified": "orange",
    "locked": "orange",
    "escalated": "orange",
    "rejected": "red",
    "expired": "red",
    "revoked": "grey",
    "superseded": "grey",
    "cancelled": "grey",
    "cleared": "grey",
    "cleared for reuse": "grey",
    "closed": "grey",
    "retired": "grey",
    "ended": "grey",
    "organisation closed": "grey",
}


def status_colour(status: object) -> str:
    return STATUS_COLOURS.get(str(status).lower(), "")
