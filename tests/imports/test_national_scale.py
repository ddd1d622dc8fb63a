"""ODS files of 100,000 rows, generated here: created once and unchanged the second time, and
nothing at all when one row is bad or when the file fails half way through being applied.

They run on SQLite and on PostgreSQL (where the rows go in by COPY), in CI as everywhere; each
imports the whole file, which takes tens of seconds on a 2-core machine (`-m "not national_scale"`
leaves them out of a quick local run). How fast is measured in `bench/imports.py`, not here.
"""

from __future__ import annotations

import pytest

from cis.audit.models import AuditEvent
from cis.authz.policy import CONSOLE
from cis.imports.report import Outcome
from cis.imports.services import import_file
from cis.organisations.models import Organisation, RegistrationAuthority
from tests.factories.directory import RegistrationAuthorityFactory

pytestmark = [pytest.mark.django_db, pytest.mark.national_scale]

ROWS = 100_000


def practices(count: int = ROWS, *, bad_line: int = 0) -> bytes:
    """GP practices in ODS's epraccur layout (27 columns, no header), clearly synthetic; the
    row on `bad_line`, if any, has a code that is no GP practice's."""
    lines = []
    for n in range(count):
        code = "QQ" if n + 1 == bad_line else f"Y{n:05d}"
        cells = [""] * 27
        cells[0], cells[1], cells[2], cells[3] = code, f"SYNTHETIC PRACTICE {n}", "YBE", "QBE"
        cells[4], cells[9], cells[10], cells[12] = f"{n} TEST STREET", "ZZ99 9ZZ", "20200101", "A"
        lines.append(",".join(cells))
    return ("\r\n".join(lines) + "\r\n").encode()


@pytest.fixture
def ra(db: None) -> RegistrationAuthority:
    return RegistrationAuthorityFactory(code="RA-BIG", name="National RA", geographies=["QBE"])


def _import(data: bytes) -> Outcome:
    return import_file(actor=CONSOLE, kind="ods", data=data, filename="epraccur.csv")


def test_a_100k_row_file_is_created_once_and_changes_nothing_the_second_time(
    ra: RegistrationAuthority,
) -> None:
    data = practices()
    first = _import(data)
    assert first.applied and not first.rejected
    assert dict(first.counts) == {"created": ROWS}
    assert Organisation.objects.filter(serving_ra=ra).count() == ROWS
    last = Organisation.objects.get(ods_code=f"Y{ROWS - 1:05d}")
    assert (last.name, last.org_type, last.status) == (
        f"SYNTHETIC PRACTICE {ROWS - 1}",
        "gp_practice",
        "open",
    )
    assert last.created_at is not None and last.updated_at is not None
    created = AuditEvent.objects.filter(action="organisation.create")
    assert created.count() == ROWS
    assert created.filter(target_ref=last.ods_code).get().after["serving_ra"] == "RA-BIG"
    events = AuditEvent.objects.count()
    again = _import(data)
    assert again.applied and again.changed == 0
    assert dict(again.counts) == {"unchanged": ROWS}
    assert AuditEvent.objects.count() == events


def test_one_bad_row_in_100k_changes_nothing_and_is_reported_by_line(
    ra: RegistrationAuthority,
) -> None:
    outcome = _import(practices(bad_line=ROWS - 1))
    assert not outcome.applied
    assert [(r.line, r.field) for r in outcome.rejected] == [(ROWS - 1, "Organisation Code")]
    assert outcome.rejected[0].reason
    assert not Organisation.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_file_that_fails_while_being_applied_leaves_nothing_behind(
    ra: RegistrationAuthority, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every row is good, the organisations are already in, and then the audit trail fails."""

    def fail(**kwargs: object) -> int:
        assert Organisation.objects.count() == ROWS  # the rows were written before the failure
        raise RuntimeError("the audit trail cannot be written")

    monkeypatch.setattr("cis.imports.ods.record_many", fail)
    with pytest.raises(RuntimeError):
        _import(practices())
    assert not Organisation.objects.exists()
    assert not AuditEvent.objects.exists()
    monkeypatch.undo()
    assert _import(practices(1_000)).counts["created"] == 1_000
