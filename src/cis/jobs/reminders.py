"""Certificate expiry reminders: an email to the holder 90, 30 and 7 days before expiry.

Each reminder is a ledger row unique per (certificate, threshold, recipient), inserted before
anything is sent, so a reminder goes out once however often and wherever the job runs. The
certificate model belongs to the PKI app; this reads it through the app registry and only the
fields it needs, and does nothing (saying why) if they are not there.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import transaction

from cis.core import clock
from cis.people.models import PersonStatus
from cis.workflow.notifications import enqueue, when

THRESHOLDS = (7, 30, 90)
NEEDED_FIELDS = {"person", "not_after", "status", "serial_hex"}


@dataclass
class ReminderRun:
    queued: int = 0
    skipped_reason: str = ""


def certificate_model() -> Any | None:
    try:
        model = apps.get_model("pki", "Certificate")
    except LookupError:
        return None
    names = {f.name for f in model._meta.get_fields()}
    return model if NEEDED_FIELDS <= names else None


def threshold_for(days_left: int) -> int | None:
    """The nearest reminder point at or above the days left (a missed earlier one is not sent)."""
    for threshold in THRESHOLDS:
        if days_left <= threshold:
            return threshold
    return None


def certificate_expiry_reminders(*, now: dt.datetime | None = None) -> ReminderRun:
    model = certificate_model()
    if model is None:
        return ReminderRun(skipped_reason="the PKI app has no certificate model with expiry dates")
    at = now or clock.now()
    horizon = at + dt.timedelta(days=max(THRESHOLDS))
    rows = (
        model.objects.filter(status="valid", not_after__gt=at, not_after__lte=horizon)
        .exclude(person__status=PersonStatus.CLOSED)
        .exclude(person__email="")
        .select_related("person")
        .order_by("not_after", "pk")
    )
    run = ReminderRun()
    for cert in rows.iterator(chunk_size=500):
        days_left = math.ceil((cert.not_after - at) / dt.timedelta(days=1))
        threshold = threshold_for(days_left)
        if threshold is None:
            continue
        person = cert.person
        body = (
            f"Dear {person.given_name},\n\n"
            f"Your smartcard certificate {cert.serial_hex} expires on {when(cert.not_after)}, "
            f"in {days_left} day{'s' if days_left != 1 else ''}.\n"
            "You can renew it yourself now, at any workstation with your card and passcode "
            "(cis-agent renew), or ask your Local Smartcard Administrator. After it expires only "
            "the Registration Authority can renew it, with you there in person.\n\n"
            f"{settings.CIS_BASE_URL}/\n"
        )
        with transaction.atomic():
            run.queued += enqueue(
                event_key=f"certificate:{cert.pk}:expiry:{threshold}",
                recipients=[person.email],
                subject=f"Your smartcard certificate expires in {days_left} days",
                body=body,
            )
    return run
