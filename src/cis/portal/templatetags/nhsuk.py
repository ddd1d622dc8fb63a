"""NHS.UK frontend components as template tags, so every page renders fields and errors alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms, template
from django.forms.boundfield import BoundField
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from cis.audit.sentences import event_sentence
from cis.core.pagination import KeysetPage
from cis.portal import formatting
from cis.portal.forms.fields import DatePartsWidget

register = template.Library()

_TEXT_CLASSES = {"input": "nhsuk-input", "select": "nhsuk-select", "textarea": "nhsuk-textarea"}


def _kind(field: BoundField) -> str:
    widget = field.field.widget
    if isinstance(widget, DatePartsWidget):
        return "date"
    if isinstance(widget, forms.CheckboxSelectMultiple):
        return "checkboxes"
    if isinstance(widget, forms.RadioSelect):
        return "radios"
    if isinstance(widget, forms.CheckboxInput):
        return "checkbox"
    if isinstance(widget, forms.Select):
        return "select"
    if isinstance(widget, forms.Textarea):
        return "textarea"
    if isinstance(widget, forms.HiddenInput):
        return "hidden"
    return "input"


def field_anchor(field: BoundField) -> str:
    """Where an error summary link should land: the first input of the field."""
    kind = _kind(field)
    if kind == "date":
        return f"{field.auto_id}_day"
    if kind in ("checkboxes", "radios"):
        return f"{field.auto_id}_0"
    return str(field.auto_id)


@dataclass(frozen=True)
class Option:
    id: str
    name: str
    value: str
    label: str
    checked: bool
    hint: str
    hint_id: str


@dataclass(frozen=True)
class DatePart:
    id: str
    name: str
    label: str
    value: str
    width: int


def _options(field: BoundField) -> list[Option]:
    hints: dict[str, str] = getattr(field.field, "option_hints", {})
    options = []
    for sub in field.subwidgets:
        value = str(sub.data["value"])
        option_id = str(sub.id_for_label)
        options.append(
            Option(
                id=option_id,
                name=sub.data["name"],
                value=value,
                label=str(sub.choice_label),
                checked=bool(sub.data["selected"]),
                hint=hints.get(value, ""),
                hint_id=f"{option_id}-hint",
            )
        )
    return options


def _date_parts(field: BoundField) -> list[DatePart]:
    widget = field.field.widget
    assert isinstance(widget, DatePartsWidget)  # noqa: S101 - _kind() chose this branch
    value = field.value()
    parts = value if isinstance(value, list | tuple) else widget.decompress(value)
    labels = (("day", "Day", 2), ("month", "Month", 2), ("year", "Year", 4))
    return [
        DatePart(
            id=f"{field.auto_id}_{suffix}",
            name=f"{field.html_name}_{suffix}",
            label=label,
            value="" if part in (None, "") else str(part),
            width=width,
        )
        for (suffix, label, width), part in zip(labels, parts, strict=False)
    ]


@register.simple_tag
def nhs_field(
    field: BoundField,
    *,
    width: int | None = None,
    classes: str = "",
    autocomplete: str = "",
    inputmode: str = "",
    spellcheck: bool | None = None,
    label_class: str = "",
) -> SafeString:
    """Render one bound field as the matching NHS.UK component, with its hint and error linked."""
    kind = _kind(field)
    base_id = str(field.auto_id)
    hint_id = f"{base_id}-hint" if field.help_text else ""
    error_id = f"{base_id}-error" if field.errors else ""
    describedby = " ".join(part for part in (hint_id, error_id) if part)
    context: dict[str, Any] = {
        "field": field,
        "id": base_id,
        "hint_id": hint_id,
        "error_id": error_id,
        "describedby": describedby,
        "label_class": label_class,
        "errors": field.errors,
    }
    if kind in _TEXT_CLASSES:
        css = [_TEXT_CLASSES[kind]]
        if width:
            css.append(f"nhsuk-input--width-{width}")
        if classes:
            css.append(classes)
        if field.errors:
            css.append(f"{_TEXT_CLASSES[kind]}--error")
        attrs: dict[str, Any] = {"class": " ".join(css)}
        if describedby:
            attrs["aria-describedby"] = describedby
        if autocomplete:
            attrs["autocomplete"] = autocomplete
        if inputmode:
            attrs["inputmode"] = inputmode
        if spellcheck is not None:
            attrs["spellcheck"] = "true" if spellcheck else "false"
        context["widget_html"] = field.as_widget(attrs=attrs)
    elif kind in ("checkboxes", "radios"):
        context["options"] = _options(field)
    elif kind == "date":
        context["parts"] = _date_parts(field)
    elif kind == "hidden":
        return SafeString(field.as_hidden())
    name = "text" if kind in _TEXT_CLASSES else kind
    return SafeString(render_to_string(f"portal/components/field_{name}.html", context))


@register.simple_tag
def nhs_error_summary(form: forms.BaseForm | None) -> SafeString:
    """The 'There is a problem' box: one link per error, to the field it belongs to."""
    if form is None or not form.errors:
        return SafeString("")
    visible = form.visible_fields()
    first_anchor = getattr(form, "non_field_anchor", None) or (
        field_anchor(visible[0]) if visible else ""
    )
    errors: list[tuple[str, str]] = [(first_anchor, str(e)) for e in form.non_field_errors()]
    for bf in form:
        if bf.is_hidden:
            continue
        errors.extend((field_anchor(bf), str(message)) for message in bf.errors)
    return SafeString(render_to_string("portal/components/error_summary.html", {"errors": errors}))


@register.simple_block_tag
def summary_row(
    content: str,
    key: str,
    action_url: str = "",
    action_text: str = "Change",
    action_hidden: str = "",
) -> SafeString:
    """One row of an NHS summary list; the block's content is the value."""
    return SafeString(
        render_to_string(
            "portal/components/summary_row.html",
            {
                "key": key,
                "value": content,
                "action_url": action_url,
                "action_text": action_text,
                "action_hidden": action_hidden or key.lower(),
            },
        )
    )


