"""The national RBAC catalogue: its cited data file, loads in versions, the service desk's edits."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cis.audit.models import AuditEvent
from cis.authz.actions import Action
from cis.authz.policy import CONSOLE, decide
from cis.core.errors import InvalidState, NotPermitted, ValidationFailed
from cis.rbac.catalogue import (
    CATALOGUE_FILE,
    catalogue_entry_retire,
    catalogue_entry_save,
    catalogue_load,
)
from cis.rbac.models import Activity, CatalogueVersion, JobRole, PositionAssignment
from cis.rbac.services import assignment_create, position_create, position_update
from cis.rights.models import Right
from tests.factories.directory import OrganisationFactory, PersonFactory, RightGrantFactory

pytestmark = pytest.mark.django_db

DATA = json.loads(CATALOGUE_FILE.read_text())

# The shapes NHS England publishes: R-codes, B-codes, S/G codes, and the full code S:G:R.
R_CODE = re.compile(r"^R[0-9]{4}$")
B_CODE = re.compile(r"^B[0-9]{4}$")
FULL_CODE = re.compile(r"^S[0-9]{4}:G[0-9]{4}:R[0-9]{4}$")


def test_the_data_file_cites_a_source_for_every_entry_and_marks_nothing_illustrative() -> None:
    sources = DATA["sources"]
    for key, source in sources.items():
        assert source["url"].startswith("https://"), key
        assert source["title"] and source["publisher"], key
    entries = [*DATA["job_roles"], *DATA["activities"], *DATA["areas_of_work"]]
    assert len(DATA["job_roles"]) >= 30 and len(DATA["activities"]) >= 40
    for entry in entries:
        assert "illustrative" not in entry, entry["code"]
        assert entry["sources"], f"{entry['code']} cites no source"
        assert set(entry["sources"]) | set(entry.get("baseline_sources", [])) <= set(sources)
    for role in DATA["job_roles"]:
        assert R_CODE.fullmatch(role["code"]), role["code"]
        assert set(role["baseline"]) <= {a["code"] for a in DATA["activities"]}
        if role["baseline"]:
            assert role.get("baseline_sources"), f"{role['code']}'s baseline cites no source"
    for activity in DATA["activities"]:
        assert B_CODE.fullmatch(activity["code"]), activity["code"]


def test_the_codes_named_in_the_design_are_there_as_published() -> None:
    catalogue_load(actor=CONSOLE)
    expected_roles = {
        "R8000": "Clinical Practitioner Access Role",
        "R5080": "Registration Authority Manager",
        "R5090": "Registration Authority Agent",
    }
    for code, name in expected_roles.items():
        assert JobRole.objects.get(code=code).name == name
    assert Activity.objects.get(code="B0825").name == "Amend Patient Demographics"
    assert Activity.objects.get(code="B1300").name == "Approve RA requests"
    assert Activity.objects.get(code="B0267").name == "Approve RA requests (registration only)"
    # B0825 Amend includes B0820 View, as the national RBAC guidance for developers says.
    b0825 = Activity.objects.get(code="B0825")
    assert list(b0825.includes.values_list("code", flat=True)) == ["B0820"]
    r8000 = JobRole.objects.get(code="R8000")
    assert FULL_CODE.fullmatch(r8000.full_code) and r8000.full_code == "S8000:G8000:R8000"
    assert (r8000.sector_name, r8000.group_name) == ("Clinical", "Clinical Provision")
    assert "B0825" in set(r8000.baseline_activities.values_list("code", flat=True))
    for role in JobRole.objects.all():
        assert role.full_code == role.code or FULL_CODE.fullmatch(role.full_code), role.code


def test_loading_twice_changes_nothing_and_a_changed_file_is_a_new_version(tmp_path: Path) -> None:
    first = catalogue_load(actor=CONSOLE)
    assert first.version == 1 and first.created == len(DATA["job_roles"]) + len(
        DATA["activities"]
    ) + len(DATA["areas_of_work"])
    events = AuditEvent.objects.count()
    again = catalogue_load(actor=CONSOLE)
    assert again.unchanged and again.version is None
    assert AuditEvent.objects.count() == events and CatalogueVersion.objects.count() == 1

    data = json.loads(CATALOGUE_FILE.read_text())
    data["version"] = "next"
    data["job_roles"] = [r for r in data["job_roles"] if r["code"] != "R8012"]
    for role in data["job_roles"]:
        if role["code"] == "R8009":
            role["name"] = "Receptionist Access Role (renamed)"
    smaller = tmp_path / "catalogue.json"
    smaller.write_text(json.dumps(data))
    result = catalogue_load(actor=CONSOLE, path=smaller)
    assert (result.version, result.retired, result.updated) == (2, 1, 1)
    assert result.changes == {"created": [], "updated": ["R8009"], "retired": ["R8012"]}
    assert JobRole.objects.get(code="R8012").retired
    event = AuditEvent.objects.filter(action="catalogue.manage").last()
    assert event is not None and event.target_ref == "v2" and event.after["retired"] == ["R8012"]
    # Back in the file, back in use.
    assert catalogue_load(actor=CONSOLE).changes["updated"] == ["R8009", "R8012"]
    assert not JobRole.objects.get(code="R8012").retired


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["job_roles"][0].update(code="R1"), "not a job role code"),
        (lambda d: d["job_roles"][0].update(baseline=["B9999"]), "unknown activities: B9999"),
        (lambda d: d["activities"][0].update(sources=["nowhere"]), "unknown sources: nowhere"),
        (lambda d: d["job_roles"][0].update(sector="S8000", group=""), "both a sector"),
        (lambda d: d["activities"].append(dict(d["activities"][0])), "appears twice"),
        (lambda d: d.pop("version"), "no 'version'"),
    ],
)
def test_a_broken_file_is_refused_whole(tmp_path: Path, change: Any, message: str) -> None:
    catalogue_load(actor=CONSOLE)
    data = json.loads(CATALOGUE_FILE.read_text())
    change(data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    before = (JobRole.objects.count(), CatalogueVersion.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationFailed, match=message):
        catalogue_load(actor=CONSOLE, path=bad)
    after = (JobRole.objects.count(), CatalogueVersion.objects.count(), AuditEvent.objects.count())
    assert after == before


def _desk() -> Any:
    desk = PersonFactory()
    RightGrantFactory(person=desk, right=Right.SERVICE_DESK)
    return desk


def test_the_service_desk_edits_in_versions_and_positions_keep_what_they_have() -> None:
    catalogue_load(actor=CONSOLE)
    desk = _desk()
    org = OrganisationFactory()
    position = position_create(
        actor=CONSOLE, organisation=org, name="Receptionist", job_role_codes=["R8009"]
    )
    assert not position.activities.exists()
    catalogue_entry_save(
        actor=desk,
        kind="job_role",
        code="R8009",
        name="Receptionist Access Role",
        sources=["dpds-roles"],
        baseline=["B0254", "B0340"],
    )
    # A new baseline is for new positions: the existing one keeps its (empty) activities.
    assert not position.activities.exists()
    newer = position_create(
        actor=CONSOLE, organisation=org, name="Front desk", job_role_codes=["R8009"]
    )
    assert set(newer.activities.values_list("code", flat=True)) == {"B0254", "B0340"}
    added = catalogue_entry_save(
        actor=desk, kind="activity", code="b9001", name="Local test activity", sources=[]
    )
    assert added.code == "B9001"
    assert CatalogueVersion.objects.order_by("-number").first().label == "edit"  # type: ignore[union-attr]

    catalogue_entry_retire(actor=desk, kind="job_role", code="R8009")
    with pytest.raises(ValidationFailed, match=r"R8009 \(retired\)"):
        position_create(actor=CONSOLE, organisation=org, name="Another", job_role_codes=["R8009"])
    # A position that has a retired role keeps it, is still held, and can still be edited.
    person = PersonFactory()
    assignment_create(actor=CONSOLE, person=person, position=position)
    assert PositionAssignment.objects.filter(person=person, position=position).exists()
    position_update(actor=CONSOLE, position=position, name="Reception", job_role_codes=["R8009"])
    with pytest.raises(InvalidState, match="reinstate it before changing it"):
        catalogue_entry_save(actor=desk, kind="job_role", code="R8009", name="x")
    catalogue_entry_retire(actor=desk, kind="job_role", code="R8009", retire=False)
    actions = list(
        AuditEvent.objects.filter(target_type="catalogue.job_role").values_list(
            "target_ref", flat=True
        )
    )
    assert actions == ["R8009", "R8009", "R8009"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"code": "X1", "name": "n"}, "code"),
        ({"code": "R8009", "name": "  "}, "name"),
        ({"code": "R8009", "name": "n", "sector_code": "S8000"}, "group_code"),
        ({"code": "R8009", "name": "n", "baseline": ["B0000"]}, "baseline"),
    ],
)
def test_bad_edits_are_refused_and_change_nothing(kwargs: dict[str, Any], field: str) -> None:
    catalogue_load(actor=CONSOLE)
    before = (CatalogueVersion.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationFailed) as refused:
        catalogue_entry_save(actor=_desk(), kind="job_role", **kwargs)
    assert refused.value.field == field
    assert (CatalogueVersion.objects.count(), AuditEvent.objects.count()) == before


def test_everyone_reads_the_catalogue_and_only_the_service_desk_changes_it() -> None:
    catalogue_load(actor=CONSOLE)
    holder = PersonFactory()
    manager = PersonFactory()
    RightGrantFactory(person=manager, right=Right.RA_MANAGER, ra=OrganisationFactory().serving_ra)
    assert decide(holder, Action.CATALOGUE_VIEW).allowed
    for actor in (holder, manager):
        with pytest.raises(NotPermitted):
            catalogue_entry_retire(actor=actor, kind="activity", code="B0825")


def test_an_ra_agent_can_assign_every_job_role_in_the_catalogue() -> None:
    catalogue_load(actor=CONSOLE)
    org = OrganisationFactory(ods_code="FAS01")
    agent = PersonFactory()
    RightGrantFactory(person=agent, right=Right.RA_AGENT, ra=org.serving_ra)
    holder = PersonFactory()
    codes = list(JobRole.objects.filter(retired=False).values_list("code", flat=True))
    assert len(codes) == len(DATA["job_roles"])
    for code in codes:
        position = position_create(
            actor=CONSOLE, organisation=org, name=f"Post {code}", job_role_codes=[code]
        )
        assignment = assignment_create(actor=agent, person=holder, position=position)
        assert assignment.granted_by == agent
    assert PositionAssignment.objects.filter(person=holder).count() == len(codes)
