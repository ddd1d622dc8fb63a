"""The one place where a domain error from a service becomes an error on a portal form."""

from __future__ import annotations

from typing import ClassVar

from django import forms

from cis.core.errors import DomainError


class PortalForm(forms.Form):
    """A form that parses input for one service call; the service decides what is allowed."""

    # Service error fields that this form shows under a differently named field.
    domain_fields: ClassVar[dict[str, str]] = {}
    # Where errors without a field of their own are shown (None: at the top of the form).
    default_field: ClassVar[str | None] = None
    # Where the error summary sends the reader for an error above the form (None: first field).
    non_field_anchor: str | None = None

    def report(self, error: DomainError) -> None:
        """Show a service's refusal next to the field it is about, or above the form."""
        name = self.domain_fields.get(error.field or "", error.field)
        if name not in self.fields:
            name = self.default_field
        self.add_error(name, error.message)
