"""Approvals by policy: n different approvers with given rights, set and audited by the service
desk in the portal, API and CLI; and a 2-of-3 race between approvers on PostgreSQL."""

from __future__ import annotations

import io
import threading
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.test import Client
from rest_framework.test import APIClient

from cis.audit.models import AuditEvent
from cis.core.errors import Conflict, DomainError, NotPermitted, ValidationFailed
from cis.people.models import Person
from cis.rights.models import Right, RightGrant
from cis.workflow import services
from cis.workflow.approval_policy import approval_policy_set, policy_for
from cis.workflow.models import ApprovalPolicy, Request, RequestApproval
from cis.workflow.states import EventKind, RequestState, RequestType
from tests.factories.directory import (
    AssignmentFactory,
    PersonFactory,
    PositionFactory,
    RightGrantFactory,
)

from .desk import Desk, build_desk

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk() -> Desk:
    return build_desk()


def _position_add(desk: Desk) -> Request:
    """A Sponsor asks for a position for someone in their scope who does not hold it yet."""
    newcomer = PersonFactory(registered_ra=desk.ra)
    AssignmentFactory(person=newcomer, position=PositionFactory(organisation=desk.branch))
    return services.request_raise(
        actor=desk.sponsor,
        request_type=RequestType.POSITION_ADD,
        payload={"user_id": newcomer.user_id, "position_id": desk.pharmacist.pk},
    )


def test_the_default_is_one_approver_from_the_ra(desk: Desk) -> None:
    assert policy_for("position_add").approvals_needed == 1
    request = _position_add(desk)
    assert (request.approvals_needed, request.approver_rights) == (1, [])
    done = services.request_approve(actor=desk.agent, request=request)
    assert done.state == RequestState.APPLIED


def test_three_of_a_kind_with_rights_and_the_policy_in_force_when_raised(desk: Desk) -> None:
    approval_policy_set(
        actor=desk.service_desk,
        request_type="position_add",
        approvals_needed=3,
        approver_rights=["ra_agent", "ra_manager"],
    )
    request = _position_add(desk)
    assert (request.approvals_needed, request.approver_rights) == (3, ["ra_agent", "ra_manager"])
    # Relaxing the policy later does not change what this request needs.
    approval_policy_set(actor=desk.service_desk, request_type="position_add", approvals_needed=1)
    services.request_approve(actor=desk.agent, request=request)
    with pytest.raises(Conflict, match="needs 3 different approvers"):
        services.request_approve(actor=desk.agent, request=request)
    second = services.request_approve(actor=desk.manager, request=request)
    assert second.state == RequestState.SUBMITTED
    notes = [e.note for e in second.history.filter(kind=EventKind.APPROVAL)]
    assert notes == ["Approval 1 of 3: waiting for 2 more.", "Approval 2 of 3: waiting for 1 more."]
    done = services.request_approve(actor=desk.agent2, request=request)
    assert done.state == RequestState.APPLIED
    assert RequestApproval.objects.filter(request=request).count() == 3


def test_the_policy_restricts_who_may_decide(desk: Desk) -> None:
    approval_policy_set(
        actor=desk.service_desk,
        request_type="position_add",
        approvals_needed=1,
        approver_rights=["ra_manager"],
    )
    request = _position_add(desk)
    with pytest.raises(NotPermitted):
        services.request_approve(actor=desk.agent, request=request)
    with pytest.raises(NotPermitted):
        services.request_reject(actor=desk.agent, request=request, reason="no")
    assert services.request_approve(actor=desk.manager, request=request).state == (
        RequestState.APPLIED
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"request_type": "nonsense", "approvals_needed": 1}, "request_type"),
        ({"request_type": "position_add", "approvals_needed": 0}, "approvals_needed"),
        ({"request_type": "position_add", "approvals_needed": 6}, "approvals_needed"),
        (
            {"request_type": "position_add", "approvals_needed": 2, "approver_rights": ["lsa"]},
            "approver_rights",
        ),
        (
            {"request_type": "right_grant", "approvals_needed": 2, "approver_rights": ["ra_agent"]},
            "approver_rights",
        ),
    ],
)
def test_bad_policies_are_refused_and_change_nothing(
    desk: Desk, kwargs: dict[str, Any], field: str
) -> None:
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        approval_policy_set(actor=desk.service_desk, **kwargs)
    assert refused.value.field == field
    assert AuditEvent.objects.count() == events and not ApprovalPolicy.objects.exists()


