"""Each directory command's happy path: it calls its service, prints the result, and is audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management.base import CommandError

from cis.audit.models import AuditEvent
from cis.authz.policy import CONSOLE
from cis.core import clock
from cis.organisations.models import Organisation, OrganisationStatus
from cis.people.models import AssuranceLevel, Person, PersonStatus
from cis.rbac.models import JobRole, Position, PositionAssignment
from cis.rights.models import RightGrant
from cis.rights.services import right_grant

from .conftest import Cis, Directory

pytestmark = pytest.mark.django_db
CisJson = Callable[..., Any]


def _last_event() -> AuditEvent:
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    return event


def test_rbac_load_loads_the_catalogue_then_only_updates_it(cis: Cis) -> None:
    out = cis("rbac", "load")
    assert "created" in out
    assert JobRole.objects.filter(code="R8000").exists()
    assert _last_event().action == "catalogue.manage"
    events = AuditEvent.objects.count()
    again = cis("rbac", "load")
    assert "nothing changed" in again
    assert AuditEvent.objects.count() == events
    assert "S8000:G8000:R8000" in cis("rbac", "roles")


def test_rbac_load_reads_another_file(cis: Cis, tmp_path: Path) -> None:
    catalogue = tmp_path / "catalogue.json"
    catalogue.write_text(
        '{"version": "t1", "areas_of_work": [], "activities": [], "job_roles": '
        '[{"code": "R9999", "sector": "S1000", "group": "G1000", "name": "Test role"}]}'
    )
    out = cis("rbac", "load", "--file", str(catalogue))
    assert "Loaded t1 as catalogue version 1: 1 created" in out
    assert JobRole.objects.get(code="R9999").full_code == "S1000:G1000:R9999"


def test_ra_add_and_list(cis: Cis, cis_json: CisJson) -> None:
    out = cis("ra", "add", "--code", "ra-x", "--name", "Example RA")
    assert "Created Example RA (RA-X)" in out
    assert [(r["code"], r["name"]) for r in cis_json("ra", "list")] == [("RA-X", "Example RA")]
    assert _last_event().target_ref == "RA-X"


def test_org_add_show_list_and_close(cis: Cis, cis_json: CisJson, directory: Directory) -> None:
    out = cis(
        "org", "add", "--ods", "flm49", "--name", "New Branch", "--type", "community_pharmacy",
        "--ra", "RA-T", "--parent", "PHQ01",
    )  # fmt: skip
    assert "Created New Branch (FLM49), under Chain Head Office (PHQ01)" in out
    shown = cis_json("org", "show", "PHQ01")
    assert shown["children"] == ["FAB12", "FLM49"]
    assert [o["ods_code"] for o in cis_json("org", "list", "branch")] == ["FAB12", "FLM49"]
    assert "Closed New Branch (FLM49)" in cis("org", "close", "FLM49")
    assert Organisation.objects.get(ods_code="FLM49").status == OrganisationStatus.CLOSED
    assert _last_event().action == "organisation.close"


def test_person_add_show_and_find(cis: Cis, cis_json: CisJson, directory: Directory) -> None:
    created = cis_json(
        "person", "add", "--given", "Grace", "--family", "Okafor", "--dob", "1988-04-12",
        "--ra", "RA-T", "--email", "Grace.Okafor@Example.NHS.uk", "--mobile", "07700 900 123",
        "--professional-body", "GPhC", "--professional-number", "2012345",
    )  # fmt: skip
    assert created["status"] == PersonStatus.RESTRICTED
    assert created["email"] == "Grace.Okafor@example.nhs.uk"
    assert created["mobile"] == "+447700900123"
    user_id = created["user_id"]
    shown = cis("person", "show", user_id)
    assert "Grace Okafor" in shown
    assert "GPhC 2012345" in shown
    assert "Restricted" in shown
    assert user_id in cis("person", "find", "okafor")
    assert _last_event().action == "person.create"


def test_person_add_prints_what_to_do_next(cis: Cis, directory: Directory) -> None:
    out = cis(
        "person", "add", "--given", "Ian", "--family", "Moss", "--dob", "1979-01-02",
        "--ra", "RA-T",
    )  # fmt: skip
    assert "restricted until their identity is verified" in out
    assert "cis person verify" in out


def test_person_verify_makes_the_profile_active(cis: Cis, directory: Directory) -> None:
    user_id = directory.unverified.user_id
    out = cis("person", "verify", user_id, "--documents", "passport,utility_bill,p60")
    assert "Active" in out
    person = Person.objects.get(user_id=user_id)
    assert person.status == PersonStatus.ACTIVE
    assert person.assurance_level == AssuranceLevel.HIGH
    check = person.identity_checks.get()
    assert check.document_types == ["p60", "passport", "utility_bill"]
    assert check.checker is None  # recorded at the console: the audit event names the operator
    assert _last_event().actor_ref == CONSOLE.audit_ref


def test_person_confirm_contact(cis: Cis, directory: Directory) -> None:
    user_id = directory.verified.user_id
    out = cis("person", "confirm-contact", user_id, "--mobile", "07700 900 777")
    assert "mobile +447700900777 as verified (in person)" in out
    person = Person.objects.get(user_id=user_id)
    assert person.mobile == "+447700900777"
    assert person.mobile_verified_at is not None
    assert _last_event().action == "person.confirm_contact"
    with pytest.raises(CommandError, match="mobile"):
        cis("person", "confirm-contact", user_id, "--mobile", "12")
    with pytest.raises(CommandError):  # one of --email or --mobile
        cis("person", "confirm-contact", user_id)


def test_person_close_and_reopen(cis: Cis, directory: Directory) -> None:
    user_id = directory.verified.user_id
    assert "Closed the profile" in cis("person", "close", user_id, "--reason", "Left the NHS")
    assert Person.objects.get(user_id=user_id).status == PersonStatus.CLOSED
    assert "Active" in cis("person", "reopen", user_id)
    assert Person.objects.get(user_id=user_id).status == PersonStatus.ACTIVE


def test_position_add_and_list(cis: Cis, cis_json: CisJson, directory: Directory) -> None:
    created = cis_json(
        "position", "add", "--org", "FAB12", "--name", "Counter Assistant",
        "--roles", "R8008", "--activities", "B0570", "--assignable",
    )  # fmt: skip
    assert created["assignable"] is True
    assert created["job_roles"] == ["R8008"]
    assert "B0570" in created["activities"]
    assert "B0572" in created["activities"]  # the role's baseline comes with it
    listed = cis("position", "list", "--org", "FAB12")
    assert "Counter Assistant" in listed
    assert "assignable" in listed


def test_assignment_add_list_and_end(cis: Cis, cis_json: CisJson, directory: Directory) -> None:
    user_id = directory.verified.user_id
    created = cis_json(
        "assignment", "add", "--person", user_id,
        "--position-id", str(directory.pharmacist_post.pk), "--start", "2024-01-15",
    )  # fmt: skip
    assert created["start_date"] == "2024-01-15"
    assert created["end_date"] is None
    listed = cis("assignment", "list", "--person", user_id)
    assert "Pharmacist at Chain Branch (FAB12), from 2024-01-15" in listed
    out = cis("assignment", "end", str(created["id"]))
    assert f"to {clock.today()}" in out
    assert PositionAssignment.objects.get(pk=created["id"]).end_date == clock.today()


def test_right_grant_with_children_by_ra_and_national_then_revoke(
    cis: Cis, cis_json: CisJson, directory: Directory
) -> None:
    user_id = directory.verified.user_id
    sponsor = cis_json(
        "right", "grant", "--person", user_id, "--right", "sponsor", "--org", "PHQ01", "--children"
    )
    assert sponsor["include_children"] is True
    assert sponsor["scope"] == "Chain Head Office (PHQ01) and its child organisations"
    agent = cis_json("right", "grant", "--person", user_id, "--right", "ra_agent", "--ra", "RA-T")
    assert agent["ra"] == "RA-T"
    desk = cis("right", "grant", "--person", user_id, "--right", "service_desk")
    assert "Service desk (national): national" in desk
    assert len(cis_json("right", "list", "--person", user_id)) == 3
    out = cis("right", "revoke", str(agent["id"]), "--reason", "Moved on")
    assert "Revoked" in out
    assert RightGrant.objects.get(pk=agent["id"]).revoked_at is not None
    assert _last_event().action == "right.revoke"


def test_acting_as_a_person_without_a_right_is_refused(cis: Cis, directory: Directory) -> None:
    before = AuditEvent.objects.count()
    with pytest.raises(CommandError, match="You do not have a right that allows this"):
        cis(
            "org", "add", "--ods", "FZZ99", "--name", "Nope", "--type", "community_pharmacy",
            "--ra", "RA-T", "--as", directory.verified.user_id,
        )  # fmt: skip
    assert not Organisation.objects.filter(ods_code="FZZ99").exists()
    assert AuditEvent.objects.count() == before


def test_acting_as_an_ra_agent_is_audited_under_their_name(
    cis: Cis, cis_json: CisJson, directory: Directory
) -> None:
    right_grant(actor=CONSOLE, person=directory.verified, right="ra_agent", ra=directory.ra)
    agent = directory.verified.user_id
    cis_json(
        "assignment", "add", "--person", agent, "--position-id", str(directory.pharmacist_post.pk),
        "--start", str(clock.today() - dt.timedelta(days=10)),
    )  # fmt: skip
    target = directory.unverified.user_id
    cis("person", "verify", target, "--documents", "passport,council_tax,p60", "--as", agent)
    event = _last_event()
    assert event.actor_ref == agent
    assert event.rule.startswith("in-scope:ra_agent")
    assert Person.objects.get(user_id=target).identity_checks.get().checker == directory.verified
    with pytest.raises(CommandError, match="on their own record"):
        cis("person", "close", agent, "--reason", "test", "--as", agent)


def test_audit_verify_says_the_chain_is_intact(cis: Cis, directory: Directory) -> None:
    total = AuditEvent.objects.count()
    assert cis("audit", "verify").splitlines()[0] == f"Audit chain intact: {total} events"


def test_the_positions_created_by_the_cli_are_real_positions(
    cis: Cis, directory: Directory
) -> None:
    cis("position", "add", "--org", "B82005", "--name", "GP", "--roles", "R8000")
    position = Position.objects.get(organisation__ods_code="B82005", name="GP")
    assert list(position.job_roles.values_list("code", flat=True)) == ["R8000"]


def test_org_update_move_close_on_a_date_and_reopen(
    cis: Cis, cis_json: CisJson, directory: Directory
) -> None:
    out = cis("org", "update", "FAB12", "--name", "Chain Branch (Market St)", "--geography", "qwo")
    assert "Updated Chain Branch (Market St) (FAB12)" in out
    shown = cis_json("org", "show", "FAB12")
    assert shown["parent"] == "PHQ01"
    assert "on its own" in cis("org", "move", "FAB12", "--no-parent")
    assert "under Chain Head Office (PHQ01)" in cis("org", "move", "FAB12", "--parent", "PHQ01")
    cis("org", "close", "FAB12", "--on", "2026-01-31")
    assert Organisation.objects.get(ods_code="FAB12").closed_on == dt.date(2026, 1, 31)
    assert "Reopened" in cis("org", "reopen", "FAB12")
    with pytest.raises(CommandError, match="is not closed"):
        cis("org", "reopen", "FAB12")
    assert [e.action for e in AuditEvent.objects.filter(target_ref="FAB12")][-5:] == [
        "organisation.update",
        "organisation.move",
        "organisation.move",
        "organisation.close",
        "organisation.reopen",
    ]


def test_ra_contact_details_and_area(cis: Cis, cis_json: CisJson, directory: Directory) -> None:
    cis(
        "ra", "update", "RA-T", "--phone", "0113 496 0000", "--hours", "Weekdays 9 to 5",
        "--email", "ra.t@example.nhs.uk", "--geographies", "QWO,02T",
    )  # fmt: skip
    shown = cis_json("ra", "show", "RA-T")
    assert shown["phone"] == "0113 496 0000" and shown["geographies"] == ["02T", "QWO"]
    assert "Weekdays 9 to 5" in cis("ra", "show", "RA-T")
    with pytest.raises(CommandError, match="not a telephone number"):
        cis("ra", "update", "RA-T", "--phone", "ring us")
    with pytest.raises(CommandError, match="QWO already belongs"):
        cis("ra", "add", "--code", "RA-U", "--name", "Another", "--geographies", "QWO")
