"""Two RA Agents approving the same request at the same moment: exactly one applies it.

The threaded test needs a database that lets two writers in at once and makes the second wait on
the first's row lock: PostgreSQL. SQLite lets only one writer in at a time, so there the race
cannot happen at all; the sequential form of it (the second approver arriving just after the
first) runs on both databases in test_services.py and below.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

from cis.core.errors import DomainError
from cis.people.models import Person
from cis.rbac.models import PositionAssignment
from cis.workflow import services
from cis.workflow.apply import IdentityEvidence
from cis.workflow.models import Request, RequestApproval
from cis.workflow.states import RequestState, RequestType

from .desk import PHOTO, Desk, build_desk

EVIDENCE = IdentityEvidence(
    document_types=["passport", "utility_bill", "birth_certificate"], photo=PHOTO
)
SQLITE_REASON = (
    "SQLite serialises writers (one write transaction at a time), so two approvals cannot race "
    "there; the sequential variant proves the second approver gets the clear message"
)


def _raise(desk: Desk, round_: int = 0) -> Request:
    """A registration; each round names someone else, so no round looks like an earlier one."""
    return services.request_raise(
        actor=desk.sponsor,
        request_type=RequestType.PERSON_REGISTER,
        payload={
            "ods_code": desk.branch.ods_code,
            "given_name": ("Rae", "Sol", "Tam")[round_],
            "family_name": "Racer",
            "date_of_birth": f"{1991 - 10 * round_}-07-08",
            "position_id": desk.pharmacist.pk,
        },
    )


def _approve_together(request: Request, approvers: list[Person]) -> list[Any]:
    """Start every approval at the same instant, each on its own connection."""
    barrier = threading.Barrier(len(approvers))
    outcomes: list[Any] = [None] * len(approvers)

    def approve(index: int, approver: Person) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[index] = services.request_approve(
                actor=approver, request=request, identity=EVIDENCE
            )
        except DomainError as exc:
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(i, a)) for i, a in enumerate(approvers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_agents_approving_at_once_apply_it_exactly_once() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(SQLITE_REASON)
    desk = build_desk()
    for round_ in range(3):  # a few rounds, so that a lucky ordering cannot hide a broken lock
        Person.objects.filter(family_name="Racer").update(family_name="Raced")
        request = _raise(desk, round_)
        outcomes = _approve_together(request, [desk.agent, desk.agent2])
        applied = [o for o in outcomes if isinstance(o, Request)]
        refused = [o for o in outcomes if isinstance(o, DomainError)]
        assert len(applied) == 1, outcomes
        assert len(refused) == 1, outcomes
        winner = applied[0].decided_by
        assert winner is not None
        assert f"already been applied by {winner.full_name}" in refused[0].message
        request.refresh_from_db()
        assert request.state == RequestState.APPLIED
        assert RequestApproval.objects.filter(request=request).count() == 1
        assert Person.objects.filter(family_name="Racer").count() == 1
        racer = Person.objects.get(family_name="Racer")
        assert PositionAssignment.objects.filter(person=racer).count() == 1


@pytest.mark.django_db
def test_the_second_approver_in_sequence_is_told_who_applied_it() -> None:
    """Runs on both databases: what the loser of the race sees, without the threads."""
    desk = build_desk()
    request = _raise(desk)
    services.request_approve(actor=desk.agent2, request=request, identity=EVIDENCE)
    with pytest.raises(DomainError) as caught:
        services.request_approve(actor=desk.agent, request=request, identity=EVIDENCE)
    assert caught.value.message == (
        f"Request {request.ref} has already been applied by Bailey Agent; nothing more can change."
    )
    assert Person.objects.filter(family_name="Racer").count() == 1
