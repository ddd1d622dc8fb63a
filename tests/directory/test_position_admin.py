"""Positions over their life: edited for everyone who holds them, retired with their holders'
assignments ended, by RA Agents (Advanced) in scope; in the service, portal, API and CLI."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from rest_framework.test import APIClient

from cis.audit.models import AuditEvent
from cis.authz.policy import CONSOLE
from cis.core import clock
from cis.core.errors import Conflict, InvalidState, NotPermitted, ValidationFailed
from cis.rbac.catalogue import catalogue_load
from cis.rbac.models import Position, PositionAssignment, PositionStatus
from cis.rbac.services import assignment_create, position_create, position_retire, position_update
from cis.rights.models import Right
from tests.factories.directory import (
    AssignmentFactory,
    OrganisationFactory,
    PersonFactory,
    RightGrantFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting() -> dict[str, object]:
    catalogue_load(actor=CONSOLE)
    org = OrganisationFactory(ods_code="FPO01")
    advanced = PersonFactory()
    RightGrantFactory(person=advanced, right=Right.RA_AGENT_ADVANCED, ra=org.serving_ra)
    agent = PersonFactory()
    RightGrantFactory(person=agent, right=Right.RA_AGENT, ra=org.serving_ra)
    position = position_create(
        actor=CONSOLE, organisation=org, name="Dispenser", job_role_codes=["R8008", "R0011"]
    )
    return {"org": org, "advanced": advanced, "agent": agent, "position": position}


def test_an_edit_changes_it_for_every_holder_and_is_audited(setting: dict[str, object]) -> None:
    position, advanced = setting["position"], setting["advanced"]
    assert isinstance(position, Position)
    updated = position_update(
        actor=advanced,  # type: ignore[arg-type]
        position=position,
        name="Dispensing assistant",
        activity_codes=["B0570", "B0572"],
        assignable=True,
        workgroups=["Dispensary"],
    )
    assert updated.name == "Dispensing assistant" and updated.assignable
    assert set(updated.activities.values_list("code", flat=True)) == {"B0570", "B0572"}
    event = AuditEvent.objects.filter(action="position.update").last()
    assert event is not None and event.before["name"] == "Dispenser"
    assert event.after["workgroups"] == ["Dispensary"]
    with pytest.raises(ValidationFailed, match="Nothing to change"):
        position_update(actor=advanced, position=position, name="Dispensing assistant")  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed, match="at least one job role"):
        position_update(actor=advanced, position=position, job_role_codes=[])  # type: ignore[arg-type]
    with pytest.raises(NotPermitted):
        position_update(actor=setting["agent"], position=position, name="x")  # type: ignore[arg-type]
    position_create(
        actor=CONSOLE,
        organisation=setting["org"],
        name="Counter",
        job_role_codes=["R8008"],  # type: ignore[arg-type]
    )
    with pytest.raises(Conflict, match="already has a position called 'Counter'"):
        position_update(actor=advanced, position=position, name="counter")  # type: ignore[arg-type]


def test_retiring_ends_current_and_future_holders_today(setting: dict[str, object]) -> None:
    position = setting["position"]
    assert isinstance(position, Position)
    today = clock.today()
    current = AssignmentFactory(position=position)
    future = assignment_create(
        actor=CONSOLE,
        person=PersonFactory(),
        position=position,
        start_date=today + dt.timedelta(days=10),
    )
    past = AssignmentFactory(
        position=position,
        start_date=today - dt.timedelta(days=90),
        end_date=today - dt.timedelta(days=30),
    )
    retired = position_retire(actor=setting["advanced"], position=position, reason="Restructure")  # type: ignore[arg-type]
    assert retired.status == PositionStatus.RETIRED
    current.refresh_from_db(), future.refresh_from_db(), past.refresh_from_db()
    assert current.end_date == today
    assert future.end_date == future.start_date  # ends before it could begin
    assert past.end_date == today - dt.timedelta(days=30)  # history untouched
    ended = AuditEvent.objects.filter(action="assignment.end").count()
    assert ended == 2
    event = AuditEvent.objects.get(action="position.retire")
    assert event.after["reason"] == "Restructure"
    assert sorted(event.after["assignments_ended"]) == sorted([current.pk, future.pk])
    with pytest.raises(InvalidState, match="already retired"):
        position_retire(actor=setting["advanced"], position=position)  # type: ignore[arg-type]
    with pytest.raises(InvalidState, match="retired and cannot be changed"):
        position_update(actor=setting["advanced"], position=position, name="x")  # type: ignore[arg-type]
    with pytest.raises(InvalidState, match="is retired"):
        assignment_create(actor=CONSOLE, person=PersonFactory(), position=position)


def test_the_portal_journey(setting: dict[str, object], client: Client) -> None:
    position = setting["position"]
    assert isinstance(position, Position)
    AssignmentFactory(position=position)
    client.force_login(setting["advanced"])  # type: ignore[arg-type]
    page = client.get(f"/organisations/FPO01/positions/{position.pk}/").content.decode()
    assert "Change the position" in page and "Retire the position" in page
    assert "R0011" in page and "Dispenser" in page
    form = client.get(f"/organisations/FPO01/positions/{position.pk}/change/")
    assert form.context["form"].initial["job_roles"] == ["R0011", "R8008"] or set(
        form.context["form"].initial["job_roles"]
    ) == {"R0011", "R8008"}
    response = client.post(
        f"/organisations/FPO01/positions/{position.pk}/change/",
        {"name": "Dispenser (part time)", "job_roles": ["R8008"], "activities": ["B0570"]},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    position.refresh_from_db()
    assert position.name == "Dispenser (part time)"
    retire = client.get(f"/organisations/FPO01/positions/{position.pk}/retire/").content.decode()
    assert "1 person holds this position now" in retire
    response = client.post(f"/organisations/FPO01/positions/{position.pk}/retire/", {"reason": ""})
    assert response.status_code == 302
    position.refresh_from_db()
    assert position.status == PositionStatus.RETIRED
    assert not PositionAssignment.objects.filter(position=position, end_date__isnull=True).exists()
    client.force_login(setting["agent"])  # type: ignore[arg-type]
    assert client.get(f"/organisations/FPO01/positions/{position.pk}/change/").status_code == 403


def _cis(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_api_and_cli(setting: dict[str, object]) -> None:
    position = setting["position"]
    assert isinstance(position, Position)
    api = APIClient()
    api.force_login(setting["advanced"])  # type: ignore[arg-type]
    changed = api.patch(
        f"/api/v1/positions/{position.pk}/",
        {"activities": ["B0570"], "assignable": True},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    assert [a["code"] for a in changed.json()["activities"]] == ["B0570"]
    bad = api.patch(f"/api/v1/positions/{position.pk}/", {"job_roles": ["R0000"]}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "job_roles"
    out = _cis("position", "update", str(position.pk), "--name", "Dispenser", "--not-assignable")
    assert "Updated position" in out
    position.refresh_from_db()
    assert not position.assignable
    retired = api.post(
        f"/api/v1/positions/{position.pk}/retire/", {"reason": "Gone"}, format="json"
    )
    assert retired.json()["status"] == "retired"
    with pytest.raises(CommandError, match="already retired"):
        _cis("position", "retire", str(position.pk))
