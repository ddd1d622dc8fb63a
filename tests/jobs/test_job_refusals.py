"""A refusal inside a scheduled job is audited, like one in a request, not only logged."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from cis.audit import refusals
from cis.audit.models import AuditEvent
from cis.audit.verify import verify
from cis.imports.models import ImportKind, ImportRun, ImportStatus
from tests.factories.directory import PersonFactory

pytestmark = pytest.mark.django_db


def test_a_queued_import_whose_submitter_has_no_right_is_refused_and_audited() -> None:
    # Queued by someone who (by the time the job runs) holds no right to import.
    submitter = PersonFactory()
    run = ImportRun.objects.create(
        kind=ImportKind.ODS,
        filename="ods.csv",
        content="ODS,Name\n",
        digest="0" * 64,
        submitted_by=submitter,
        submitted_by_name=submitter.full_name,
    )
    out = io.StringIO()
    call_command("jobs", "run", "--only", "run-imports", stdout=out, stderr=io.StringIO())
    assert "run-imports: " in out.getvalue()

    run.refresh_from_db()
    assert run.status == ImportStatus.FAILED
    event = AuditEvent.objects.get(action=refusals.ACCESS_REFUSED)
    assert event.actor_ref == submitter.user_id
    assert event.after["refused"] == "import.run"
    assert event.after["reason"]
    assert event.channel == "job"
    assert event.rule == "refused"
    assert verify().intact


def test_refusals_inside_jobs_cannot_flood_the_trail(settings: object) -> None:
    settings.CIS_REFUSALS_RECORDED_PER_MINUTE = 2  # type: ignore[attr-defined]
    submitter = PersonFactory()
    for number in range(6):
        ImportRun.objects.create(
            kind=ImportKind.ODS,
            filename=f"ods-{number}.csv",
            content="ODS,Name\n",
            digest=f"{number}" * 64,
            submitted_by=submitter,
        )
    call_command("jobs", "run", "--only", "run-imports", stdout=io.StringIO(), stderr=io.StringIO())

    assert ImportRun.objects.filter(status=ImportStatus.FAILED).count() == 6
    rules = list(
        AuditEvent.objects.filter(action=refusals.ACCESS_REFUSED)
        .order_by("id")
        .values_list("rule", flat=True)
    )
    assert rules == ["refused", "refused", "rate-limit:summary"]
