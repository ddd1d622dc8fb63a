"""Giving a person a position, and ending it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.db.models import QuerySet

from cis.rbac.models import Position

from .base import PortalForm
from .fields import DatePartsField

if TYPE_CHECKING:
    _ModelChoiceField = forms.ModelChoiceField[Position]
else:
    _ModelChoiceField = forms.ModelChoiceField


class PositionChoiceField(_ModelChoiceField):
    def label_from_instance(self, obj: Position) -> str:
        org = obj.organisation
        closed = "" if org.is_open else " (organisation closed)"
        return f"{obj.name} at {org.name} ({org.ods_code}){closed}"


class AssignmentCreateForm(PortalForm):
    position = PositionChoiceField(
        label="Position",
        queryset=Position.objects.none(),
        empty_label="Choose a position",
        error_messages={
            "required": "Choose the position.",
            "invalid_choice": "Choose a position from the list.",
        },
    )
    start_date = DatePartsField(
        label="Start date", required=False, help_text="Leave blank to start today."
    )
    end_date = DatePartsField(
        label="End date (optional)",
        required=False,
        help_text="Leave blank if the position has no planned end. For example, 31 3 2027",
    )

    def __init__(self, *args: Any, positions: QuerySet[Position], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["position"].queryset = positions  # type: ignore[attr-defined]  # a ModelChoiceField


class AssignmentEndForm(PortalForm):
    end_date = DatePartsField(
        label="Last day in the position", required=False, help_text="Leave blank to end it today."
    )