def test_only_the_service_desk_sets_policies_and_each_change_is_audited(desk: Desk) -> None:
    for who in (desk.manager, desk.agent, desk.holder):
        with pytest.raises(NotPermitted):
            approval_policy_set(actor=who, request_type="card_issue", approvals_needed=2)
    approval_policy_set(actor=desk.service_desk, request_type="card_issue", approvals_needed=2)
    event = AuditEvent.objects.get(action="approval_policy.manage")
    assert event.before == {"approvals_needed": 1, "approver_rights": []}
    assert event.after == {"approvals_needed": 2, "approver_rights": []}
    assert event.actor_ref == desk.service_desk.user_id
    with pytest.raises(ValidationFailed, match="Nothing to change"):
        approval_policy_set(actor=desk.service_desk, request_type="card_issue", approvals_needed=2)


def test_the_portal_api_and_cli(desk: Desk, client: Client) -> None:
    client.force_login(desk.manager)
    page = client.get("/approval-policies/").content.decode()
    assert "Add a position" in page and "RA Agents and above" in page
    assert "/approval-policies/position_add/change/" not in page
    assert client.get("/approval-policies/position_add/change/").status_code == 403
    client.force_login(desk.service_desk)
    response = client.post(
        "/approval-policies/position_add/change/",
        {"approvals_needed": "2", "approver_rights": ["ra_manager"]},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert policy_for("position_add").approvals_needed == 2
    assert client.get("/approval-policies/nonsense/change/").status_code == 404

    api = APIClient()
    api.force_login(desk.service_desk)
    body = api.put(
        "/api/v1/approval-policies/position_end/",
        {"approvals_needed": 2, "approver_rights": ["ra_agent"]},
        format="json",
    )
    assert body.status_code == 200, body.json()
    assert body.json()["approvers"] == "RA Agent"
    listed = api.get("/api/v1/approval-policies/").json()
    assert {p["request_type"]: p["approvals_needed"] for p in listed}["position_end"] == 2
    bad = api.put("/api/v1/approval-policies/position_end/", {"approvals_needed": 9}, format="json")
    assert bad.status_code == 400
    agent = APIClient()
    agent.force_login(desk.agent)
    refused = agent.put(
        "/api/v1/approval-policies/position_end/", {"approvals_needed": 1}, format="json"
    )
    assert refused.status_code == 403

    out = io.StringIO()
    call_command("approvals", "set", "card_replace", "--approvers", "2", stdout=out)
    assert "Replace a card: 2 of RA Agents and above." in out.getvalue()
    with pytest.raises(CommandError, match="from 1 to 5"):
        call_command("approvals", "set", "card_replace", "--approvers", "7", stdout=io.StringIO())


SQLITE_REASON = (
    "SQLite lets one write transaction in at a time, so approvers cannot race there; the "
    "sequential test above shows each approver's answer"
)


def _race(request: Request, racers: list[Person]) -> list[Any]:
    """Every approver at the same instant, each on a connection of their own."""
    barrier = threading.Barrier(len(racers))
    outcomes: list[Any] = [None] * len(racers)

    def approve(index: int, who: Person) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[index] = services.request_approve(actor=who, request=request)
        except DomainError as exc:
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(i, a)) for i, a in enumerate(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_of_three_approvers_racing_apply_it_exactly_once() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(SQLITE_REASON)
    desk = build_desk()
    third = PersonFactory(given_name="Tess", family_name="Manager", registered_ra=desk.ra)
    RightGrantFactory(person=third, right=Right.RA_MANAGER, ra=desk.ra)
    approval_policy_set(
        actor=desk.service_desk,
        request_type="right_grant",
        approvals_needed=2,
        approver_rights=["ra_manager"],
    )
    approvers = [desk.manager2, third, desk.manager]
    for round_ in range(4):
        grantee = PersonFactory(registered_ra=desk.ra)
        AssignmentFactory(person=grantee, position=desk.pharmacist)
        # Raised by one of the three, who may not approve it: the other two race with a third
        # manager who has no reason to be refused, so two of three succeed each round.
        raiser = approvers[round_ % 3]
        request = services.request_raise(
            actor=raiser,
            request_type=RequestType.RIGHT_GRANT,
            payload={
                "user_id": grantee.user_id,
                "right": "lsa",
                "ods_code": desk.branch.ods_code,
            },
        )
        racers = [a for a in approvers if a != raiser] + [raiser]
        outcomes = _race(request, racers)
        request.refresh_from_db()
        assert request.state == RequestState.APPLIED, outcomes
        assert RequestApproval.objects.filter(request=request).count() == 2
        assert RightGrant.objects.filter(person=grantee, revoked_at__isnull=True).count() == 1
        assert request.history.filter(kind=EventKind.APPLIED).count() == 1
        refusals = [o for o in outcomes if isinstance(o, DomainError)]
        # The raiser is always refused (separation of duties); the two others both count.
        assert any(isinstance(r, NotPermitted) for r in refusals), outcomes
        assert len([o for o in outcomes if isinstance(o, Request)]) == 2, outcomes
