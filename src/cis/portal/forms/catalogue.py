"""The service desk's forms for the national RBAC catalogue: job roles and activities."""

from __future__ import annotations

from typing import Any

from django import forms

from .base import PortalForm


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.replace(";", ",").split(",") if part.strip()]


class CatalogueEntryForm(PortalForm):
    code = forms.CharField(
        label="Code",
        max_length=8,
        error_messages={"required": "Enter the code from the national RBAC database."},
    )
    name = forms.CharField(label="Name", max_length=200, required=False)
    sources = forms.CharField(
        label="Sources (optional)",
        max_length=500,
        required=False,
        help_text="Keys of the catalogue's sources this was checked against, separated by "
        "commas, for example ptl-smartcards.",
    )
    note = forms.CharField(
        label="Note (optional)",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["code"]

    def source_list(self) -> list[str]:
        return _split(self.cleaned_data.get("sources", ""))


class JobRoleForm(CatalogueEntryForm):
    sector_code = forms.CharField(label="Sector code (optional)", max_length=8, required=False)
    sector_name = forms.CharField(label="Sector name (optional)", max_length=100, required=False)
    group_code = forms.CharField(label="Group code (optional)", max_length=8, required=False)
    group_name = forms.CharField(label="Group name (optional)", max_length=100, required=False)
    baseline = forms.MultipleChoiceField(
        label="Baseline activities",
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="What the role carries by default. Existing positions keep their activities.",
    )

    def __init__(self, *args: Any, activities: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["baseline"].choices = activities  # type: ignore[attr-defined]  # a choice field


class ActivityForm(CatalogueEntryForm):
    includes = forms.MultipleChoiceField(
        label="Activities it includes",
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="For example, B0825 Amend Patient Demographics includes B0820 View Patient "
        "Demographics.",
    )

    def __init__(self, *args: Any, activities: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["includes"].choices = activities  # type: ignore[attr-defined]  # a choice field
