"""The demo's requests: open, escalated and closed ones, built once through the services."""

from __future__ import annotations

import pytest

from cis.audit.chain import GENESIS
from cis.audit.models import AuditHead
from cis.demo.world import build_world
from cis.workflow.demo import build_demo_requests
from cis.workflow.models import Escalation, Request
from cis.workflow.states import RequestState

# The demo world sends contact codes on commit, so it is built in real transactions.
pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_world_gets_open_escalated_and_closed_requests() -> None:
    AuditHead.objects.get_or_create(id=1, defaults={"seq": 0, "hash": GENESIS})
    build_world()  # rights held since each persona started, so requests have a history
    assert build_demo_requests() == 7
    states = sorted(Request.objects.values_list("state", flat=True))
    assert states.count(RequestState.SUBMITTED) == 2
    assert states.count(RequestState.ESCALATED) == 2
    assert {RequestState.APPLIED, RequestState.REJECTED, RequestState.CANCELLED} <= set(states)
    assert Escalation.objects.filter(raised_by__isnull=True).exists()  # by the clock
    assert Escalation.objects.filter(raised_by__isnull=False).exists()  # by the holder
    assert build_demo_requests() == 0  # idempotent
    assert Request.objects.count() == 7
