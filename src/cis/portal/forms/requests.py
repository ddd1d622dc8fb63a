"""The portal's request forms: one payload form per type, and the forms that decide a request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django import forms

from cis.authz.actions import Action
from cis.authz.policy import GRANTABLE_BY_RA_MANAGER, can
from cis.core.errors import DomainError
from cis.organisations.selectors import organisation_list
from cis.people.models import Person
from cis.people.services import DOCUMENT_TYPES
from cis.rbac.selectors import assignment_list, position_list
from cis.rights.models import Right
from cis.rights.selectors import grant_list
from cis.workflow.apply import IdentityEvidence
from cis.workflow.models import Request
from cis.workflow.payloads import NAME_EVIDENCE, REPLACEMENT_REASONS
from cis.workflow.states import RequestType

from .base import PortalForm
from .fields import DatePartsField

CHOICES_SHOWN = 300


class RequestForm(PortalForm):
    """Collects one type's payload; errors on `payload.<field>` land next to that field."""

    default_field = None
    # Payload names that the form calls something else.
    renamed: ClassVar[dict[str, str]] = {
        "ods_code": "organisation",
        "position_id": "position",
        "assignment_id": "assignment",
        "grant_id": "grant",
    }
    note = forms.CharField(
        label="Anything the RA should know (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(
        self, *args: Any, actor: Person, request_type: str, subject: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.request_type = request_type
        fields = FIELDS[request_type](actor)
        for name, field in fields.items():
            self.fields[name] = field
        self.order_fields([*fields, "note"])
        if request_type == RequestType.POSITION_END and subject:
            # Coming from a person's page: only their positions.
            self.fields["assignment"] = _assignment_field(actor, person_user_id=subject)

    def report(self, error: DomainError) -> None:
        name = (error.field or "").removeprefix("payload.")
        name = self.renamed.get(name, name)
        self.add_error(name if name in self.fields else None, error.message)

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        reverse_names = {v: k for k, v in self.renamed.items()}
        for name, value in self.cleaned_data.items():
            if name == "note" or value in (None, "", False):
                continue
            key = reverse_names.get(name, name)
            data[key] = value.isoformat() if hasattr(value, "isoformat") else value
        return data


def _text(label: str, *, required: bool = True, help_text: str = "", **kw: Any) -> forms.Field:
    return forms.CharField(label=label, required=required, help_text=help_text, **kw)


def _user_id() -> forms.Field:
    return _text("User id of the person", max_length=12, help_text="The 12-digit CIS user id.")


def _organisations(actor: Person) -> list[tuple[str, str]]:
    orgs = [
        o
        for o in organisation_list(actor=actor).filter(status="open")[:CHOICES_SHOWN]
        if can(actor, Action.REQUEST_RAISE, Request(organisation=o, ra=o.serving_ra))
    ]
    return [("", "Choose an organisation")] + [
        (o.ods_code, f"{o.name} ({o.ods_code})") for o in orgs
    ]


def _positions(actor: Person) -> list[tuple[str, str]]:
    rows = position_list(actor=actor).filter(status="active", organisation__status="open")
    return [("", "Choose a position")] + [
        (str(p.pk), f"{p.name} at {p.organisation.name}") for p in rows[:CHOICES_SHOWN]
    ]


def _reason(label: str) -> forms.Field:
    return forms.CharField(label=label, max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


def _register_fields(actor: Person) -> dict[str, forms.Field]:
    return {
        "organisation": forms.ChoiceField(
            label="Where will they work?", choices=_organisations(actor)
        ),
        "given_name": _text("Given name", max_length=100),
        "family_name": _text("Family name", max_length=100),
        "date_of_birth": DatePartsField(label="Date of birth", help_text="For example, 15 3 1984"),
        "email": _text("Email address (optional)", required=False, max_length=254),
        "mobile": _text("UK mobile number (optional)", required=False, max_length=20),
        "professional_body": _text("Professional body (optional)", required=False, max_length=60),
        "professional_number": _text(
            "Professional registration number (optional)", required=False, max_length=30
        ),
        "position": forms.ChoiceField(
            label="Position to give them once their identity is checked (optional)",
            choices=_positions(actor),
            required=False,
        ),
    }


def _card_issue_fields(actor: Person) -> dict[str, forms.Field]:
    return {"user_id": _user_id()}


def _card_replace_fields(actor: Person) -> dict[str, forms.Field]:
    return {
        "user_id": _user_id(),
        "reason": forms.ChoiceField(
            label="Why is the card being replaced?",
            choices=list(REPLACEMENT_REASONS.items()),
            widget=forms.RadioSelect,
        ),
        "card_serial": _text("Serial of the old card (optional)", required=False, max_length=64),
    }


def _card_renew_fields(actor: Person) -> dict[str, forms.Field]:
    return {
        "user_id": _user_id(),
        "card_serial": _text("Serial of the card (optional)", required=False, max_length=64),
    }


def _position_add_fields(actor: Person) -> dict[str, forms.Field]:
    return {
        "user_id": _user_id(),
        "position": forms.ChoiceField(label="Position", choices=_positions(actor)),
        "start_date": DatePartsField(label="Start date (optional)", required=False),
    }


def _assignment_field(actor: Person, person_user_id: str = "") -> forms.Field:
    rows = assignment_list(actor=actor, current_only=True)
    if person_user_id:
        rows = rows.filter(person__user_id=person_user_id)
    rows = rows.order_by("person__family_name", "position__name")[:CHOICES_SHOWN]
    choices = [("", "Choose a position to end")] + [
        (str(a.pk), f"{a.person.full_name} – {a.position.name} at {a.position.organisation.name}")
        for a in rows
    ]
    return forms.ChoiceField(label="Position to end", choices=choices)


def _position_end_fields(actor: Person) -> dict[str, forms.Field]:
    return {
        "assignment": _assignment_field(actor),
        "end_date": DatePartsField(label="End date (optional: today)", required=False),
    }


def _details_fields(actor: Person) -> dict[str, forms.Field]:
    return {
        "user_id": _user_id(),
        "given_name": _text("New given name (optional)", required=False, max_length=100),
        "family_name": _text("New family name (optional)", required=False, max_length=100),
        "date_of_birth": DatePartsField(label="Corrected date of birth (optional)", required=False),
        "professional_body": _text("Professional body (optional)", required=False, max_length=60),
        "professional_number": _text(
            "Professional registration number (optional)", required=False, max_length=30
        ),
        "evidence": forms.ChoiceField(
            label="Evidence seen for a change of name",
            choices=[("", "Not a change of name"), *NAME_EVIDENCE.items()],
            required=False,
        ),
    }


def _profile_fields(actor: Person) -> dict[str, forms.Field]:
    return {"user_id": _user_id(), "reason": _reason("Why?")}


def _right_grant_fields(actor: Person) -> dict[str, forms.Field]:
    rights = [(r.value, r.label) for r in Right if r in GRANTABLE_BY_RA_MANAGER]
    return {
        "user_id": _user_id(),
        "right": forms.ChoiceField(label="Right", choices=rights, widget=forms.RadioSelect),
        "organisation": forms.ChoiceField(
            label="At which organisation?", choices=_organisations(actor), required=False
        ),
        "include_children": forms.BooleanField(
            label="Include its child organisations", required=False
        ),
        "ra_code": _text("Or across a whole RA's area: its code", required=False, max_length=16),
    }


def _right_revoke_fields(actor: Person) -> dict[str, forms.Field]:
    rows = grant_list(actor=actor).exclude(right__in=[Right.SERVICE_DESK])[:CHOICES_SHOWN]
    choices = [("", "Choose a right")] + [
        (str(g.pk), f"{g.person.full_name}: {g.get_right_display()} ({g.scope_label})")
        for g in rows
    ]
    return {
        "grant": forms.ChoiceField(label="Right to revoke", choices=choices),
        "reason": _reason("Why?"),
    }


FIELDS: dict[str, Callable[[Person], dict[str, forms.Field]]] = {
    RequestType.PERSON_REGISTER: _register_fields,
    RequestType.CARD_ISSUE: _card_issue_fields,
    RequestType.CARD_REPLACE: _card_replace_fields,
    RequestType.CARD_RENEW: _card_renew_fields,
    RequestType.POSITION_ADD: _position_add_fields,
    RequestType.POSITION_END: _position_end_fields,
    RequestType.DETAILS_CHANGE: _details_fields,
    RequestType.PROFILE_CLOSE: _profile_fields,
    RequestType.PROFILE_REOPEN: _profile_fields,
    RequestType.RIGHT_GRANT: _right_grant_fields,
    RequestType.RIGHT_REVOKE: _right_revoke_fields,
}


class ChooseTypeForm(PortalForm):
    request_type = forms.ChoiceField(
        label="What do you need?", choices=[], widget=forms.RadioSelect
    )

    def __init__(self, *args: Any, types: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["request_type"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - declared just above
        field.choices = types


class ReasonForm(PortalForm):
    reason = forms.CharField(
        label="Reason", max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class ApproveForm(PortalForm):
    note = forms.CharField(
        label="Note (optional)",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CommentForm(PortalForm):
    default_field = "text"
    text = forms.CharField(
        label="Add a comment",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Everyone who follows this request can read it.",
    )


class ReassignForm(PortalForm):
    domain_fields: ClassVar[dict[str, str]] = {"agent": "agent"}
    agent = forms.ChoiceField(label="RA Agent to hand it to", choices=[])
    note = forms.CharField(
        label="What they should know (optional)",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, agents: list[Person], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["agent"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - declared above
        field.choices = [("", "Choose an RA Agent")] + [
            (p.user_id, f"{p.full_name} ({p.user_id})") for p in agents
        ]


class RegisterApproveForm(ApproveForm):
    """Approving a registration is where the RA meets the person and checks who they are."""

    domain_fields: ClassVar[dict[str, str]] = {
        "identity.photo": "photo",
        "photo": "photo",
        "documents": "document_types",
        "checked_on": "checked_on",
    }
    document_types = forms.MultipleChoiceField(
        label="Documents seen (types only, never their numbers)",
        choices=[(k, v[0]) for k, v in DOCUMENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Three different documents: at least one with a photo, one proving the address."
        " Leave empty to create the person restricted and check their identity later.",
    )
    photo = forms.FileField(
        label="Photo of the person",
        required=False,
        help_text="A JPEG or PNG of at most 2 MB, taken at the check.",
    )
    checked_on = DatePartsField(label="Date of the check (optional: today)", required=False)
    acknowledged = forms.MultipleChoiceField(
        label="I have looked at these people and this is someone different",
        choices=[],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    partial_reason = forms.CharField(
        label="Approving without the identity check? Say why (approval in part)",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Without the check the person is created restricted and the position asked "
        "for is not given. CIS refuses that unless you say why here.",
    )

    def __init__(
        self, *args: Any, duplicates: list[Person], asks_position: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if not asks_position:
            del self.fields["partial_reason"]
        field = self.fields["acknowledged"]
        assert isinstance(field, forms.MultipleChoiceField)  # noqa: S101 - declared above
        field.choices = [
            (p.user_id, f"{p.full_name}, born {p.date_of_birth:%d %B %Y} ({p.user_id})")
            for p in duplicates
        ]
        if not duplicates:
            del self.fields["acknowledged"]

    def identity(self) -> IdentityEvidence | None:
        documents = self.cleaned_data.get("document_types") or []
        upload = self.cleaned_data.get("photo")
        if not documents and upload is None:
            return None
        return IdentityEvidence(
            document_types=documents,
            photo=upload.read() if upload is not None else None,
            checked_on=self.cleaned_data.get("checked_on"),
        )
