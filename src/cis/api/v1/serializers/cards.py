"""Bodies of the smartcard endpoints (cis.api.v1.cards), described for the OpenAPI schema."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from rest_framework import serializers


class Base64Field(serializers.CharField):
    def to_internal_value(self, data: Any) -> bytes:  # type: ignore[override]  # bytes out
        text = super().to_internal_value(data)
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError("This is not base64.") from None


class HolderRef(serializers.Serializer[Any]):
    user_id = serializers.CharField()
    full_name = serializers.CharField()


class PasscodePolicyOut(serializers.Serializer[Any]):
    min_length = serializers.IntegerField()
    max_length = serializers.IntegerField()


class OperationOut(serializers.Serializer[Any]):
    operation = serializers.CharField(help_text="The operation's reference, for its next steps.")
    kind = serializers.CharField()
    chip_serial = serializers.CharField()
    holder = HolderRef()
    expires_at = serializers.DateTimeField()
    challenge = serializers.CharField(help_text="Renewal: sign it (with the CSR) with the old key.")
    so_pins = serializers.ListField(
        child=serializers.CharField(),
        help_text="SENSITIVE. The SO PINs the card may hold, most likely first; released only "
        "inside this authorised operation. Empty for a renewal.",
    )
    new_so_pin = serializers.CharField(
        allow_blank=True,
        help_text="SENSITIVE. The SO PIN to set on the card; CIS uses it once told it is set.",
    )
    secret = serializers.CharField(
        allow_blank=True, help_text="Self-unlock only: continues this operation without a sign-in."
    )
    lock_report_key = serializers.CharField(
        allow_blank=True,
        help_text="SENSITIVE. The card's own key for reporting itself locked (base64), for the "
        "agent to store on the card; blank when clearing a card.",
    )
    passcode_policy = PasscodePolicyOut()


class CertificateSummary(serializers.Serializer[Any]):
    serial = serializers.CharField()
    not_before = serializers.DateTimeField()
    not_after = serializers.DateTimeField()
    status = serializers.CharField(help_text="valid, revoked, superseded or expired.")
    renewal_opens = serializers.DateTimeField()
    installed = serializers.BooleanField()


class CardOut(serializers.Serializer[Any]):
    chip_serial = serializers.CharField()
    status = serializers.CharField(help_text="issued, active, locked, cancelled or cleared.")
    cancel_reason = serializers.CharField(allow_blank=True)
    holder = HolderRef()
    issued_at = serializers.DateTimeField()
    locked_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    so_pin_rotation_due = serializers.BooleanField()
    certificate = CertificateSummary(allow_null=True, help_text="The certificate it presents.")


class CertificateOut(serializers.Serializer[Any]):
    certificate_serial = serializers.CharField()
    certificate_pem = serializers.CharField()
    not_after = serializers.DateTimeField()


class HolderPresent(serializers.Serializer[Any]):
    holder_present = serializers.BooleanField(
        default=False,
        help_text="The operator confirms the holder is here and chooses the passcode themselves.",
    )


class IssueIn(HolderPresent):
    holder = serializers.CharField(help_text="The holder's 12-digit user id.")
    chip_serial = serializers.CharField(max_length=64)


class ReplaceIn(HolderPresent):
    new_chip_serial = serializers.CharField(max_length=64)
    reason = serializers.ChoiceField(choices=["lost", "stolen", "damaged", "left", "faulty"])


class ReasonIn(serializers.Serializer[Any]):
    reason = serializers.CharField(help_text="lost, stolen, damaged, left or faulty.")


class CodeIn(serializers.Serializer[Any]):
    certificate = Base64Field(help_text="The certificate on the card, DER, base64.")
    channel = serializers.ChoiceField(
        choices=["email", "mobile"],
        default="",
        allow_blank=True,
        help_text="Where to send the code; blank: mobile if verified, else email.",
    )


class CodeOut(serializers.Serializer[Any]):
    sent_to = serializers.CharField(help_text="Where the code went, partly hidden.")
    channel = serializers.CharField()
    expires_at = serializers.DateTimeField()


class VerifyIn(serializers.Serializer[Any]):
    certificate = Base64Field(help_text="The certificate on the card, DER, base64.")
    code = serializers.CharField(max_length=12)


class CertificateRequestIn(serializers.Serializer[Any]):
    chip_serial = serializers.CharField(max_length=64)
    csr = serializers.CharField(help_text="PKCS#10, PEM, signed on the card by the new key.")
    renewal_proof = Base64Field(
        required=False,
        help_text="Renewal: ECDSA signature by the OLD key over the renewal message (base64).",
    )
    secret = serializers.CharField(required=False, default="", allow_blank=True)


class CompleteIn(serializers.Serializer[Any]):
    chip_serial = serializers.CharField(max_length=64)
    certificate_serial = serializers.CharField(required=False, default="", allow_blank=True)
    so_pin_rotated = serializers.BooleanField(default=False)
    secret = serializers.CharField(required=False, default="", allow_blank=True)


class ChallengeOut(serializers.Serializer[Any]):
    challenge = serializers.CharField()
    expires_at = serializers.DateTimeField()


class SignInIn(serializers.Serializer[Any]):
    chip_serial = serializers.CharField(max_length=64)
    certificate = Base64Field()
    challenge = serializers.CharField(max_length=64)
    signature = Base64Field()


class SignInOut(serializers.Serializer[Any]):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()
    person = HolderRef()


class LockReportIn(serializers.Serializer[Any]):
    challenge = serializers.CharField(max_length=64, help_text="From POST agent/challenge/.")
    mac = Base64Field(
        help_text="HMAC-SHA256 by the card's lock-report key over "
        "`CIS lock report v1\\0<challenge>\\0<chip serial>` (base64)."
    )


class LockReportOut(serializers.Serializer[Any]):
    chip_serial = serializers.CharField()
    status = serializers.CharField()
    locked_at = serializers.DateTimeField(allow_null=True)


class ExpiringOut(serializers.Serializer[Any]):
    card = CardOut()
    expires = serializers.DateTimeField()
    expired = serializers.BooleanField()
