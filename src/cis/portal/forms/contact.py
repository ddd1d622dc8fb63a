"""Changing one's own email or mobile, and the one-time code that confirms it."""

from __future__ import annotations

from typing import Any

from django import forms

from .base import PortalForm


class EmailChangeForm(PortalForm):
    email = forms.CharField(
        label="New email address",
        max_length=254,
        widget=forms.EmailInput,
        error_messages={"required": "Enter your new email address."},
        help_text="We will send a code to this address. Your email address changes only "
        "after you enter the code.",
    )


class MobileChangeForm(PortalForm):
    mobile = forms.CharField(
        label="New mobile number",
        max_length=24,
        widget=forms.TextInput(attrs={"type": "tel"}),
        error_messages={"required": "Enter your new mobile number."},
        help_text="A UK mobile number, like 07700 900123. We will text a code to it; your "
        "mobile number changes only after you enter the code.",
    )


class ContactCodeForm(PortalForm):
    default_field = "code"

    code = forms.CharField(label="Code", max_length=16)

    def __init__(self, *args: Any, digits: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.digits = digits
        self.fields["code"].help_text = f"The {digits}-digit code we sent you."
        self.fields["code"].error_messages["required"] = f"Enter the {digits}-digit code."

    def clean_code(self) -> str:
        code = "".join(str(self.cleaned_data["code"]).split())
        if not code.isdigit() or len(code) != self.digits:
            raise forms.ValidationError(f"Enter the {self.digits}-digit code, using numbers only.")
        return code
