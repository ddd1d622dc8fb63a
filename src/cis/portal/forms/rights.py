"""Granting and revoking CIS rights."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from cis.organisations.models import Organisation, RegistrationAuthority
from cis.rights.models import Right

from .base import PortalForm
from .fields import DatePartsField


class RightGrantForm(PortalForm):
    domain_fields = {"scope": "organisation"}

    right = forms.ChoiceField(
        label="Right",
        choices=[("", "Choose a right"), *Right.choices],
        error_messages={"required": "Choose the right to grant."},
    )
    organisation = forms.ModelChoiceField(
        label="At organisation",
        queryset=Organisation.objects.none(),
        required=False,
        empty_label="None",
        help_text="Choose an organisation or a Registration Authority, not both. "
        "The service desk right is national: choose neither.",
        error_messages={"invalid_choice": "Choose an organisation from the list."},
    )
    include_children = forms.BooleanField(
        label="Include the organisation's child organisations", required=False
    )
    ra = forms.ModelChoiceField(
        label="Or across a Registration Authority's area",
        queryset=RegistrationAuthority.objects.none(),
        required=False,
        empty_label="None",
        error_messages={"invalid_choice": "Choose a Registration Authority from the list."},
    )
    start_date = DatePartsField(
        label="Start date", required=False, help_text="Leave blank to start today."
    )
    end_date = DatePartsField(
        label="End date (optional)", required=False, help_text="Leave blank for no planned end."
    )

    def __init__(
        self,
        *args: Any,
        organisations: QuerySet[Organisation],
        ras: QuerySet[RegistrationAuthority],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations  # type: ignore[attr-defined]  # a ModelChoiceField
        self.fields["ra"].queryset = ras  # type: ignore[attr-defined]  # a ModelChoiceField


class RightRevokeForm(PortalForm):
    reason = forms.CharField(
        label="Reason (optional)", max_length=500, required=False, widget=forms.Textarea
    )
