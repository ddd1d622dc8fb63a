"""The bulk revocation forms: a list of serials (typed, pasted or a file) and a reason; then the
same, carried to the confirmation step."""

from __future__ import annotations

from typing import Any

from django import forms

from cis.pki.states import RevocationReason

from .base import PortalForm

# Enough for 1,000 serials written out with colons and a comment each; refused beyond that.
MAX_FILE_BYTES = 256 * 1024

# A renewal supersedes a certificate: never a reason to give for a batch.
BATCH_REASONS = {
    RevocationReason.KEY_COMPROMISE: "The private keys may be known to someone else, for "
    "example a batch of cards lost together.",
    RevocationReason.AFFILIATION_CHANGED: "The holders' names or organisation have changed.",
    RevocationReason.CESSATION_OF_OPERATION: "The holders no longer need the certificates.",
    RevocationReason.PRIVILEGE_WITHDRAWN: "The holders are no longer entitled to them.",
    RevocationReason.UNSPECIFIED: "None of the above applies.",
}


def _reason_field() -> forms.ChoiceField:
    field = forms.ChoiceField(
        label="Why are they being revoked?",
        widget=forms.RadioSelect,
        choices=[(r.value, r.label) for r in BATCH_REASONS],
    )
    field.option_hints = {r.value: h for r, h in BATCH_REASONS.items()}  # type: ignore[attr-defined]  # read by nhs_field
    return field


class BulkRevokeForm(PortalForm):
    domain_fields = {"serial": "serials"}  # noqa: RUF012
    default_field = "serials"

    serials = forms.CharField(
        label="Serial numbers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="One a line, in hex, as the certificate pages show them (colons, 0x and "
        "capital letters are fine). Up to 1,000 at once.",
    )
    file = forms.FileField(
        label="Or upload a file of serial numbers (optional)",
        required=False,
        help_text="A text file with one serial number a line, such as the API or a card "
        "supplier's list gives.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"] = _reason_field()
        self.fields["reason"].error_messages["required"] = "Select why they are being revoked"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        text = cleaned.get("serials") or ""
        upload = cleaned.get("file")
        if upload is not None:
            if upload.size > MAX_FILE_BYTES:
                self.add_error("file", "The file must be smaller than 256 KB")
            else:
                try:
                    text = "\n".join(
                        part for part in (text, upload.read().decode("utf-8-sig")) if part
                    )
                except UnicodeDecodeError:
                    self.add_error("file", "The file must be a text file of serial numbers")
        if not text.strip() and "file" not in self.errors:
            self.add_error("serials", "Enter serial numbers or choose a file of them")
        cleaned["lines"] = text.splitlines()
        return cleaned


class BulkRevokeConfirmForm(PortalForm):
    """The checked list, carried by the confirmation page; checked again when it is sent."""

    serials = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"] = _reason_field()
        self.fields["reason"].widget = forms.HiddenInput()
