"""CIS right grants as the API shows them, and the bodies that grant and revoke them."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from cis.rights.models import Right

from .fields import OdsCodeField, UserIdField
from .people import REQUEST_REF_HELP
from .refs import (
    OrganisationRefSerializer,
    PersonRefSerializer,
    RegistrationAuthorityRefSerializer,
)


class RightGrantSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The grant's id.")
    person = PersonRefSerializer(help_text="Who holds the right.")
    right = serializers.ChoiceField(choices=Right.choices, help_text="Which CIS right.")
    right_label = serializers.CharField(
        source="get_right_display", help_text="The right's name in words."
    )
    scope_label = serializers.CharField(help_text="What the right covers, in words.")
    organisation = OrganisationRefSerializer(
        allow_null=True, help_text="The organisation it is granted at (null for RA or national)."
    )
    include_children = serializers.BooleanField(
        help_text="Whether it also covers the organisation's child organisations."
    )
    ra = RegistrationAuthorityRefSerializer(
        allow_null=True, help_text="The RA whose whole area it covers (null otherwise)."
    )
    start_date = serializers.DateField(help_text="First day in force.")
    end_date = serializers.DateField(allow_null=True, help_text="Last day in force, if set.")
    revoked_at = serializers.DateTimeField(allow_null=True, help_text="When it was revoked.")
    granted_by = PersonRefSerializer(
        allow_null=True, help_text="Who granted it (null: the server console)."
    )
    revoked_by = PersonRefSerializer(allow_null=True, help_text="Who revoked it, if anyone.")
    request_ref = serializers.CharField(help_text=REQUEST_REF_HELP)


class RightGrantCreateSerializer(serializers.Serializer[Any]):
    person = UserIdField(help_text="User id of the person receiving the right.")
    right = serializers.ChoiceField(choices=Right.choices, help_text="Which CIS right.")
    organisation = OdsCodeField(
        required=False, help_text="Scope: the organisation (ODS code). Give this or ra."
    )
    include_children = serializers.BooleanField(
        default=False, help_text="With organisation: also cover its child organisations."
    )
    ra = serializers.CharField(
        required=False, max_length=16, help_text="Scope: an RA's whole area (RA code)."
    )
    start_date = serializers.DateField(required=False, help_text="First day (default today).")
    end_date = serializers.DateField(
        required=False, allow_null=True, help_text="Last day, if any; not before the start."
    )


class RightRevokeSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        default="", allow_blank=True, max_length=500, help_text="Why it is revoked."
    )


class RightFilterSerializer(serializers.Serializer[Any]):
    person = UserIdField(required=False, help_text="Only this person's rights.")
    current = serializers.BooleanField(
        default=True, help_text="Only rights in force today (default true)."
    )
