"""The one shape of every error the API returns, described for the schema."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer[Any]):
    error = serializers.CharField(
        help_text=(
            "A stable code: validation_failed, not_authenticated, not_permitted, not_found, "
            "invalid_state, conflict, probable_duplicate, rate_limited, wrong_code, ..."
        )
    )
    detail = serializers.CharField(help_text="What went wrong, in words a user can act on.")
    field = serializers.CharField(
        required=False, help_text="The input field at fault, where there is one."
    )
    # DRF's metaclass moves declared fields off the class, so this never shadows .errors.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Every input problem found, by field, when the request body did not parse.",
    )
    matches = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="probable_duplicate only: the user ids of the people this one may be.",
    )


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


BAD_INPUT = _error("The input is malformed or breaks a rule; `field` names the culprit.")
NOT_SIGNED_IN = _error("Not signed in (session clients receive 403 with error not_authenticated).")
REFUSED = _error(
    "Not signed in, or the policy does not allow this actor to do this to this target."
)
NOT_FOUND = _error("No such object, or none that the actor may see: the two read the same.")
CONFLICT = _error("The target's state or an existing record forbids this (e.g. already closed).")
RATE_LIMITED = _error("Too many attempts; try again later.")

READ_ERRORS = {400: BAD_INPUT, 401: NOT_SIGNED_IN, 403: REFUSED, 404: NOT_FOUND}
WRITE_ERRORS = {
    400: BAD_INPUT,
    401: NOT_SIGNED_IN,
    403: REFUSED,
    404: NOT_FOUND,
    409: CONFLICT,
}