@register.simple_tag
def nhs_tag(text: str, colour: str = "") -> SafeString:
    """A status tag, coloured by what the status means rather than chosen page by page."""
    chosen = colour or formatting.status_colour(text)
    return SafeString(
        render_to_string("portal/components/tag.html", {"text": text, "colour": chosen})
    )


@register.simple_tag(takes_context=True)
def nhs_pagination(context: dict[str, Any], page: KeysetPage[Any]) -> SafeString:
    """Previous and next links for a keyset page: this page's query, with the page's cursor."""
    request = context["request"]

    def url(cursor: str | None) -> str:
        if not cursor:
            return ""
        query = request.GET.copy()
        query["cursor"] = cursor
        return f"?{query.urlencode()}"

    return SafeString(
        render_to_string(
            "portal/components/pagination.html",
            {"previous_url": url(page.previous_cursor), "next_url": url(page.next_cursor)},
        )
    )


@register.filter
def status_colour(status: str) -> str:
    """The tag colour for a status value or label (green in force, orange waiting, grey over)."""
    return formatting.status_colour(status)


# Formatting (cis.portal.formatting): dates, times, people, roles and statuses, NHS style.

register.filter("long_date", formatting.long_date)
register.filter("short_date", formatting.short_date)
register.filter("uk_time", formatting.uk_time)
register.filter("uk_datetime", formatting.uk_datetime)


@register.filter
def status_text(obj: Any, field: str = "status") -> str:
    """An object's status as its label, never the stored value."""
    return formatting.status_label(obj, field)


@register.simple_tag
def nhs_status(obj: Any, field: str = "status", colour: str = "") -> SafeString:
    """An object's status (or another choices field) as a tag with its label and colour."""
    label = formatting.status_label(obj, field)
    value = getattr(obj, field, "")
    chosen = colour or formatting.status_colour(value) or formatting.status_colour(label)
    return SafeString(
        render_to_string("portal/components/tag.html", {"text": label, "colour": chosen})
    )


@register.simple_tag
def nhs_person(person: Any, link: str = "") -> SafeString:
    """A person by name, with their user id as a hint; linked when given a URL."""
    if person is None:
        return SafeString("")
    return SafeString(
        render_to_string(
            "portal/components/person.html",
            {"name": person.full_name, "user_id": person.user_id, "link": link},
        )
    )


@register.simple_tag
def nhs_role(role: Any) -> SafeString:
    """A job role (or activity) by name, with its code as a hint."""
    if role is None:
        return SafeString("")
    code = getattr(role, "full_code", "") or getattr(role, "code", "")
    return SafeString(
        render_to_string("portal/components/role.html", {"name": role.name, "code": code})
    )


@register.filter
def audit_sentence(event: Any, names: Any = None) -> str:
    """An audit event as a sentence a person reads (cis.audit.sentences)."""
    return event_sentence(event, names)
