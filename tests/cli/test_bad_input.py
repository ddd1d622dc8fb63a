"""Bad input at the command line: a clear one-line refusal, and nothing changed (issue 2)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from cis.authz.policy import CONSOLE
from cis.core import clock
from cis.organisations.services import organisation_close
from cis.people.models import Person

from .conftest import Cis, Directory, counts

pytestmark = pytest.mark.django_db


def _refused(cis: Cis, *args: str, match: str) -> str:
    """Run a command that must be refused; check the message and that no row or event changed."""
    before = counts()
    with pytest.raises(CommandError) as refusal:
        cis(*args)
    message = str(refusal.value)
    assert match in message
    assert "\n" not in message.strip(), "the refusal must be one line"
    assert counts() == before
    return message


def _person_add(*extra: str) -> tuple[str, ...]:
    return (
        "person", "add", "--given", "Ruth", "--family", "Ellis", "--dob", "1979-05-06",
        "--ra", "RA-T", *extra,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("ods", "org_type", "match"),
    [
        (
            "FLM4",
            "community_pharmacy",
            "Enter an ODS code in the correct format for this type of organisation",
        ),
        ("XLM49", "community_pharmacy", "five characters starting with F"),
        ("A8100", "gp_practice", "a letter and five digits"),
        ("RR", "nhs_trust", "Enter an ODS code in the correct format"),
        ("F-M49", "community_pharmacy", "Enter an ODS code in the correct format"),
    ],
)
def test_a_malformed_ods_code(
    cis: Cis, directory: Directory, ods: str, org_type: str, match: str
) -> None:
    _refused(
        cis, "org", "add", "--ods", ods, "--name", "X", "--type", org_type, "--ra", "RA-T",
        match=match,
    )  # fmt: skip


@pytest.mark.parametrize("user_id", ["12345", "1234567890123", "12345678901a"])
def test_a_malformed_user_id(cis: Cis, directory: Directory, user_id: str) -> None:
    _refused(cis, "person", "show", user_id, match="must be exactly 12 digits")
    _refused(
        cis, "person", "verify", user_id, "--documents", "passport,utility_bill,p60",
        match="must be exactly 12 digits",
    )  # fmt: skip
    _refused(
        cis, "assignment", "add", "--person", user_id,
        "--position-id", str(directory.pharmacist_post.pk), match="must be exactly 12 digits",
    )  # fmt: skip


def test_an_unknown_user_id(cis: Cis, directory: Directory) -> None:
    _refused(cis, "person", "show", "999999999999", match="No such person")


@pytest.mark.parametrize("email", ["not-an-email", "ruth@", "ruth@example..uk"])
def test_a_malformed_email(cis: Cis, directory: Directory, email: str) -> None:
    _refused(
        cis, *_person_add("--email", email), match="Enter an email address in the correct format"
    )


@pytest.mark.parametrize("mobile", ["0161 496 0000", "07700 90012", "+33 6 12 34 56 78"])
def test_a_malformed_mobile(cis: Cis, directory: Directory, mobile: str) -> None:
    _refused(
        cis,
        *_person_add("--mobile", mobile),
        match="Enter a UK mobile number in the correct format",
    )


def test_a_date_of_birth_in_the_future(cis: Cis, directory: Directory) -> None:
    tomorrow = (clock.today() + dt.timedelta(days=1)).isoformat()
    _refused(
        cis, "person", "add", "--given", "Ruth", "--family", "Ellis", "--dob", tomorrow,
        "--ra", "RA-T", match="Date of birth must be in the past",
    )  # fmt: skip


def test_a_date_that_is_not_a_date(cis: Cis, directory: Directory) -> None:
    _refused(
        cis, "person", "add", "--given", "Ruth", "--family", "Ellis", "--dob", "1979-13-01",
        "--ra", "RA-T", match="'1979-13-01' is not a date: use YYYY-MM-DD",
    )  # fmt: skip


def test_an_end_date_before_its_start(cis: Cis, directory: Directory) -> None:
    _refused(
        cis, "assignment", "add", "--person", directory.verified.user_id,
        "--position-id", str(directory.pharmacist_post.pk),
        "--start", "2025-06-01", "--end", "2025-05-31",
        match="End date must be the same as or after the start date",
    )  # fmt: skip
    _refused(
        cis, "right", "grant", "--person", directory.verified.user_id, "--right", "lsa",
        "--org", "FAB12", "--start", "2025-06-01", "--end", "2025-05-01",
        match="End date must be the same as or after the start date",
    )  # fmt: skip


def test_a_position_at_a_closed_organisation(cis: Cis, directory: Directory) -> None:
    organisation_close(actor=CONSOLE, organisation=directory.gp)
    _refused(
        cis, "position", "add", "--org", "B82005", "--name", "GP", "--roles", "R8000",
        match="is closed, so it cannot have new positions",
    )  # fmt: skip


def test_assigning_a_position_at_a_closed_organisation(cis: Cis, directory: Directory) -> None:
    organisation_close(actor=CONSOLE, organisation=directory.branch)
    _refused(
        cis, "assignment", "add", "--person", directory.verified.user_id,
        "--position-id", str(directory.pharmacist_post.pk),
        match="is closed: its positions cannot be assigned",
    )  # fmt: skip


def test_a_probable_duplicate_person_then_acknowledged(cis: Cis, directory: Directory) -> None:
    existing = directory.verified  # Nadia Karim, 1985-03-01
    message = _refused(
        cis, "person", "add", "--given", "nadia", "--family", "KARIM", "--dob", "1985-03-01",
        "--ra", "RA-T", match="This may be someone CIS already knows",
    )  # fmt: skip
    assert existing.user_id in message
    assert f"--ack-duplicate {existing.user_id}" in message
    out = cis(
        "person", "add", "--given", "Nadia", "--family", "Karim", "--dob", "1985-03-01",
        "--ra", "RA-T", "--ack-duplicate", existing.user_id,
    )  # fmt: skip
    assert "Created Nadia Karim" in out
    assert Person.objects.filter(family_name="Karim").count() == 2


def test_unknown_references_are_named(cis: Cis, directory: Directory) -> None:
    _refused(cis, *_person_add()[:-2], "--ra", "RA-NOPE", match="No active Registration Authority")
    _refused(cis, "org", "show", "FXX99", match="No organisation with ODS code FXX99")
    _refused(
        cis, "position", "add", "--org", "FAB12", "--name", "Odd", "--roles", "R0000",
        match="Not in the catalogue: R0000",
    )  # fmt: skip
    _refused(
        cis, "assignment", "add", "--person", directory.verified.user_id, "--position-id", "9999",
        match="No position #9999",
    )  # fmt: skip
    _refused(cis, "right", "revoke", "9999", match="No right #9999")
    _refused(cis, "assignment", "end", "9999", match="No assignment #9999")


def test_rules_the_services_enforce_reach_the_command_line(cis: Cis, directory: Directory) -> None:
    unverified = directory.unverified.user_id
    _refused(
        cis, "assignment", "add", "--person", unverified,
        "--position-id", str(directory.pharmacist_post.pk),
        match="identity has not been verified",
    )  # fmt: skip
    _refused(
        cis, "right", "grant", "--person", unverified, "--right", "lsa", "--org", "FAB12",
        match="must be verified before a right",
    )  # fmt: skip
    _refused(
        cis, "person", "verify", unverified, "--documents", "passport,utility_bill",
        match="Record three different documents",
    )  # fmt: skip
    _refused(
        cis, "person", "verify", unverified, "--documents", "passport,tarot_card,p60",
        match="Document types: passport",
    )  # fmt: skip
    _refused(
        cis, "right", "grant", "--person", unverified, "--right", "lsa", "--children",
        match="--children extends an organisation's scope",
    )  # fmt: skip
    _refused(cis, "org", "close", "PHQ01", match="Close its child organisations first: FAB12")
    _refused(cis, "person", "reopen", unverified, match="is not closed")


def test_a_bad_catalogue_file_changes_nothing(
    cis: Cis, directory: Directory, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    _refused(cis, "rbac", "load", "--file", str(bad), match="not valid JSON")
    _refused(
        cis, "rbac", "load", "--file", str(bad.with_name("missing.json")), match="No catalogue"
    )


def test_argument_errors_are_refused_before_anything_runs(cis: Cis, directory: Directory) -> None:
    _refused(
        cis, "org", "add", "--ods", "FAB13", "--name", "X", "--type", "castle", "--ra", "RA-T",
        match="invalid choice: 'castle'",
    )  # fmt: skip
    _refused(cis, "person", "add", "--given", "Only", match="the following arguments are required")
    _refused(
        cis, "right", "grant", "--person", directory.verified.user_id, "--right", "lsa",
        "--org", "FAB12", "--ra", "RA-T", match="not allowed with argument",
    )  # fmt: skip
