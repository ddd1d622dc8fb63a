"""ODS imports: the shipped samples, idempotence, all-or-nothing, and every kind of bad row."""

from __future__ import annotations

import datetime as dt

import pytest

from cis.audit.models import AuditEvent
from cis.audit.verify import verify
from cis.authz.policy import CONSOLE
from cis.core.errors import NotPermitted, ValidationFailed
from cis.imports.ods import COLUMNS
from cis.imports.services import import_file
from cis.organisations.models import Organisation, OrganisationStatus, RegistrationAuthority
from cis.people.models import Person
from tests.factories.directory import OrganisationFactory, PersonFactory, RightGrantFactory

from .conftest import ODS_ORDER, sample

pytestmark = pytest.mark.django_db


def _ods(data: bytes, name: str, *, actor: object = CONSOLE, **kw: object) -> object:
    return import_file(actor=actor, kind="ods", data=data, filename=f"{name}.csv", **kw)


def _line(
    code: str,
    name: str = "SYNTHETIC PLACE",
    *,
    parent: str = "",
    close: str = "",
    status: str = "",
    geography: str = "QZZ",
) -> str:
    cells = [""] * len(COLUMNS)
    cells[0], cells[1], cells[3], cells[4], cells[9] = code, name, geography, "1 ROAD", "ZZ99 9ZZ"
    cells[10], cells[11], cells[12], cells[14] = "20200101", close, status, parent
    return ",".join(cells) + "\n"


def test_the_samples_build_the_hierarchy_and_a_second_run_changes_nothing(
    area_ra: RegistrationAuthority, desk: Person
) -> None:
    for name in ODS_ORDER:
        outcome = _ods(sample(name), name, actor=desk)
        assert outcome.applied, outcome.rejected
    branch = Organisation.objects.get(ods_code="FZZ01")
    assert branch.parent.ods_code == "ZZH01" and branch.serving_ra == area_ra
    assert branch.org_type == "community_pharmacy"
    assert Organisation.objects.get(ods_code="RZZ02").parent.ods_code == "RZZ"
    assert Organisation.objects.get(ods_code="Y99001").address.startswith("1 MEADOW LANE")
    # A practice ODS lists as closed, that CIS never knew, is not created.
    assert not Organisation.objects.filter(ods_code="Y99003").exists()
    created = AuditEvent.objects.filter(action="organisation.create")
    assert created.count() == 9
    assert created.filter(actor_ref=desk.user_id).count() == 9
    events = AuditEvent.objects.count()
    for name in ODS_ORDER:
        again = _ods(sample(name), name, actor=desk)
        assert again.applied and again.changed == 0
    assert AuditEvent.objects.count() == events
    assert verify().intact, verify().problem


def test_updates_closes_reopens_and_moves(area_ra: RegistrationAuthority) -> None:
    for name in ("epharmacyhq", "edispensary"):
        _ods(sample(name), name)
    other_hq = OrganisationFactory(
        ods_code="ZZH02", org_type="pharmacy_head_office", serving_ra=area_ra
    )
    text = (
        _line("FZZ01", "SYNTHETIC PHARMACY HIGH STREET RENAMED", parent="ZZH01")
        + _line("FZZ02", "SYNTHETIC PHARMACY STATION ROAD", parent="ZZH02")
        + _line("FZZ03", "SYNTHETIC INDEPENDENT CHEMIST", close="20260101")
    )
    outcome = _ods(text.encode(), "edispensary")
    assert outcome.applied
    # The addresses differ from the samples too, so all three are updated.
    assert dict(outcome.counts) == {"updated": 3, "moved": 1, "closed": 1}
    assert Organisation.objects.get(ods_code="FZZ01").name.endswith("RENAMED")
    assert Organisation.objects.get(ods_code="FZZ02").parent == other_hq
    closed = Organisation.objects.get(ods_code="FZZ03")
    assert closed.status == OrganisationStatus.CLOSED and closed.closed_on == dt.date(2026, 1, 1)
    moved = AuditEvent.objects.get(action="organisation.move", target_ref="FZZ02")
    assert moved.before["parent"] == "ZZH01" and moved.after["parent"] == "ZZH02"
    reopened = _ods(_line("FZZ03", "SYNTHETIC INDEPENDENT CHEMIST").encode(), "edispensary")
    assert reopened.counts["reopened"] == 1
    assert Organisation.objects.get(ods_code="FZZ03").is_open


def test_one_bad_row_rejects_the_file_and_reports_every_bad_row(
    area_ra: RegistrationAuthority,
) -> None:
    _ods(sample("epharmacyhq"), "epharmacyhq")
    text = (
        _line("FZZ01", parent="ZZH01")  # good
        + _line("QQQ01")  # not a pharmacy code
        + _line("FZZ04", "")  # no name
        + _line("FZZ05", parent="ZZH09")  # unknown parent
        + _line("FZZ06", close="2026-01-01")  # a date not in ODS form
        + _line("FZZ01", parent="ZZH01")  # the same code twice
        + _line("FZZ07", geography="QXX")  # no RA serves the area
        + "FZZ08,TOO SHORT\n"
    )
    before = (Organisation.objects.count(), AuditEvent.objects.count())
    outcome = _ods(text.encode(), "edispensary")
    assert not outcome.applied
    report = {(r.line, r.field) for r in outcome.rejected}
    assert report == {
        (2, "Organisation Code"),
        (3, "Name"),
        (4, "Parent Organisation Code"),
        (5, "Close Date"),
        (6, "Organisation Code"),
        (7, "High Level Health Geography"),
        (8, "row"),
    }
    assert all(r.reason for r in outcome.rejected)
    assert (Organisation.objects.count(), AuditEvent.objects.count()) == before


def test_partial_imports_the_good_rows_and_reports_the_rest(
    area_ra: RegistrationAuthority,
) -> None:
    text = _line("FZZ01") + _line("BAD!!") + _line("FZZ02")
    outcome = _ods(text.encode(), "edispensary", partial=True)
    assert outcome.applied and outcome.counts["created"] == 2
    assert [(r.line, r.field) for r in outcome.rejected] == [(2, "Organisation Code")]


def test_a_default_ra_serves_organisations_outside_every_area(
    area_ra: RegistrationAuthority,
) -> None:
    elsewhere = RegistrationAuthority.objects.create(code="RAELSE", name="Elsewhere RA")
    outcome = _ods(_line("FZZ09", geography="QXX").encode(), "edispensary", default_ra=elsewhere)
    assert outcome.applied
    assert Organisation.objects.get(ods_code="FZZ09").serving_ra == elsewhere


def test_a_parent_with_open_children_is_not_closed(area_ra: RegistrationAuthority) -> None:
    for name in ("etr", "ets"):
        _ods(sample(name), name)
    outcome = _ods(_line("RZZ", close="20260101").encode(), "etr")
    assert not outcome.applied
    assert outcome.rejected[0].field == "Close Date" and "RZZ01" in outcome.rejected[0].reason


def test_only_the_service_desk_may_import(area_ra: RegistrationAuthority) -> None:
    manager = PersonFactory()
    RightGrantFactory(person=manager, right="ra_manager", ra=area_ra)
    with pytest.raises(NotPermitted):
        _ods(sample("etr"), "etr", actor=manager)
    assert not Organisation.objects.filter(ods_code="RZZ").exists()


def test_an_unknown_file_must_say_its_layout(area_ra: RegistrationAuthority) -> None:
    with pytest.raises(ValidationFailed, match="Say which ODS file"):
        _ods(sample("etr"), "organisations")
    assert _ods(sample("etr"), "organisations", layout="etr").applied
