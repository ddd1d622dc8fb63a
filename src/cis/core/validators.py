"""Shapes of identifiers and contact details, checked the same way by every interface."""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email as django_validate_email

from .errors import ValidationFailed

USER_ID_RE = re.compile(r"^[0-9]{12}$")
ODS_GENERAL_RE = re.compile(r"^[A-Z0-9]{3,6}$")
ODS_BY_TYPE = {
    "community_pharmacy": (
        re.compile(r"^F[A-Z0-9]{4}$"),
        "five characters starting with F, e.g. FLM49",
    ),
    "gp_practice": (re.compile(r"^[A-Z][0-9]{5}$"), "a letter and five digits, e.g. A81001"),
    "nhs_trust": (re.compile(r"^R[A-Z0-9]{2}$"), "three characters starting with R, e.g. RRK"),
    "nhs_trust_site": (
        re.compile(r"^R[A-Z0-9]{4}$"),
        "the trust's three characters and two more, e.g. RRK02",
    ),
}
UK_MOBILE_RE = re.compile(r"^(?:\+447|07)[0-9]{9}$")


def normalise_user_id(value: str) -> str:
    cleaned = value.strip().replace(" ", "")
    if not USER_ID_RE.fullmatch(cleaned):
        raise ValidationFailed(
            "Enter a user id in the correct format: it must be exactly 12 digits", field="user_id"
        )
    return cleaned


def normalise_ods_code(value: str, org_type: str | None = None) -> str:
    cleaned = value.strip().upper()
    if not ODS_GENERAL_RE.fullmatch(cleaned):
        raise ValidationFailed(
            "Enter an ODS code in the correct format: 3 to 6 letters and digits", field="ods_code"
        )
    if org_type in ODS_BY_TYPE:
        pattern, shape = ODS_BY_TYPE[org_type]
        if not pattern.fullmatch(cleaned):
            raise ValidationFailed(
                f"Enter an ODS code in the correct format for this type of organisation: {shape}",
                field="ods_code",
            )
    return cleaned


def normalise_email(value: str) -> str:
    cleaned = value.strip()
    try:
        django_validate_email(cleaned)
    except DjangoValidationError:
        raise ValidationFailed(
            "Enter an email address in the correct format, like name@example.com", field="email"
        ) from None
    local, _, domain = cleaned.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalise_mobile(value: str) -> str:
    cleaned = re.sub(r"[\s()-]", "", value)
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    if not UK_MOBILE_RE.fullmatch(cleaned):
        raise ValidationFailed(
            "Enter a UK mobile number in the correct format, like 07700 900 982",
            field="mobile",
        )
    return "+44" + cleaned[-10:]


def check_date_of_birth(value: dt.date, today: dt.date) -> dt.date:
    if value > today:
        raise ValidationFailed("Date of birth must be in the past", field="date_of_birth")
    if value.year < 1900:
        raise ValidationFailed("Date of birth must be after 1900", field="date_of_birth")
    return value


def check_date_range(start: dt.date, end: dt.date | None) -> None:
    if end is not None and end < start:
        raise ValidationFailed(
            "End date must be the same as or after the start date", field="end_date"
        )
