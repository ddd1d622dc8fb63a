"""Form fields the NHS.UK frontend expects: dates as day, month and year boxes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms


class DatePartsWidget(forms.MultiWidget):
    """Three text boxes named <field>_day, <field>_month and <field>_year."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            widgets={"day": forms.TextInput, "month": forms.TextInput, "year": forms.TextInput},
            attrs=attrs,
        )

    def decompress(self, value: Any) -> list[Any]:
        if isinstance(value, dt.date):
            return [value.day, value.month, value.year]
        return [None, None, None]


class DatePartsField(forms.MultiValueField):
    """A date typed as three numbers, with the NHS wording for what is missing or wrong."""

    widget = DatePartsWidget

    def __init__(self, *, required: bool = True, **kwargs: Any) -> None:
        parts = (
            forms.CharField(required=False),
            forms.CharField(required=False),
            forms.CharField(required=False),
        )
        super().__init__(fields=parts, require_all_fields=False, required=required, **kwargs)

    def clean(self, value: Any) -> Any:
        if self.required and not [v for v in (value or []) if str(v).strip()]:
            raise forms.ValidationError(f"Enter the {self.label_text}.", code="required")
        return super().clean(value)

    @property
    def label_text(self) -> str:
        return str(self.label or "date").lower()

    def compress(self, data_list: list[Any]) -> dt.date | None:
        if not data_list or not any(str(v or "").strip() for v in data_list):
            return None
        day, month, year = (str(v or "").strip() for v in data_list)
        label = str(self.label or "The date")
        missing = [name for name, v in (("day", day), ("month", month), ("year", year)) if not v]
        if missing:
            raise forms.ValidationError(
                f"{label} must include a {' and a '.join(missing)}.", code="incomplete"
            )
        if not (day.isdigit() and month.isdigit() and year.isdigit()) or len(year) != 4:
            raise forms.ValidationError(
                f"{label} must be a real date, with a four-digit year.", code="invalid"
            )
        try:
            return dt.date(int(year), int(month), int(day))
        except ValueError:
            raise forms.ValidationError(f"{label} must be a real date.", code="invalid") from None
