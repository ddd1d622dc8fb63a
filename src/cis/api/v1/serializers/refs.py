"""Short references to related objects, embedded where a full record would be too much."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class PersonRefSerializer(serializers.Serializer[Any]):
    user_id = serializers.CharField(help_text="The person's 12-digit CIS user id.")
    full_name = serializers.CharField(help_text="Given and family name.")


class OrganisationRefSerializer(serializers.Serializer[Any]):
    ods_code = serializers.CharField(help_text="The organisation's ODS code.")
    name = serializers.CharField(help_text="The organisation's name.")


class RegistrationAuthorityRefSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="The Registration Authority's code.")
    name = serializers.CharField(help_text="The Registration Authority's name.")


class CatalogueEntrySerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="The national RBAC code (B-code, R-code or area code).")
    name = serializers.CharField(help_text="The name in the national RBAC catalogue.")


class JobRoleSerializer(CatalogueEntrySerializer):
    full_code = serializers.CharField(
        help_text="The full role code, sector:group:role, e.g. S8000:G8000:R8000."
    )
