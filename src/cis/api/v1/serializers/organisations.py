"""Organisations as the API shows them, and the body that creates one."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from cis.organisations.models import OrganisationStatus, OrganisationType

from .fields import OdsCodeField
from .refs import OrganisationRefSerializer, RegistrationAuthorityRefSerializer


class OrganisationSerializer(serializers.Serializer[Any]):
    ods_code = serializers.CharField(help_text="The ODS code, e.g. FLM49, A81001, RRK.")
    name = serializers.CharField(help_text="The organisation's name.")
    org_type = serializers.ChoiceField(
        choices=OrganisationType.choices, help_text="What kind of organisation it is."
    )
    status = serializers.ChoiceField(
        choices=OrganisationStatus.choices, help_text="open, or closed (no new positions)."
    )
    closed_on = serializers.DateField(allow_null=True, help_text="When it closed, if it has.")
    address = serializers.CharField(help_text="Postal address ('' if not recorded).")
    parent = OrganisationRefSerializer(
        allow_null=True, help_text="The parent organisation, e.g. a pharmacy chain's head office."
    )
    serving_ra = RegistrationAuthorityRefSerializer(
        help_text="The Registration Authority that serves this organisation."
    )
    geography = serializers.CharField(
        help_text="ODS High Level Health Geography (ICB or sub-ICB location); '' if unknown."
    )


class OrganisationCreateSerializer(serializers.Serializer[Any]):
    ods_code = OdsCodeField(
        help_text=(
            "The ODS code. Community pharmacies: five characters starting with F (FLM49); "
            "GP practices: a letter and five digits (A81001); NHS trusts: three characters "
            "starting with R (RRK)."
        )
    )
    name = serializers.CharField(max_length=200, help_text="The organisation's name.")
    org_type = serializers.ChoiceField(
        choices=OrganisationType.choices, help_text="What kind of organisation it is."
    )
    serving_ra = serializers.CharField(
        max_length=16, help_text="Code of the Registration Authority that will serve it."
    )
    # DRF's metaclass moves declared fields off the class, so this never shadows .parent.
    parent = OdsCodeField(  # type: ignore[assignment]
        required=False, help_text="ODS code of the parent organisation, if any (must be open)."
    )
    address = serializers.CharField(
        default="", allow_blank=True, max_length=300, help_text="Postal address."
    )
    geography = serializers.CharField(
        default="",
        allow_blank=True,
        max_length=10,
        help_text="ODS health geography code (ICB or sub-ICB location), e.g. QWO.",
    )


class OrganisationUpdateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(
        required=False, max_length=200, help_text="The organisation's name."
    )
    address = serializers.CharField(
        required=False, allow_blank=True, max_length=300, help_text="Postal address."
    )
    geography = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=10,
        help_text="ODS health geography code; '' to clear it.",
    )


class OrganisationCloseSerializer(serializers.Serializer[Any]):
    on = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The day it closed (today if left out), e.g. from the ODS close date.",
    )
    reason = serializers.CharField(
        default="", allow_blank=True, max_length=500, help_text="Why; kept in the audit trail."
    )


class OrganisationReopenSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        default="", allow_blank=True, max_length=500, help_text="Why; kept in the audit trail."
    )


class OrganisationMoveSerializer(serializers.Serializer[Any]):
    # DRF's metaclass moves declared fields off the class, so this never shadows .parent.
    parent = OdsCodeField(  # type: ignore[assignment]
        required=False,
        allow_null=True,
        help_text="ODS code of the new parent organisation, or null to stand on its own. "
        "Leave it out to keep the parent.",
    )
    serving_ra = serializers.CharField(
        required=False,
        max_length=16,
        help_text="Code of the RA that is to serve it (service desk only). Leave it out to keep.",
    )


class RegistrationAuthoritySerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="The RA's code, e.g. RA-NP.")
    name = serializers.CharField(help_text="The RA's name.")
    email = serializers.CharField(help_text="Its published email address ('' if none).")
    phone = serializers.CharField(help_text="Its published telephone number ('' if none).")
    hours = serializers.CharField(help_text="When it can be reached ('' if not published).")
    address = serializers.CharField(help_text="Its postal address ('' if not published).")
    geographies = serializers.ListField(
        child=serializers.CharField(),
        help_text="Its area: ODS health-geography codes whose new organisations it serves.",
    )


class RegistrationAuthorityCreateSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(max_length=16, help_text="Short, unchanging code, e.g. RA-NP.")
    name = serializers.CharField(max_length=200, help_text="The RA's name.")
    email = serializers.CharField(
        default="", allow_blank=True, max_length=254, help_text="Published email address."
    )
    phone = serializers.CharField(
        default="", allow_blank=True, max_length=32, help_text="Published telephone number."
    )
    hours = serializers.CharField(
        default="", allow_blank=True, max_length=200, help_text="Opening hours, in words."
    )
    address = serializers.CharField(
        default="", allow_blank=True, max_length=300, help_text="Postal address."
    )
    geographies = serializers.ListField(
        child=serializers.CharField(max_length=10),
        default=list,
        help_text='ODS health-geography codes of its area, e.g. ["QWO", "02T"].',
    )


class RegistrationAuthorityUpdateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(required=False, max_length=200, help_text="The RA's name.")
    email = serializers.CharField(
        required=False, allow_blank=True, max_length=254, help_text="Published email address."
    )
    phone = serializers.CharField(
        required=False, allow_blank=True, max_length=32, help_text="Published telephone number."
    )
    hours = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Opening hours, in words."
    )
    address = serializers.CharField(
        required=False, allow_blank=True, max_length=300, help_text="Postal address."
    )
    geographies = serializers.ListField(
        child=serializers.CharField(max_length=10),
        required=False,
        help_text="The whole new area (replaces the old list).",
    )
    reassign = serializers.BooleanField(
        default=False,
        help_text="Also move the open organisations in newly added geographies to this RA.",
    )


class OrganisationFilterSerializer(serializers.Serializer[Any]):
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="An exact ODS code, or part of the name.",
    )
