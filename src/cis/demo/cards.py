"""The demo's cards: each persona's, some in or past their renewal window, one locked, and blanks.

Cards are issued through the one issue flow (`cis_card.flows`, the agent's too) against the
services (as the console operator), so every step is checked and audited as at an RA
workstation. A certificate in its renewal window, or past expiry, is issued with the clock moved
back (as the demo's requests are raised in the past), so its dates are real ones. Idempotent: a
card already issued is left as a user left it (renewed, unlocked, locked again...), and only a
card issued in this run is locked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from cis.authz.policy import CONSOLE
from cis.core import clock
from cis.people.models import Person
from cis.pki.config import default_validity_days
from cis.smartcards.models import Smartcard
from cis.smartcards.provisioning import (
    create_blank_virtual_card,
    ensure_virtual_card,
    lock_virtual_card,
)
from cis.smartcards.services import card_report_locked

from . import cast

WRONG_PASSCODE = "0000"


@contextmanager
def _days_ago(days: int) -> Iterator[None]:
    delta = dt.timedelta(days=days)
    clock.travel(-delta)
    try:
        yield
    finally:
        clock.travel(delta)


def _issue(holder: Person, path: Path, passcode: str, state: str) -> None:
    if state == "renewal":
        with _days_ago(default_validity_days() - cast.RENEWAL_DAYS_LEFT):
            ensure_virtual_card(holder=holder, path=path, passcode=passcode)
    elif state == "expired":
        with _days_ago(default_validity_days() + cast.EXPIRED_DAYS_AGO):
            ensure_virtual_card(holder=holder, path=path, passcode=passcode)
    else:
        ensure_virtual_card(holder=holder, path=path, passcode=passcode)


def _lock(path: Path, holder: Person) -> None:
    """Three wrong passcodes on the card, then CIS told, as the agent would tell it."""
    chip_serial = lock_virtual_card(path, wrong_passcode=WRONG_PASSCODE)
    row = Smartcard.objects.get(chip_serial=chip_serial, holder=holder)
    with transaction.atomic():
        card_report_locked(actor=CONSOLE, card=row)


def ensure_demo_cards(records: list[dict[str, Any]]) -> list[str]:
    """Issue each persona's card in its demo state, and the blank cards; returns what was made."""
    made = []
    for record in records:
        spec = record.get("card")
        if not spec or not str(spec).startswith("virtual:"):
            continue
        path = Path(str(spec).removeprefix("virtual:"))
        path.parent.mkdir(parents=True, exist_ok=True)
        holder = Person.objects.get(user_id=record["user_id"])
        state = str(record.get("card_state", "active"))
        new = not path.exists()
        _issue(holder, path, str(record["passcode"]), state)
        if new and state == "locked":
            _lock(path, holder)
        if new:
            made.append(f"{record['name']} ({state})")
    for number in range(1, cast.BLANK_CARDS + 1):
        path = blank_card_path(number)
        if not path.exists():
            create_blank_virtual_card(path)
            made.append(path.name)
    return made


def blank_card_path(number: int) -> Path:
    return Path(settings.DATA_DIR).resolve() / "cards" / f"blank-{number}.card"
