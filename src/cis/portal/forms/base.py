"""The one place where a domain error from a service becomes an error on a portal form, and
where Django's default wording becomes the NHS service manual's ("Enter your email address")."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms

from cis.core.errors import DomainError

# Django's own messages, recognised so that a form's own wording is never replaced.
_DJANGO_REQUIRED = str(forms.Field.default_error_messages["required"])
EMAIL_FORMAT = "Enter an email address in the correct format, like name@example.com"


def _lower_label(label: str) -> str:
    """A label inside a sentence: "Email address" -> "email address", "ODS code" stays."""
    if len(label) > 1 and label[0].isupper() and not label[1].isupper():
        return label[0].lower() + label[1:]
    return label


def _choosing(field: forms.Field) -> bool:
    return isinstance(
        field.widget, forms.Select | forms.RadioSelect | forms.CheckboxSelectMultiple
    ) or isinstance(field, forms.ChoiceField | forms.ModelChoiceField)


def nhs_messages(field: forms.Field, label: str) -> dict[str, str]:
    """The NHS-style messages for what Django would otherwise say, without echoing input."""
    said = _lower_label(label.rstrip(" ?:")) if label else "an answer"
    messages: dict[str, str] = {}
    if str(field.error_messages.get("required", "")) == _DJANGO_REQUIRED:
        if isinstance(field.widget, forms.CheckboxInput):
            messages["required"] = f"Select {said} to continue"
        elif _choosing(field):
            messages["required"] = f"Select {said}"
        else:
            messages["required"] = f"Enter {said}"
    if "Select a valid choice" in str(field.error_messages.get("invalid_choice", "")):
        messages["invalid_choice"] = f"Select {said}"
    if isinstance(field, forms.EmailField):
        messages["invalid"] = EMAIL_FORMAT
    elif isinstance(field, forms.IntegerField):
        messages["invalid"] = f"{label} must be a whole number"
        messages["max_value"] = f"{label} must be %(limit_value)s or less"
        messages["min_value"] = f"{label} must be %(limit_value)s or more"
    max_length = getattr(field, "max_length", None)
    if max_length:
        messages["max_length"] = f"{label} must be {max_length} characters or fewer"
    min_length = getattr(field, "min_length", None)
    if min_length:
        messages["min_length"] = f"{label} must be {min_length} characters or more"
    return messages


class PortalForm(forms.Form):
    """A form that parses input for one service call; the service decides what is allowed."""

    # Service error fields that this form shows under a differently named field.
    domain_fields: ClassVar[dict[str, str]] = {}
    # Where errors without a field of their own are shown (None: at the top of the form).
    default_field: ClassVar[str | None] = None
    # Where the error summary sends the reader for an error above the form (None: first field).
    non_field_anchor: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            label = str(field.label or name.replace("_", " ").capitalize())
            field.error_messages.update(nhs_messages(field, label))

    def report(self, error: DomainError) -> None:
        """Show a service's refusal next to the field it is about, or above the form."""
        name = self.domain_fields.get(error.field or "", error.field)
        if name not in self.fields:
            name = self.default_field
        self.add_error(name, error.message)
