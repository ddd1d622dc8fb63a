"""The catalogue in the portal, API and CLI: everyone reads it, the service desk keeps it."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from rest_framework.test import APIClient

from cis.audit.models import AuditEvent
from cis.authz.policy import CONSOLE
from cis.rbac.catalogue import catalogue_load
from cis.rbac.models import Activity, CatalogueVersion, JobRole
from cis.rights.models import Right
from tests.factories.directory import PersonFactory, RightGrantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> dict[str, object]:
    catalogue_load(actor=CONSOLE)
    desk = PersonFactory()
    RightGrantFactory(person=desk, right=Right.SERVICE_DESK)
    return {"desk": desk, "holder": PersonFactory()}


def test_a_holder_browses_the_catalogue_and_its_sources(
    people: dict[str, object], client: Client
) -> None:
    client.force_login(people["holder"])  # type: ignore[arg-type]
    page = client.get("/catalogue/").content.decode()
    for text in ("S8000:G8000:R8000", "Clinical Practitioner Access Role", "B0825", "Sources"):
        assert text in page
    assert "Add a job role" not in page
    assert "R8003" in client.get("/catalogue/?q=health").content.decode()
    entry = client.get("/catalogue/job-roles/R8000/").content.decode()
    for text in ("Clinical Provision", "Amend Patient Demographics", "digital.nhs.uk"):
        assert text in entry
    assert client.get("/catalogue/activities/B0825/").status_code == 200
    assert client.get("/catalogue/job-roles/R0000/").status_code == 404
    assert client.get("/catalogue/nonsense/R8000/").status_code == 404
    assert client.get("/catalogue/versions/").status_code == 200
    assert client.get("/catalogue/job-roles/R8000/change/").status_code == 403


def test_the_service_desk_adds_changes_and_retires_in_the_portal(
    people: dict[str, object], client: Client
) -> None:
    client.force_login(people["desk"])  # type: ignore[arg-type]
    response = client.post(
        "/catalogue/job-roles/new/",
        {
            "code": "r9001",
            "name": "Local Test Role",
            "sources": "dpds-roles",
            "baseline": ["B0254"],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    role = JobRole.objects.get(code="R9001")
    assert list(role.baseline_activities.values_list("code", flat=True)) == ["B0254"]
    response = client.post(
        "/catalogue/job-roles/R9001/change/",
        {"name": "Local Test Role", "sector_code": "S8000", "group_code": "", "sources": ""},
    )
    assert "Give both the sector and the group code" in response.content.decode()
    versions = CatalogueVersion.objects.count()
    response = client.post("/catalogue/job-roles/R9001/retire/", {"reason": "Not needed"})
    assert response.status_code == 302
    assert JobRole.objects.get(code="R9001").retired
    assert CatalogueVersion.objects.count() == versions + 1
    assert "Reinstate it" in client.get("/catalogue/job-roles/R9001/").content.decode()
    assert client.post("/catalogue/job-roles/R9001/reinstate/", {}).status_code == 302
    assert not JobRole.objects.get(code="R9001").retired


def test_the_api(people: dict[str, object]) -> None:
    holder, desk = APIClient(), APIClient()
    holder.force_login(people["holder"])  # type: ignore[arg-type]
    desk.force_login(people["desk"])  # type: ignore[arg-type]
    roles = holder.get("/api/v1/catalogue/job-roles/?limit=200").json()["results"]
    r8000 = next(r for r in roles if r["code"] == "R8000")
    assert r8000["full_code"] == "S8000:G8000:R8000" and "B0825" in r8000["baseline"]
    b0825 = holder.get("/api/v1/catalogue/activities/B0825/").json()
    assert b0825["includes"] == ["B0820"]
    refused = holder.post(
        "/api/v1/catalogue/activities/", {"code": "B9002", "name": "x"}, format="json"
    )
    assert refused.status_code == 403
    created = desk.post(
        "/api/v1/catalogue/activities/",
        {"code": "B9002", "name": "Local activity", "includes": ["B0820"]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    renamed = desk.patch(
        "/api/v1/catalogue/activities/B9002/", {"name": "Local activity (renamed)"}, format="json"
    )
    assert renamed.json()["name"] == "Local activity (renamed)"
    assert renamed.json()["includes"] == ["B0820"]  # left out: kept
    retired = desk.post(
        "/api/v1/catalogue/activities/B9002/retire/", {"retired": True}, format="json"
    )
    assert retired.json()["retired"] is True
    again = desk.post(
        "/api/v1/catalogue/activities/B9002/retire/", {"retired": True}, format="json"
    )
    assert again.status_code == 409
    versions = holder.get("/api/v1/catalogue/versions/").json()["results"]
    assert versions[0]["summary"] == {"retired": ["B9002"]}
    assert "ptl-smartcards" in versions[-1]["sources"]
    assert Activity.objects.get(code="B9002").retired


def _cis(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_cli(people: dict[str, object]) -> None:
    assert "B0825  Amend Patient Demographics" in _cis("rbac", "activities")
    _cis("rbac", "save-role", "--code", "R9003", "--name", "Console role", "--baseline", "B0820")
    assert "Console role" in _cis("rbac", "roles")
    _cis("rbac", "retire", "job_role", "R9003")
    assert "Console role" not in _cis("rbac", "roles")
    assert "(retired)" in _cis("rbac", "roles", "--retired")
    with pytest.raises(CommandError, match="already retired"):
        _cis("rbac", "retire", "job_role", "R9003")
    versions = json.loads(_cis("rbac", "versions", "--json"))
    assert versions[0]["summary"] == {"retired": ["R9003"]}
    assert AuditEvent.objects.filter(target_type="catalogue.job_role").count() == 2
