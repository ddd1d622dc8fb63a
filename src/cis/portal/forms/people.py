"""Creating people, checking their identity, closing and reopening profiles, finding them."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.db.models import QuerySet
from django.http import QueryDict

from cis.core.errors import ValidationFailed
from cis.core.validators import normalise_user_id
from cis.organisations.models import RegistrationAuthority
from cis.people.models import ContactChannel, PersonKind
from cis.people.services import CONFIRMED_HOW, DOCUMENT_TYPES

from .base import PortalForm
from .fields import DatePartsField


class PersonSearchForm(PortalForm):
    q = forms.CharField(label="Name, user id or email address", required=False, max_length=200)


class FindByUserIdForm(PortalForm):
    user_id = forms.CharField(
        label="User id",
        max_length=32,
        help_text="12 digits, as printed on the smartcard.",
        error_messages={"required": "Enter a user id."},
    )

    def clean_user_id(self) -> str:
        try:
            return normalise_user_id(self.cleaned_data["user_id"])
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.message) from None


class PersonCreateForm(PortalForm):
    domain_fields = {"access_ends_on": "access_ends_on"}  # noqa: RUF012

    given_name = forms.CharField(label="Given name", max_length=100, required=False)
    family_name = forms.CharField(label="Family name", max_length=100, required=False)
    date_of_birth = DatePartsField(label="Date of birth", help_text="For example, 15 3 1984")
    registered_ra = forms.ModelChoiceField(
        label="Registration Authority",
        queryset=RegistrationAuthority.objects.none(),
        empty_label="Choose a Registration Authority",
        error_messages={
            "required": "Choose the Registration Authority that registers this person.",
            "invalid_choice": "Choose a Registration Authority from the list.",
        },
    )
    kind = forms.ChoiceField(
        label="Kind of profile",
        choices=PersonKind.choices,
        initial=PersonKind.PERSON,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the kind of profile."},
    )
    access_ends_on = DatePartsField(
        label="Access ends on (RPA and temporary access only)",
        required=False,
        help_text="Required for a robotic process (at most a year ahead) and temporary access "
        "(at most 90 days ahead).",
    )
    email = forms.CharField(
        label="Email address (optional)", max_length=254, required=False, widget=forms.EmailInput
    )
    mobile = forms.CharField(
        label="Mobile number (optional)",
        max_length=24,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel"}),
        help_text="A UK mobile number, like 07700 900123.",
    )
    professional_body = forms.CharField(
        label="Professional body (optional)",
        max_length=60,
        required=False,
        help_text="For example, GPhC or GMC.",
    )
    professional_number = forms.CharField(
        label="Registration number (optional)", max_length=30, required=False
    )
    duplicate_ids = forms.CharField(required=False, widget=forms.HiddenInput)
    acknowledge_duplicates = forms.BooleanField(
        label="I have checked these people and this is a different person", required=False
    )

    def __init__(self, *args: Any, ras: QuerySet[RegistrationAuthority], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["registered_ra"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - declared above
        field.queryset = ras

    @property
    def duplicates(self) -> list[str]:
        """The user ids CIS flagged as possibly this person, carried between submissions."""
        raw = self.data.get(self.add_prefix("duplicate_ids"), "") if self.is_bound else ""
        return [part for part in str(raw).split(",") if part]

    def acknowledged(self) -> list[str]:
        return self.duplicates if self.cleaned_data.get("acknowledge_duplicates") else []

    def flag_duplicates(self, user_ids: list[str]) -> None:
        """Remember the matches and ask again: a new tick is needed for a new set of matches."""
        data = QueryDict(mutable=True)
        if isinstance(self.data, QueryDict):
            data = self.data.copy()
        else:
            data.update(self.data)
        data[self.add_prefix("duplicate_ids")] = ",".join(user_ids)
        data.pop(self.add_prefix("acknowledge_duplicates"), None)
        self.data = data
        self.non_field_anchor = str(self["acknowledge_duplicates"].auto_id)


def _document_hint(has_photo: bool, proves_address: bool) -> str:
    parts = [
        text
        for flag, text in ((has_photo, "has a photo"), (proves_address, "proves the address"))
        if flag
    ]
    return ("Counts as a document that " + " and ".join(parts) + ".") if parts else ""


class VerifyIdentityForm(PortalForm):
    domain_fields = {"documents": "document_types"}

    document_types = forms.MultipleChoiceField(
        label="Documents you have seen",
        choices=[(code, label) for code, (label, _, _) in DOCUMENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Select at least 3: one with a photo and one that proves the address. "
        "Do not record document numbers.",
    )
    checked_on = DatePartsField(
        label="Date of the check", required=False, help_text="Leave blank if it was today."
    )
    notes = forms.CharField(
        label="Notes (optional)", max_length=500, required=False, widget=forms.Textarea
    )
    photo = forms.FileField(
        label="Photo of the person (optional)",
        required=False,
        help_text="A JPEG or PNG of at most 2 MB, taken at the check.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["document_types"].option_hints = {  # type: ignore[attr-defined]  # read by nhs_field
            code: _document_hint(photo, address)
            for code, (_, photo, address) in DOCUMENT_TYPES.items()
        }


class PersonCloseForm(PortalForm):
    reason = forms.CharField(
        label="Why is this profile being closed?",
        max_length=500,
        required=False,
        widget=forms.Textarea,
        help_text="For example, left the NHS. This is kept in the audit trail.",
    )


class ContactConfirmedForm(PortalForm):
    channel = forms.ChoiceField(
        label="Which contact detail did you see confirmed?",
        choices=ContactChannel.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose email or mobile."},
    )
    value = forms.CharField(
        label="Email address or UK mobile number",
        max_length=254,
        error_messages={"required": "Enter the email address or mobile number."},
    )
    how = forms.ChoiceField(
        label="How was it confirmed?",
        choices=[(how, how.capitalize()) for how in CONFIRMED_HOW],
        initial=CONFIRMED_HOW[0],
        widget=forms.RadioSelect,
        help_text="In person: you watched them receive a message there. Call-back: you rang the "
        "number yourself and spoke to them.",
    )
    domain_fields: ClassVar[dict[str, str]] = {"email": "value", "mobile": "value"}


class ConfirmForm(PortalForm):
    """A button and nothing else: for actions whose only input is the decision to act."""


class PersonUpdateForm(PortalForm):
    """An RA Agent corrects a person's details; an unchanged field is left as it is."""

    given_name = forms.CharField(label="Given name", max_length=100)
    family_name = forms.CharField(label="Family name", max_length=100)
    date_of_birth = DatePartsField(label="Date of birth", help_text="For example, 15 3 1984")
    professional_body = forms.CharField(
        label="Professional body (optional)",
        max_length=60,
        required=False,
        help_text="GMC, GPhC, NMC or HCPC.",
    )
    professional_number = forms.CharField(
        label="Registration number (optional)", max_length=30, required=False
    )
