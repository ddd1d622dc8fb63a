"""People as the API shows them, and the bodies that create, change, check, close, reopen them."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from rest_framework import serializers

from cis.core.errors import ValidationFailed
from cis.core.validators import normalise_email, normalise_mobile
from cis.people.models import AssuranceLevel, ContactChannel, PersonKind, PersonStatus
from cis.people.services import DOCUMENT_TYPES

from .fields import EmailAddressField, MobileField
from .refs import PersonRefSerializer, RegistrationAuthorityRefSerializer

REQUEST_REF_HELP = (
    "The approved request this change applied, if any: set by CIS when it applies the request, "
    "never sent by a caller."
)


class PersonSummarySerializer(serializers.Serializer[Any]):
    user_id = serializers.CharField(help_text="The 12-digit CIS user id.")
    given_name = serializers.CharField(help_text="Legal given name(s).")
    family_name = serializers.CharField(help_text="Legal family name.")
    full_name = serializers.CharField(help_text="Given and family name together.")
    status = serializers.ChoiceField(
        choices=PersonStatus.choices,
        help_text="active; restricted (identity not yet verified); closed.",
    )
    kind = serializers.ChoiceField(
        choices=PersonKind.choices, help_text="A person, a robotic process, or temporary access."
    )
    assurance_level = serializers.ChoiceField(
        choices=AssuranceLevel.choices,
        help_text="Identity assurance: 0 not verified, 1 low, 2 medium, 3 high (face to face).",
    )


class PersonDetailSerializer(PersonSummarySerializer):
    date_of_birth = serializers.DateField(allow_null=True, help_text="Date of birth.")
    access_ends_on = serializers.DateField(
        allow_null=True, help_text="RPA and temporary access: the last day it may act."
    )
    email = serializers.CharField(help_text="Contact email address ('' if none).")
    email_verified_at = serializers.DateTimeField(
        allow_null=True, help_text="When the email was proven with a one-time code."
    )
    mobile = serializers.CharField(help_text="Contact mobile, +447xxxxxxxxx ('' if none).")
    mobile_verified_at = serializers.DateTimeField(
        allow_null=True, help_text="When the mobile was proven with a one-time code."
    )
    professional_body = serializers.CharField(
        help_text="Professional regulator, e.g. GPhC ('' if none)."
    )
    professional_number = serializers.CharField(
        help_text="Registration number with that body ('' if none)."
    )
    registered_ra = RegistrationAuthorityRefSerializer(
        allow_null=True, help_text="The Registration Authority that registered this person."
    )
    closed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the profile was closed, if it is."
    )
    created_at = serializers.DateTimeField(help_text="When the profile was created.")
    updated_at = serializers.DateTimeField(help_text="When the profile last changed.")


class PersonCreateSerializer(serializers.Serializer[Any]):
    given_name = serializers.CharField(max_length=100, help_text="Legal given name(s).")
    family_name = serializers.CharField(max_length=100, help_text="Legal family name.")
    date_of_birth = serializers.DateField(help_text="Date of birth; not in the future.")
    registered_ra = serializers.CharField(
        max_length=16, help_text="Code of the Registration Authority registering the person."
    )
    email = EmailAddressField(
        required=False, allow_blank=True, help_text="Contact email; verified before it is used."
    )
    mobile = MobileField(
        required=False, allow_blank=True, help_text="UK mobile; verified before it is used."
    )
    professional_body = serializers.CharField(
        default="", allow_blank=True, max_length=60, help_text="Professional regulator, if any."
    )
    professional_number = serializers.CharField(
        default="", allow_blank=True, max_length=30, help_text="Registration number, if any."
    )
    kind = serializers.ChoiceField(
        choices=PersonKind.choices, default=PersonKind.PERSON, help_text="The kind of identity."
    )
    access_ends_on = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="RPA (at most 365 days ahead) and temporary access (90): required; the last "
        "day the profile may act.",
    )
    acknowledged_duplicates = serializers.ListField(
        child=serializers.RegexField(
            r"^([0-9]{12}|outside-scope)$",
            error_messages={"invalid": "Enter a user id of 12 digits, or outside-scope."},
        ),
        default=list,
        help_text=(
            "User ids of probable duplicates (from an earlier 409 probable_duplicate) that the "
            "caller has checked and confirmed are different people; 'outside-scope' for a "
            "possible duplicate among people the caller may not see (the RA checks it)."
        ),
    )


class PersonUpdateSerializer(serializers.Serializer[Any]):
    """Only the fields sent are changed."""

    given_name = serializers.CharField(required=False, max_length=100, help_text="Given name(s).")
    family_name = serializers.CharField(required=False, max_length=100, help_text="Family name.")
    date_of_birth = serializers.DateField(
        required=False, help_text="Date of birth; not in the future."
    )
    professional_body = serializers.CharField(
        required=False, allow_blank=True, max_length=60, help_text="Professional regulator."
    )
    professional_number = serializers.CharField(
        required=False, allow_blank=True, max_length=30, help_text="Registration number."
    )


class IdentityCheckCreateSerializer(serializers.Serializer[Any]):
    document_types = serializers.ListField(
        child=serializers.ChoiceField(choices=[(k, v[0]) for k, v in DOCUMENT_TYPES.items()]),
        help_text=(
            "The types of the documents seen, never their numbers: three different ones, at "
            "least one with a photo and one proving the address."
        ),
    )
    checked_on = serializers.DateField(
        required=False, help_text="The day of the face-to-face check (default today)."
    )
    notes = serializers.CharField(
        default="", allow_blank=True, max_length=500, help_text="Anything the checker noted."
    )
    photo = serializers.CharField(
        required=False,
        default=None,
        allow_null=True,
        help_text="A photo of the person taken at the check: a JPEG or PNG of at most 2 MB, "
        "base64-encoded.",
    )

    def validate_photo(self, value: str | None) -> bytes | None:
        if not value:
            return None
        try:
            return base64.b64decode(value, validate=True)
        except (ValueError, binascii.Error):
            raise serializers.ValidationError("The photo must be base64-encoded.") from None


class IdentityCheckSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The check's id.")
    checked_on = serializers.DateField(help_text="The day of the face-to-face check.")
    document_types = serializers.ListField(
        child=serializers.CharField(), help_text="The types of document seen."
    )
    assurance_level = serializers.ChoiceField(
        choices=AssuranceLevel.choices, help_text="The assurance level the check reached."
    )
    checker = PersonRefSerializer(
        allow_null=True,
        help_text="The RA ID Checker or Agent who saw the documents (null: the server console).",
    )
    notes = serializers.CharField(help_text="The checker's notes.")
    has_photo = serializers.SerializerMethodField(help_text="Whether a photo was taken.")
    created_at = serializers.DateTimeField(help_text="When the check was recorded.")

    def get_has_photo(self, check: Any) -> bool:
        return bool(check.photo)


class PersonCloseSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=500, help_text="Why the profile is being closed.")


class PersonReopenSerializer(serializers.Serializer[Any]):
    """Reopening takes no fields: who reopened it and when are recorded by CIS."""


class ContactConfirmedSerializer(serializers.Serializer[Any]):
    channel = serializers.ChoiceField(
        choices=ContactChannel.choices, help_text="Which contact detail was confirmed."
    )
    value = serializers.CharField(
        max_length=254, help_text="The email address or UK mobile number confirmed."
    )
    how = serializers.ChoiceField(
        choices=["in person", "by telephone call-back"],
        default="in person",
        help_text="How the RA Agent saw it confirmed.",
    )


class ContactVerificationStartSerializer(serializers.Serializer[Any]):
    channel = serializers.ChoiceField(
        choices=ContactChannel.choices, help_text="Which contact detail to change."
    )
    value = serializers.CharField(
        max_length=254, help_text="The new email address or UK mobile number."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        check = normalise_email if attrs["channel"] == ContactChannel.EMAIL else normalise_mobile
        try:
            attrs["value"] = check(attrs["value"])
        except ValidationFailed as exc:
            raise serializers.ValidationError({"value": exc.message}, code="invalid") from None
        return attrs


class ContactVerificationSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="Quote this id when confirming the code.")
    channel = serializers.ChoiceField(
        choices=ContactChannel.choices, help_text="The contact detail being changed."
    )
    new_value = serializers.CharField(help_text="Where the one-time code was sent.")
    expires_at = serializers.DateTimeField(help_text="The code is refused after this time.")


class ContactVerificationConfirmSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(max_length=12, help_text="The one-time code that was sent.")


class AccessExtendSerializer(serializers.Serializer[Any]):
    ends_on = serializers.DateField(help_text="The new last day (within the kind's limit).")
