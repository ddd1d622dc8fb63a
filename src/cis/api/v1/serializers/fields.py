"""Identifier and contact fields that check their shape with the same rules as every interface."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cis.core.errors import ValidationFailed
from cis.core.validators import (
    normalise_email,
    normalise_mobile,
    normalise_ods_code,
    normalise_user_id,
)


class _CheckedField(serializers.CharField):
    """A string normalised by one of cis.core.validators; its message becomes the field's error."""

    normalise: Callable[[str], str]

    def to_internal_value(self, data: Any) -> str:
        value = str(super().to_internal_value(data))
        if value == "":
            return value  # allow_blank already decided whether an empty value is acceptable
        try:
            return type(self).normalise(value)
        except ValidationFailed as exc:
            raise serializers.ValidationError(exc.message, code="invalid") from None


@extend_schema_field({"type": "string", "pattern": "^[0-9]{12}$", "example": "555000000001"})
class UserIdField(_CheckedField):
    """A person's 12-digit CIS user id (spaces are ignored)."""

    normalise = staticmethod(normalise_user_id)


@extend_schema_field({"type": "string", "pattern": "^[A-Z0-9]{3,6}$", "example": "FLM49"})
class OdsCodeField(_CheckedField):
    """An ODS code: 3 to 6 letters and digits, upper-cased."""

    normalise = staticmethod(normalise_ods_code)


@extend_schema_field({"type": "string", "format": "email", "example": "sam.jones@nhs.net"})
class EmailAddressField(_CheckedField):
    """An email address; the domain is lower-cased."""

    normalise = staticmethod(normalise_email)


@extend_schema_field({"type": "string", "example": "+447700900123"})
class MobileField(_CheckedField):
    """A UK mobile number, written 07xxx xxxxxx or +44 7xxx xxxxxx; stored as +447xxxxxxxxx."""

    normalise = staticmethod(normalise_mobile)
