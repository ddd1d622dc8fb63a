"""Creating organisations and the positions at them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from cis.organisations.models import Organisation, OrganisationType, RegistrationAuthority
from cis.rbac.models import Activity, JobRole

from .base import PortalForm


class OrganisationSearchForm(PortalForm):
    q = forms.CharField(label="ODS code or name", required=False, max_length=200)


class OrganisationCreateForm(PortalForm):
    ods_code = forms.CharField(
        label="ODS code",
        max_length=12,
        help_text="Pharmacies: 5 characters starting with F, like FLM49. GP practices: a letter "
        "and 5 digits, like A81001. NHS trusts: 3 characters starting with R, like RRK.",
        error_messages={"required": "Enter the ODS code."},
    )
    name = forms.CharField(label="Name", max_length=200, required=False)
    org_type = forms.ChoiceField(
        label="Type of organisation",
        choices=[("", "Choose a type"), *OrganisationType.choices],
        error_messages={"required": "Choose the type of organisation."},
    )
    serving_ra = forms.ModelChoiceField(
        label="Registration Authority that serves it",
        queryset=RegistrationAuthority.objects.none(),
        empty_label="Choose a Registration Authority",
        error_messages={
            "required": "Choose the Registration Authority that serves this organisation.",
            "invalid_choice": "Choose a Registration Authority from the list.",
        },
    )
    parent = forms.ModelChoiceField(
        label="Parent organisation (optional)",
        queryset=Organisation.objects.none(),
        required=False,
        empty_label="No parent: it stands on its own",
        help_text="For example, a pharmacy chain's head office.",
        error_messages={"invalid_choice": "Choose a parent organisation from the list."},
    )
    address = forms.CharField(label="Address (optional)", max_length=300, required=False)

    def __init__(
        self,
        *args: Any,
        ras: QuerySet[RegistrationAuthority],
        parents: QuerySet[Organisation],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["serving_ra"].queryset = ras  # type: ignore[attr-defined]  # a ModelChoiceField
        self.fields["parent"].queryset = parents  # type: ignore[attr-defined]  # a ModelChoiceField


def _catalogue_label(entry: JobRole | Activity) -> str:
    code = entry.full_code if isinstance(entry, JobRole) else entry.code
    return f"{entry.name} ({code})"


class PositionCreateForm(PortalForm):
    name = forms.CharField(
        label="Name of the position",
        max_length=200,
        required=False,
        help_text="For example, Pharmacist or Pharmacy technician.",
    )
    job_roles = forms.MultipleChoiceField(
        label="Job roles",
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="From the national RBAC catalogue. Select at least 1.",
    )
    activities = forms.MultipleChoiceField(
        label="Additional activities (optional)",
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="The baseline activities of the job roles are included anyway.",
    )
    workgroups = forms.CharField(
        label="Workgroups (optional)",
        max_length=500,
        required=False,
        help_text="Separate workgroups with commas.",
    )
    assignable = forms.BooleanField(
        label="Sponsors may assign this position without RA approval", required=False
    )

    def __init__(
        self,
        *args: Any,
        roles: QuerySet[JobRole],
        activities: QuerySet[Activity],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["job_roles"].choices = [(r.code, _catalogue_label(r)) for r in roles]  # type: ignore[attr-defined]
        self.fields["activities"].choices = [(a.code, _catalogue_label(a)) for a in activities]  # type: ignore[attr-defined]

    def workgroup_list(self) -> list[str]:
        return [w.strip() for w in self.cleaned_data.get("workgroups", "").split(",") if w.strip()]


class PositionUpdateForm(PositionCreateForm):
    activities = forms.MultipleChoiceField(
        label="Activities",
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Everything the holders may do. Changing this changes it for every holder.",
    )


class OrganisationUpdateForm(PortalForm):
    name = forms.CharField(label="Name", max_length=200, required=False)
    address = forms.CharField(label="Address (optional)", max_length=300, required=False)
    geography = forms.CharField(
        label="Health geography (optional)",
        max_length=10,
        required=False,
        help_text="The ODS code of its ICB or sub-ICB location, for example QWO. It decides "
        "which Registration Authority new organisations there are routed to.",
    )


class OrganisationMoveForm(PortalForm):
    parent = forms.ModelChoiceField(
        label="Part of",
        queryset=Organisation.objects.none(),
        required=False,
        empty_label="None: it stands on its own",
        help_text="For example, the head office of the pharmacy chain that now owns it.",
        error_messages={"invalid_choice": "Choose a parent organisation from the list."},
    )
    serving_ra = forms.ModelChoiceField(
        label="Registration Authority that serves it",
        queryset=RegistrationAuthority.objects.none(),
        required=False,
        empty_label="Keep the same",
        error_messages={"invalid_choice": "Choose a Registration Authority from the list."},
    )

    def __init__(
        self,
        *args: Any,
        parents: QuerySet[Organisation],
        ras: QuerySet[RegistrationAuthority] | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = parents  # type: ignore[attr-defined]  # a ModelChoiceField
        if ras is None:
            del self.fields["serving_ra"]
        else:
            self.fields["serving_ra"].queryset = ras  # type: ignore[attr-defined]  # a ModelChoiceField


class OrganisationReasonForm(PortalForm):
    reason = forms.CharField(
        label="Why? (optional)",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example, the ODS record shows it closed. Kept in the audit trail.",
    )
