"""The service desk's import form: a file, its kind and layout, and all-or-nothing or partial."""

from __future__ import annotations

from django import forms

from cis.imports.models import ImportKind
from cis.imports.ods import LAYOUTS
from cis.organisations.selectors import ra_list

from .base import PortalForm


class ImportForm(PortalForm):
    domain_fields = {"layout": "layout", "kind": "kind", "ra": "ra"}  # noqa: RUF012
    default_field = "file"

    kind = forms.ChoiceField(
        label="What the file holds",
        choices=ImportKind.choices,
        widget=forms.RadioSelect,
    )
    file = forms.FileField(
        label="The CSV file",
        help_text="An ODS file as ODS publishes it (no header row), or an ESR extract with its "
        "header row. At most 64 MB.",
    )
    layout = forms.ChoiceField(
        label="Which ODS file (optional)",
        choices=[("", "From the file's name")]
        + [(k, f"{k}: {v.title}") for k, v in LAYOUTS.items()],
        required=False,
    )
    ra = forms.ChoiceField(
        label="RA for new organisations outside every RA's area (optional)",
        choices=[],
        required=False,
    )
    partial = forms.BooleanField(
        label="Import the good rows even if some are rejected",
        required=False,
        help_text="Otherwise one rejected row means nothing in the file is imported.",
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["ra"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - declared above
        field.choices = [("", "None")] + [(ra.code, str(ra)) for ra in ra_list()]
