"""Position assignments as the API shows them, and the bodies that create and end them."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from .fields import OdsCodeField, UserIdField
from .people import REQUEST_REF_HELP
from .refs import JobRoleSerializer, OrganisationRefSerializer, PersonRefSerializer


class AssignedPositionSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The position's id.")
    name = serializers.CharField(help_text="The position's name.")
    organisation = OrganisationRefSerializer(help_text="Where the position is.")
    job_roles = JobRoleSerializer(
        source="job_roles.all", many=True, help_text="The job roles it carries."
    )


class AssignmentSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The assignment's id.")
    person = PersonRefSerializer(help_text="Who holds the position.")
    position = AssignedPositionSerializer(help_text="The position held.")
    start_date = serializers.DateField(help_text="First day held.")
    end_date = serializers.DateField(allow_null=True, help_text="Last day held, if it ends.")
    granted_by = PersonRefSerializer(
        allow_null=True, help_text="Who assigned it (null: the server console)."
    )
    ended_by = PersonRefSerializer(allow_null=True, help_text="Who ended it, if anyone has.")
    request_ref = serializers.CharField(help_text=REQUEST_REF_HELP)


class AssignmentCreateSerializer(serializers.Serializer[Any]):
    person = UserIdField(help_text="User id of the person to assign.")
    position = serializers.IntegerField(help_text="Id of the position.")
    start_date = serializers.DateField(required=False, help_text="First day (default today).")
    end_date = serializers.DateField(
        required=False, allow_null=True, help_text="Last day, if known; not before the start."
    )


class AssignmentEndSerializer(serializers.Serializer[Any]):
    end_date = serializers.DateField(
        required=False, help_text="Last day held (default today); not before the start."
    )


class AssignmentFilterSerializer(serializers.Serializer[Any]):
    person = UserIdField(required=False, help_text="Only this person's assignments.")
    organisation = OdsCodeField(
        required=False, help_text="Only assignments at the organisation with this ODS code."
    )
    current = serializers.BooleanField(
        default=False, help_text="Only assignments in force today (true/false)."
    )
