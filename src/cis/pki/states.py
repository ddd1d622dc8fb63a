"""Certificate statuses and the revocation reasons CIS allows (CA/Browser Forum BR §7.2.2)."""

from __future__ import annotations

from cryptography import x509
from django.db import models

from cis.core.errors import ValidationFailed


class CertificateStatus(models.TextChoices):
    VALID = "valid", "Valid"
    REVOKED = "revoked", "Revoked"
    SUPERSEDED = "superseded", "Superseded"


# Not stored: a valid certificate past its notAfter is shown as expired.
EXPIRED = "expired"
STATUS_LABELS = {**dict(CertificateStatus.choices), EXPIRED: "Expired"}


class RevocationReason(models.TextChoices):
    UNSPECIFIED = "unspecified", "Unspecified"
    KEY_COMPROMISE = "key_compromise", "Key compromise"
    AFFILIATION_CHANGED = "affiliation_changed", "Affiliation changed"
    SUPERSEDED = "superseded", "Superseded"
    CESSATION_OF_OPERATION = "cessation_of_operation", "Cessation of operation"
    PRIVILEGE_WITHDRAWN = "privilege_withdrawn", "Privilege withdrawn"


# The CRL reasonCode / OCSP revocationReason for each reason; unspecified is omitted (BR 7.2.2).
REASON_FLAGS: dict[str, x509.ReasonFlags | None] = {
    RevocationReason.UNSPECIFIED: None,
    RevocationReason.KEY_COMPROMISE: x509.ReasonFlags.key_compromise,
    RevocationReason.AFFILIATION_CHANGED: x509.ReasonFlags.affiliation_changed,
    RevocationReason.SUPERSEDED: x509.ReasonFlags.superseded,
    RevocationReason.CESSATION_OF_OPERATION: x509.ReasonFlags.cessation_of_operation,
    RevocationReason.PRIVILEGE_WITHDRAWN: x509.ReasonFlags.privilege_withdrawn,
}

# RFC 5280 names, as operators type them on the command line.
_RFC_NAMES = {
    "unspecified": RevocationReason.UNSPECIFIED,
    "omitted": RevocationReason.UNSPECIFIED,
    "keycompromise": RevocationReason.KEY_COMPROMISE,
    "affiliationchanged": RevocationReason.AFFILIATION_CHANGED,
    "superseded": RevocationReason.SUPERSEDED,
    "cessationofoperation": RevocationReason.CESSATION_OF_OPERATION,
    "privilegewithdrawn": RevocationReason.PRIVILEGE_WITHDRAWN,
}
_NEVER = {
    "certificatehold": "CIS never suspends a certificate (certificateHold); revoke it for good",
    "removefromcrl": "removeFromCRL belongs to certificateHold, which CIS never uses",
    "cacompromise": "caCompromise is for CA certificates, not smartcard certificates",
    "aacompromise": "aACompromise is for attribute authorities, not smartcard certificates",
}


def parse_reason(value: str) -> RevocationReason:
    """A reason from its stored name (key_compromise) or its RFC 5280 name (keyCompromise)."""
    key = value.strip().replace("_", "").replace("-", "").replace(" ", "").lower()
    if key in _NEVER:
        raise ValidationFailed(f"{_NEVER[key]}.", field="reason")
    if key in _RFC_NAMES:
        return _RFC_NAMES[key]
    allowed = ", ".join(
        ["unspecified", "keyCompromise", "affiliationChanged", "superseded"]
        + ["cessationOfOperation", "privilegeWithdrawn"]
    )
    raise ValidationFailed(
        f"'{value}' is not a revocation reason CIS allows. Use one of: {allowed}.", field="reason"
    )
