"""Escalations are resolved: the RA Manager and the service desk reassign, comment and decide.

Through the services, the API and the portal, each with the history and emails a follower sees.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from cis.audit.models import AuditEvent
from cis.core.errors import NotPermitted, ValidationFailed
from cis.people.models import Person
from cis.workflow import services
from cis.workflow.models import Notification, Request
from cis.workflow.states import EscalationLevel, EventKind, RequestState, RequestType

from .desk import Desk

pytestmark = pytest.mark.django_db


def card_request(desk: Desk, request_type: str = RequestType.CARD_REPLACE) -> Request:
    payload: dict[str, Any] = {"user_id": desk.holder.user_id}
    if request_type == RequestType.CARD_REPLACE:
        payload["reason"] = "damaged"
    return services.request_raise(actor=desk.sponsor, request_type=request_type, payload=payload)


def at_service_desk(desk: Desk, request: Request) -> Request:
    """Escalate by hand twice: to the RA Manager, then (once they are past due) the desk."""
    import datetime as dt

    from cis.core import clock

    services.request_escalate(actor=desk.holder, request=request, reason="No answer")
    request.refresh_from_db()
    clock.travel(request.due_at - clock.now() + dt.timedelta(minutes=1))
    try:
        services.request_escalate(actor=desk.holder, request=request, reason="Still nothing")
    finally:
        clock.reset()
    request.refresh_from_db()
    assert request.escalation_level == EscalationLevel.SERVICE_DESK
    return request


def api(person: Person) -> APIClient:
    client = APIClient()
    client.force_authenticate(person)
    return client


def browser(person: Person) -> Client:
    client = Client()
    client.force_login(person, backend="django.contrib.auth.backends.ModelBackend")
    return client


class TestServices:
    def test_the_service_desk_reassigns_and_the_agent_approves(self, desk: Desk) -> None:
        from cis.rbac.models import Position

        office = Position.objects.get(name="Office staff")
        raised = services.request_raise(
            actor=desk.sponsor,
            request_type=RequestType.POSITION_ADD,
            payload={"user_id": desk.holder.user_id, "position_id": office.pk},
        )
        request = at_service_desk(desk, raised)
        # A directory change needs an RA Agent's right: the desk hands it back.
        with pytest.raises(NotPermitted, match="reassign the request to an RA Agent"):
            services.request_approve(actor=desk.service_desk, request=request)
        services.request_comment(
            actor=desk.service_desk, request=request, text="Chased the RA by phone."
        )
        reassigned = services.request_reassign(
            actor=desk.service_desk, request=request, agent=desk.agent
        )
        assert reassigned.state == RequestState.SUBMITTED
        assert reassigned.assigned_to == desk.agent
        assert all(e.closed_at for e in reassigned.escalations.all())
        done = services.request_approve(actor=desk.agent, request=reassigned)
        assert done.state == RequestState.APPLIED
        kinds = list(done.history.order_by("id").values_list("kind", flat=True))
        assert kinds[-4:] == ["comment", "reassigned", "approved", "applied"]
        assert AuditEvent.objects.filter(
            action="request.reassign", actor_ref=desk.service_desk.user_id
        ).exists()

    def test_the_service_desk_approves_an_escalated_card_request(self, desk: Desk) -> None:
        request = at_service_desk(desk, card_request(desk))
        done = services.request_approve(actor=desk.service_desk, request=request)
        assert done.state == RequestState.APPROVED
        assert done.decided_by == desk.service_desk

    def test_the_service_desk_rejects_an_escalation(self, desk: Desk) -> None:
        request = at_service_desk(desk, card_request(desk))
        done = services.request_reject(
            actor=desk.service_desk, request=request, reason="Duplicate of REQ-000009."
        )
        assert done.state == RequestState.REJECTED

    def test_reassigning_to_someone_who_cannot_approve_is_refused(self, desk: Desk) -> None:
        request = at_service_desk(desk, card_request(desk))
        before = AuditEvent.objects.count()
        with pytest.raises(ValidationFailed) as refused:
            services.request_reassign(actor=desk.service_desk, request=request, agent=desk.lsa)
        assert refused.value.field == "agent"
        assert "Lee Lsa cannot approve" in refused.value.message
        request.refresh_from_db()
        assert request.state == RequestState.ESCALATED
        assert AuditEvent.objects.count() == before

    def test_the_desk_cannot_take_a_request_that_has_not_reached_it(self, desk: Desk) -> None:
        request = card_request(desk)
        with pytest.raises(NotPermitted, match="once it is escalated to it"):
            services.request_reassign(actor=desk.service_desk, request=request, agent=desk.agent)

    def test_an_ra_manager_reassigns_an_escalation_to_them(self, desk: Desk) -> None:
        request = card_request(desk)
        services.request_escalate(actor=desk.holder, request=request, reason="No answer")
        done = services.request_reassign(
            actor=desk.manager, request=request, agent=desk.agent2, note="Please take this today."
        )
        assert done.assigned_to == desk.agent2
        assert done.state == RequestState.SUBMITTED
        escalation = done.escalations.get()
        assert escalation.outcome == "Reassigned to Bailey Agent by Morgan Manager"
        told = Notification.objects.filter(event_key__startswith=f"request:{done.pk}:reassigned")
        assert set(told.values_list("recipient", flat=True)) == {
            desk.agent2.email,
            desk.sponsor.email,
        }
        assert "Please take this today." in told.first().body  # type: ignore[union-attr]

    def test_comments_go_into_the_history_and_to_the_followers(self, desk: Desk) -> None:
        request = card_request(desk)
        services.request_comment(
            actor=desk.agent, request=request, text="Which branch should we post it to?"
        )
        services.request_comment(actor=desk.sponsor, request=request, text="Hebden Bridge.")
        comments = list(request.history.filter(kind=EventKind.COMMENT).values_list("note", "actor"))
        assert comments == [
            ("Which branch should we post it to?", desk.agent.pk),
            ("Hebden Bridge.", desk.sponsor.pk),
        ]
        sent = set(
            Notification.objects.filter(event_key__contains=":comment:").values_list(
                "recipient", flat=True
            )
        )
        assert desk.sponsor.email in sent  # the agent's question reached the raiser
        with pytest.raises(ValidationFailed, match="Give the comment"):
            services.request_comment(actor=desk.agent, request=request, text="  ")
        with pytest.raises(NotPermitted):
            services.request_comment(actor=desk.lsa, request=request, text="Me too")


class TestApi:
    def test_reassign_and_comment_over_the_api(self, desk: Desk) -> None:
        request = at_service_desk(desk, card_request(desk))
        desk_api = api(desk.service_desk)
        commented = desk_api.post(
            f"/api/v1/requests/{request.pk}/comments/", {"text": "Looking now."}, format="json"
        )
        assert commented.status_code == 201, commented.json()
        assert {"kind": "comment", "note": "Looking now.", "actor_name": "Dana Desk"}.items() <= {
            **[e for e in commented.json()["history"] if e["kind"] == "comment"][0]
        }.items()
        refused = desk_api.post(
            f"/api/v1/requests/{request.pk}/reassign/",
            {"agent": desk.lsa.user_id},
            format="json",
        )
        assert refused.status_code == 400
        assert refused.json()["field"] == "agent"
        moved = desk_api.post(
            f"/api/v1/requests/{request.pk}/reassign/",
            {"agent": desk.agent.user_id, "note": "Yours"},
            format="json",
        )
        assert moved.status_code == 200, moved.json()
        body = moved.json()
        assert body["assigned_to"]["user_id"] == desk.agent.user_id
        assert body["state"] == "submitted"
        approved = api(desk.agent).post(
            f"/api/v1/requests/{request.pk}/approve/", {}, format="json"
        )
        assert approved.json()["state"] == "approved"

    def test_a_partial_approval_over_the_api(self, desk: Desk) -> None:
        request = services.request_raise(
            actor=desk.sponsor,
            request_type=RequestType.PERSON_REGISTER,
            payload={
                "ods_code": desk.branch.ods_code,
                "given_name": "Nia",
                "family_name": "Newstarter",
                "date_of_birth": "1994-02-03",
                "position_id": desk.pharmacist.pk,
            },
        )
        agent = api(desk.agent)
        refused = agent.post(f"/api/v1/requests/{request.pk}/approve/", {}, format="json")
        assert refused.status_code == 400
        assert refused.json()["field"] == "partial_reason"
        assert "Pharmacist" in refused.json()["detail"]
        done = agent.post(
            f"/api/v1/requests/{request.pk}/approve/",
            {"partial_reason": "ID check booked"},
            format="json",
        )
        assert done.status_code == 200
        assert done.json()["state"] == "applied"
        assert done.json()["decision_reason"] == "ID check booked"


class TestPortal:
    def test_the_request_page_names_the_ra_contact_and_the_route(self, desk: Desk) -> None:
        desk.ra.email = "ra-w@example.nhs.uk"
        desk.ra.phone = "0113 496 0000"
        desk.ra.hours = "Monday to Friday, 9am to 5pm"
        desk.ra.save()
        request = card_request(desk)
        page = browser(desk.sponsor).get(f"/requests/{request.pk}/").content.decode()
        assert "Who to contact" in page
        assert "ra-w@example.nhs.uk" in page
        assert "0113 496 0000" in page
        assert "Monday to Friday, 9am to 5pm" in page
        assert f"/registration-authorities/{desk.ra.code}/" in page
        assert "The RA Managers of Workflow RA" in page
        assert "The national service desk" in page

    def test_the_desk_reassigns_from_the_request_page(self, desk: Desk) -> None:
        request = at_service_desk(desk, card_request(desk))
        client = browser(desk.service_desk)
        page = client.get(f"/requests/{request.pk}/").content.decode()
        assert f"/requests/{request.pk}/reassign/" in page
        form = client.get(f"/requests/{request.pk}/reassign/").content.decode()
        assert "Alex Agent" in form
        assert "Lee Lsa" not in form  # only people who could approve it are offered
        empty = client.post(f"/requests/{request.pk}/reassign/", {"note": "kept"})
        assert empty.status_code == 200
        assert "kept" in empty.content.decode()
        done = client.post(
            f"/requests/{request.pk}/reassign/", {"agent": desk.agent.user_id, "note": "Yours"}
        )
        assert done.status_code == 302
        request.refresh_from_db()
        assert request.assigned_to == desk.agent
        commented = client.post(f"/requests/{request.pk}/comment/", {"text": "Handed over."})
        assert commented.status_code == 302
        page = client.get(f"/requests/{request.pk}/").content.decode()
        assert "Handed over." in page
        assert "Assigned to Alex Agent" in page

    def test_an_empty_registration_approval_is_refused_on_the_form(self, desk: Desk) -> None:
        request = services.request_raise(
            actor=desk.sponsor,
            request_type=RequestType.PERSON_REGISTER,
            payload={
                "ods_code": desk.branch.ods_code,
                "given_name": "Nia",
                "family_name": "Newstarter",
                "date_of_birth": "1994-02-03",
                "position_id": desk.pharmacist.pk,
            },
        )
        client = browser(desk.agent)
        refused = client.post(f"/requests/{request.pk}/approve/", {"note": ""})
        assert refused.status_code == 200
        assert "would drop what was asked for" in refused.content.decode()
        request.refresh_from_db()
        assert request.state == RequestState.SUBMITTED
        done = client.post(
            f"/requests/{request.pk}/approve/", {"partial_reason": "Documents next week"}
        )
        assert done.status_code == 302
        request.refresh_from_db()
        assert request.state == RequestState.APPLIED
