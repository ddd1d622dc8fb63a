"""The requests API: raise, list, read, approve, reject, cancel, escalate; and its schema."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from cis.audit.models import AuditEvent
from cis.core import clock
from cis.people.models import Person
from cis.workflow.models import Request, RequestApproval
from tests.factories.directory import AssignmentFactory, PersonFactory

from .desk import PHOTO, Desk

pytestmark = pytest.mark.django_db

V1 = "/api/v1/requests/"


def client(person: Person | None) -> APIClient:
    api = APIClient()
    if person is not None:
        api.force_authenticate(person)
    return api


def raise_card(desk: Desk) -> dict[str, Any]:
    response = client(desk.sponsor).post(
        V1,
        {"request_type": "card_issue", "payload": {"user_id": desk.holder.user_id}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body: dict[str, Any] = response.json()
    return body


def test_a_sponsor_raises_and_the_ra_agent_approves(desk: Desk) -> None:
    body = raise_card(desk)
    assert body["ref"] == f"REQ-{body['id']:06d}"
    assert body["state"] == "submitted"
    assert body["subject"] == {"user_id": desk.holder.user_id, "full_name": "Hana Holder"}
    assert [e["kind"] for e in body["history"]] == ["raised"]
    queue = client(desk.agent).get(V1).json()
    assert [r["id"] for r in queue["results"]] == [body["id"]]
    assert queue["results"][0]["approvals_given"] == 0
    response = client(desk.agent).post(f"{V1}{body['id']}/approve/", {}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "approved"
    assert AuditEvent.objects.filter(action="request.approve", channel="api").exists()


def test_the_loser_of_two_approvals_gets_a_409_naming_the_winner(desk: Desk) -> None:
    body = raise_card(desk)
    client(desk.agent).post(f"{V1}{body['id']}/approve/", {}, format="json")
    response = client(desk.agent2).post(f"{V1}{body['id']}/approve/", {}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "error": "invalid_state",
        "detail": f"Request {body['ref']} has already been approved by Alex Agent and is "
        "waiting for the card to be issued.",
    }


def test_invalid_payloads_are_400_naming_the_field(desk: Desk) -> None:
    response = client(desk.sponsor).post(
        V1,
        {
            "request_type": "person_register",
            "payload": {"ods_code": "FBW01", "given_name": "A", "family_name": "B"},
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["field"] == "payload.date_of_birth"
    response = client(desk.sponsor).post(
        V1, {"request_type": "make_tea", "payload": {}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["field"] == "request_type"
    assert not Request.objects.exists()


def test_registration_through_the_api_with_duplicates_and_a_photo(desk: Desk) -> None:
    import datetime as dt

    from tests.factories.directory import PersonFactory

    twin = PersonFactory(  # in the RA Agent's view: their RA registered them
        given_name="Nia",
        family_name="New",
        date_of_birth=dt.date(1990, 2, 3),
        registered_ra=desk.ra,
    )
    response = client(desk.sponsor).post(
        V1,
        {
            "request_type": "person_register",
            "payload": {
                "ods_code": "FBW01",
                "given_name": "Nia",
                "family_name": "New",
                "date_of_birth": "1990-02-03",
                "position_id": desk.pharmacist.pk,
            },
        },
        format="json",
    )
    pk = response.json()["id"]
    dupes = client(desk.agent).get(f"{V1}{pk}/duplicates/").json()
    assert [d["user_id"] for d in dupes] == [twin.user_id]
    identity = {
        "document_types": ["passport", "utility_bill", "birth_certificate"],
        "photo": base64.b64encode(PHOTO).decode(),
    }
    approve = client(desk.agent).post(f"{V1}{pk}/approve/", {"identity": identity}, format="json")
    assert approve.status_code == 409
    assert approve.json()["matches"] == [twin.user_id]
    approve = client(desk.agent).post(
        f"{V1}{pk}/approve/",
        {"identity": identity, "acknowledged_duplicates": [twin.user_id]},
        format="json",
    )
    assert approve.status_code == 200, approve.json()
    assert approve.json()["state"] == "applied"
    assert approve.json()["result_ref"].startswith("person:")
    bad = client(desk.agent).post(
        f"{V1}{pk}/approve/", {"identity": {**identity, "photo": "***"}}, format="json"
    )
    assert bad.status_code == 400
    assert bad.json()["field"] == "identity.photo"


def test_reject_cancel_and_escalate(desk: Desk) -> None:
    first = raise_card(desk)
    response = client(desk.agent).post(f"{V1}{first['id']}/reject/", {"reason": ""}, format="json")
    assert response.status_code == 400
    response = client(desk.agent).post(
        f"{V1}{first['id']}/reject/", {"reason": "No"}, format="json"
    )
    assert response.json()["state"] == "rejected"
    assert response.json()["decision_reason"] == "No"

    second = (
        client(desk.sponsor)
        .post(
            V1,
            {
                "request_type": "card_replace",
                "payload": {"user_id": desk.holder.user_id, "reason": "damaged"},
            },
            format="json",
        )
        .json()
    )
    escalated = client(desk.holder).post(
        f"{V1}{second['id']}/escalate/", {"reason": "Waiting a week"}, format="json"
    )
    assert escalated.status_code == 200, escalated.json()
    assert escalated.json()["state"] == "escalated"
    assert escalated.json()["escalations"][0]["raised_by"]["user_id"] == desk.holder.user_id
    mine = client(desk.holder).get(V1, {"view": "about-me"}).json()
    assert [r["id"] for r in mine["results"]] == [second["id"], first["id"]]
    cancelled = client(desk.sponsor).post(f"{V1}{second['id']}/cancel/", {}, format="json")
    assert cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["escalations"][0]["closed_at"] is not None


def test_what_each_persona_may_do(desk: Desk) -> None:
    body = raise_card(desk)
    detail = f"{V1}{body['id']}/"
    assert client(None).get(detail).status_code in (401, 403)
    from tests.factories.directory import PersonFactory

    stranger = PersonFactory()
    assert client(stranger).get(detail).status_code == 404
    assert client(stranger).post(f"{detail}approve/", {}, format="json").status_code == 404
    assert client(desk.lsa).get(detail).status_code == 200
    assert client(desk.lsa).post(f"{detail}approve/", {}, format="json").status_code == 403
    assert client(desk.sponsor).post(f"{detail}approve/", {}, format="json").status_code == 403
    assert client(desk.holder).post(f"{detail}approve/", {}, format="json").status_code == 403
    assert Request.objects.get().state == "submitted"


def test_filters(desk: Desk) -> None:
    raise_card(desk)
    agent = client(desk.agent)
    assert len(agent.get(V1, {"type": "card_issue"}).json()["results"]) == 1
    assert len(agent.get(V1, {"type": "card_replace"}).json()["results"]) == 0
    assert len(agent.get(V1, {"ods_code": "FBW01"}).json()["results"]) == 1
    assert len(agent.get(V1, {"older_than_days": "7"}).json()["results"]) == 0
    assert len(agent.get(V1, {"view": "closed"}).json()["results"]) == 0
    assert agent.get(V1, {"view": "sideways"}).status_code == 400


def test_the_open_queue_takes_a_fixed_number_of_queries(desk: Desk) -> None:
    """The RA queue as an RA Agent sees it (`?view=open`): as many statements for twelve
    requests, one of them approved once, as for one, each with its own count of approvals."""
    first = raise_card(desk)
    agent = client(desk.agent)
    agent.get(V1, {"view": "open"})  # warm
    with CaptureQueriesContext(connection) as few:
        assert len(agent.get(V1, {"view": "open"}).json()["results"]) == 1
    assert 0 < len(few.captured_queries) <= 10
    for n in range(11):
        holder = PersonFactory(given_name="Queued", family_name=f"Holder{n}", registered_ra=desk.ra)
        AssignmentFactory(person=holder, position=desk.pharmacist)
        response = client(desk.sponsor).post(
            V1,
            {"request_type": "card_issue", "payload": {"user_id": holder.user_id}},
            format="json",
        )
        assert response.status_code == 201, response.json()
    RequestApproval.objects.create(request_id=first["id"], approver=desk.agent2, at=clock.now())
    with CaptureQueriesContext(connection) as many:
        rows = agent.get(V1, {"view": "open"}).json()["results"]
    assert len(many.captured_queries) <= len(few.captured_queries), many.captured_queries
    assert len(rows) == 12
    assert {r["id"]: r["approvals_given"] for r in rows}[first["id"]] == 1
    assert sum(r["approvals_given"] for r in rows) == 1


def test_the_schema_documents_every_request_route() -> None:
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = response.json()["paths"]
    ours = {p: ops for p, ops in paths.items() if p.startswith("/api/v1/requests/")}
    assert len(ours) == 9
    for path, operations in ours.items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert operation.get("summary"), (method, path)
            assert {"400", "403", "404"} <= set(operation["responses"]), (method, path)
            if method == "post":
                assert "409" in operation["responses"], path
