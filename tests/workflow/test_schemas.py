"""Each request type's fields are declared once (cis.workflow.schemas), and everything that
builds, stores, shows or applies a payload keeps to that declaration; payloads stored before the
schemas existed load and store back unchanged."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient

from cis.portal.forms.requests import FIELDS, RequestForm
from cis.workflow import schemas, services
from cis.workflow.models import Request
from cis.workflow.states import RequestType

from .desk import Desk

# Payloads exactly as the hand-written readers stored them before the schemas (one per shape).
STORED: dict[str, list[dict[str, Any]]] = {
    RequestType.PERSON_REGISTER: [
        {
            "ods_code": "FBW01",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "date_of_birth": "1985-12-10",
            "email": "ada@example.nhs.uk",
            "mobile": "",
            "professional_body": "",
            "professional_number": "",
        },
        {
            "ods_code": "FBW01",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "date_of_birth": "1985-12-10",
            "email": "",
            "mobile": "+447700900123",
            "professional_body": "GPhC",
            "professional_number": "2012345",
            "position_id": 7,
            "position_name": "Pharmacist",
        },
    ],
    RequestType.CARD_ISSUE: [{"user_id": "500000000001"}],
    RequestType.CARD_REPLACE: [
        {"user_id": "500000000001", "reason": "lost", "card_serial": ""},
        {"user_id": "500000000001", "reason": "name_change", "card_serial": "VC0001"},
    ],
    RequestType.CARD_RENEW: [{"user_id": "500000000001", "card_serial": "VC0001"}],
    RequestType.POSITION_ADD: [
        {
            "user_id": "500000000001",
            "position_id": 3,
            "position_name": "Pharmacist",
            "start_date": "2026-12-04",
            "end_date": None,
        },
        {
            "user_id": "500000000001",
            "position_id": 3,
            "position_name": "Pharmacist",
            "start_date": "2026-12-04",
            "end_date": "2027-03-31",
        },
    ],
    RequestType.POSITION_END: [
        {
            "user_id": "500000000001",
            "assignment_id": 9,
            "position_name": "Pharmacist",
            "end_date": "2026-12-31",
        }
    ],
    RequestType.DETAILS_CHANGE: [
        {
            "user_id": "500000000001",
            "family_name": "Byron",
            "evidence": "marriage_certificate",
            "before": {"family_name": "Lovelace"},
        },
        {
            "user_id": "500000000001",
            "date_of_birth": "1985-12-11",
            "professional_body": "",
            "before": {"date_of_birth": "1985-12-10", "professional_body": "GPhC"},
        },
    ],
    RequestType.PROFILE_CLOSE: [{"user_id": "500000000001", "reason": "Left the NHS"}],
    RequestType.PROFILE_REOPEN: [{"user_id": "500000000001", "reason": "Came back"}],
    RequestType.RIGHT_GRANT: [
        {"user_id": "500000000001", "right": "lsa", "ods_code": "FBW01", "include_children": True},
        {"user_id": "500000000001", "right": "ra_agent", "ra_code": "RA-W"},
    ],
    RequestType.RIGHT_REVOKE: [
        {
            "user_id": "500000000001",
            "grant_id": 12,
            "right": "lsa",
            "scope": "Healthy Chain Leeds (FBW01)",
            "reason": "Moved on",
        }
    ],
}


def test_every_request_type_has_one_schema() -> None:
    assert set(schemas.SCHEMAS) == set(RequestType.values)
    assert set(STORED) == set(RequestType.values)


@pytest.mark.parametrize(
    ("request_type", "stored"),
    [(t, row) for t, rows in STORED.items() for row in rows],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_stored_payload_loads_and_stores_back_unchanged(
    request_type: str, stored: dict[str, Any]
) -> None:
    schema = schemas.SCHEMAS[request_type]
    loaded = schema.from_json(stored)
    assert loaded.to_json() == stored
    assert list(loaded.to_json()) == list(stored)  # and in the same order


def test_dates_are_dates_once_loaded() -> None:
    row = STORED[RequestType.POSITION_ADD][1]
    request = Request(request_type=RequestType.POSITION_ADD, payload=row)
    loaded = schemas.load(request, schemas.PositionAdd)
    assert loaded.start_date == dt.date(2026, 12, 4)
    assert loaded.end_date == dt.date(2027, 3, 31)
    assert loaded.position_id == 3


def test_loading_a_payload_as_another_types_schema_is_refused() -> None:
    request = Request(request_type=RequestType.CARD_ISSUE, payload={"user_id": "500000000001"})
    with pytest.raises(TypeError, match="CardIssue"):
        schemas.load(request, schemas.CardReplace)


def test_details_change_names_what_changes_in_one_order() -> None:
    loaded = schemas.DetailsChange.from_json(STORED[RequestType.DETAILS_CHANGE][1])
    assert loaded.changed() == ["date_of_birth", "professional_body"]


def test_the_portal_forms_ask_only_for_fields_the_schema_takes(desk: Desk) -> None:
    payload_name = {form: payload for payload, form in RequestForm.renamed.items()}
    for request_type, fields in FIELDS.items():
        payload_names = {payload_name.get(name, name) for name in fields(desk.manager)}
        accepts = schemas.SCHEMAS[request_type].accepts()
        assert payload_names <= accepts, (request_type, payload_names - accepts)


def test_the_api_describes_every_types_fields_from_the_schemas(db: None) -> None:
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    text = response.content.decode()
    for schema in set(schemas.SCHEMAS.values()):
        assert schema.describe() in text


def test_a_raised_request_stores_its_schemas_json(desk: Desk) -> None:
    request = services.request_raise(
        actor=desk.sponsor,
        request_type=RequestType.POSITION_ADD,
        payload={"user_id": desk.lsa.user_id, "position_id": str(desk.pharmacist.pk)},
    )
    request.refresh_from_db()
    loaded = schemas.load(request, schemas.PositionAdd)
    assert loaded.position_id == desk.pharmacist.pk
    assert loaded.position_name == "Pharmacist"
    assert loaded.end_date is None
    assert request.payload == loaded.to_json()
    assert set(request.payload) == {
        "user_id",
        "position_id",
        "position_name",
        "start_date",
        "end_date",
    }
