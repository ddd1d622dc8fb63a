"""Two machines running `cis jobs run` at the same moment: every email still goes out once.

Needs PostgreSQL, where both runs really are inside the database at once and SKIP LOCKED shares
the work between them. SQLite lets one writer in at a time, so there the second run simply waits
for the first and finds nothing left; test_jobs_command.py shows that sequential case.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import connection, connections

from cis.core import clock
from cis.workflow import services
from cis.workflow.models import Escalation, Notification
from cis.workflow.states import RequestType
from tests.factories.directory import AssignmentFactory, PersonFactory
from tests.workflow.desk import build_desk

from .conftest import Mailbox

SQLITE_REASON = (
    "SQLite serialises writers (one write transaction at a time), so two job runs cannot overlap "
    "there; test_jobs_command.py proves a second run sends nothing again"
)


def _run_together(count: int) -> list[BaseException | None]:
    barrier = threading.Barrier(count)
    errors: list[BaseException | None] = [None] * count

    def machine(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            call_command("jobs", "run", stdout=io.StringIO(), stderr=io.StringIO())
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=machine, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_machines_send_each_email_exactly_once(smtp: Mailbox) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(SQLITE_REASON)
    desk = build_desk()
    for n in range(12):
        person = PersonFactory(given_name=f"Holder{n}", registered_ra=desk.ra)
        AssignmentFactory(person=person, position=desk.pharmacist)
        services.request_raise(
            actor=desk.sponsor,
            request_type=RequestType.CARD_ISSUE,
            payload={"user_id": person.user_id},
        )
    clock.travel(dt.timedelta(days=5))  # every request is now overdue as well
    errors = _run_together(3)
    assert errors == [None, None, None]
    deliveries = Counter(smtp.deliveries())
    assert deliveries, "nothing was sent"
    assert max(deliveries.values()) == 1, [d for d, n in deliveries.items() if n > 1]
    assert len(deliveries) == Notification.objects.count()
    assert not Notification.objects.filter(sent_at__isnull=True).exists()
    # Each request escalated once, not once per machine.
    assert Escalation.objects.count() == 12
