"""Creating Registration Authorities and changing their contact details and area."""

from __future__ import annotations

from django import forms

from .base import PortalForm


class RegistrationAuthorityForm(PortalForm):
    code = forms.CharField(
        label="RA code",
        max_length=16,
        help_text="Short and unchanging, for example RA-NP.",
        error_messages={"required": "Enter the RA's code."},
    )
    name = forms.CharField(label="Name", max_length=200, required=False)
    email = forms.CharField(label="Email address (optional)", max_length=254, required=False)
    phone = forms.CharField(label="Telephone (optional)", max_length=32, required=False)
    hours = forms.CharField(
        label="Opening hours (optional)",
        max_length=200,
        required=False,
        help_text="For example, Monday to Friday, 9am to 5pm.",
    )
    address = forms.CharField(label="Address (optional)", max_length=300, required=False)
    geographies = forms.CharField(
        label="Area: health geographies (optional)",
        max_length=500,
        required=False,
        help_text="ODS codes of the ICBs or sub-ICB locations it serves, separated by commas, "
        "for example QWO, 02T. Organisations imported from ODS files there are served by it.",
    )

    def geography_list(self) -> list[str]:
        raw = self.cleaned_data.get("geographies", "")
        return [g.strip() for g in raw.replace(";", ",").split(",") if g.strip()]


class RegistrationAuthorityUpdateForm(RegistrationAuthorityForm):
    reassign = forms.BooleanField(
        label="Also move the open organisations in newly added geographies to this RA",
        required=False,
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["code"]
