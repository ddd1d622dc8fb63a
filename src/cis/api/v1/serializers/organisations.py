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


class OrganisationFilterSerializer(serializers.Serializer[Any]):
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="An exact ODS code, or part of the name.",
    )
