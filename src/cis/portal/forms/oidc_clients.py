"""The service desk's forms for clinical systems: register one, retire one."""

from __future__ import annotations

from django import forms

from .base import PortalForm


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class OidcClientRegisterForm(PortalForm):
    domain_fields = {  # noqa: RUF012
        "redirect_uri": "redirect_uris",
        "post_logout_redirect_uri": "post_logout_redirect_uris",
    }

    name = forms.CharField(
        label="The clinical system's name",
        max_length=255,
        error_messages={"required": "Enter the clinical system's name"},
    )
    redirect_uris = forms.CharField(
        label="Redirect URIs",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One a line, exactly as the system sends them, https except on this computer.",
        error_messages={"required": "Enter at least one redirect URI"},
    )
    post_logout_redirect_uris = forms.CharField(
        label="After sign-out redirect URIs (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One a line.",
    )

    def clean_redirect_uris(self) -> list[str]:
        return _lines(self.cleaned_data["redirect_uris"])

    def clean_post_logout_redirect_uris(self) -> list[str]:
        return _lines(self.cleaned_data["post_logout_redirect_uris"])


class OidcClientRetireForm(PortalForm):
    reason = forms.CharField(
        label="Why is it being retired?",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept with the retired client id, which can never sign anyone in again.",
        error_messages={"required": "Say why the clinical system is being retired"},
    )


class OidcClientRotateForm(PortalForm):
    """Nothing to fill in: the button is the confirmation."""
