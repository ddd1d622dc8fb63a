"""Positions as the API shows them, and the body that creates one."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from cis.rbac.models import PositionStatus

from .fields import OdsCodeField
from .refs import CatalogueEntrySerializer, JobRoleSerializer, OrganisationRefSerializer


class PositionSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The position's id.")
    name = serializers.CharField(help_text="The position's name at its organisation.")
    organisation = OrganisationRefSerializer(help_text="Where the position is.")
    job_roles = JobRoleSerializer(
        source="job_roles.all", many=True, help_text="The job roles (R-codes) it carries."
    )
    activities = CatalogueEntrySerializer(
        source="activities.all",
        many=True,
        help_text="The activities (B-codes) it carries: the roles' baseline plus any added.",
    )
    workgroups = serializers.ListField(
        child=serializers.CharField(), help_text="Workgroups the position belongs to."
    )
    area_of_work = CatalogueEntrySerializer(allow_null=True, help_text="The area of work, if any.")
    assignable = serializers.BooleanField(
        help_text="Whether a Sponsor may assign it directly, without RA approval."
    )
    status = serializers.ChoiceField(
        choices=PositionStatus.choices, help_text="active, or retired (no new assignments)."
    )


class PositionCreateSerializer(serializers.Serializer[Any]):
    organisation = OdsCodeField(help_text="ODS code of the (open) organisation.")
    name = serializers.CharField(max_length=200, help_text="The position's name there.")
    job_roles = serializers.ListField(
        child=serializers.CharField(max_length=16),
        min_length=1,
        help_text="Job role codes (R-codes), at least one, e.g. R8000.",
    )
    activities = serializers.ListField(
        child=serializers.CharField(max_length=16),
        default=list,
        help_text="Activity codes (B-codes) beyond the roles' baseline.",
    )
    workgroups = serializers.ListField(
        child=serializers.CharField(max_length=100), default=list, help_text="Workgroup names."
    )
    area_of_work = serializers.CharField(
        default="", allow_blank=True, max_length=16, help_text="Area of work code, if any."
    )
    assignable = serializers.BooleanField(
        default=False, help_text="Whether Sponsors may assign it directly."
    )


class PositionUpdateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(required=False, max_length=200, help_text="A new name.")
    job_roles = serializers.ListField(
        child=serializers.CharField(max_length=16),
        required=False,
        min_length=1,
        help_text="The whole new list of job role codes (replaces the old).",
    )
    activities = serializers.ListField(
        child=serializers.CharField(max_length=16),
        required=False,
        help_text="The whole new list of activity codes: everything the holders may do.",
    )
    workgroups = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, help_text="Workgroup names."
    )
    area_of_work = serializers.CharField(
        required=False, allow_blank=True, max_length=16, help_text="Area of work code; '' clears."
    )
    assignable = serializers.BooleanField(
        required=False, help_text="Whether Sponsors may assign it directly."
    )


class PositionRetireSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        default="", allow_blank=True, max_length=500, help_text="Why; kept in the audit trail."
    )


class PositionFilterSerializer(serializers.Serializer[Any]):
    organisation = OdsCodeField(
        required=False, help_text="Only positions at the organisation with this ODS code."
    )
