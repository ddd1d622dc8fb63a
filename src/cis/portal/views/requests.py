"""Requests to the RA in the portal: the queue, raising one, its page, and every decision on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import path, reverse

from cis.authz.actions import Action
from cis.authz.policy import GRANTABLE_BY_RA_MANAGER, can, require
from cis.authz.scope import effective_grants
from cis.core import clock
from cis.core.errors import DomainError, ProbableDuplicate
from cis.organisations.selectors import organisation_list
from cis.people.models import Person
from cis.people.services import DOCUMENT_TYPES
from cis.portal.forms.base import PortalForm
from cis.portal.forms.fields import DatePartsField
from cis.rbac.selectors import assignment_list, position_list
from cis.rights.models import Right
from cis.rights.selectors import grant_list
from cis.workflow import selectors, services
from cis.workflow.apply import IdentityEvidence
from cis.workflow.models import Request
from cis.workflow.payloads import NAME_EVIDENCE, REPLACEMENT_REASONS
from cis.workflow.selectors import AGES, QueueFilter
from cis.workflow.states import RIGHT_TYPES, RequestType

from .base import PortalPage, ServiceFormView

CHOICES_SHOWN = 300
TYPE_HINTS = {
    RequestType.PERSON_REGISTER: "Someone new to CIS who will work at one of your organisations.",
    RequestType.CARD_ISSUE: "A first smartcard for someone whose identity has been checked.",
    RequestType.CARD_REPLACE: "A new card for one that was lost, stolen, damaged or faulty.",
    RequestType.POSITION_ADD: "Give someone a position the RA must approve.",
    RequestType.POSITION_END: "End someone's position.",
    RequestType.DETAILS_CHANGE: "Correct a name, date of birth or professional registration.",
    RequestType.PROFILE_CLOSE: "Someone has left: close their profile.",
    RequestType.PROFILE_REOPEN: "Someone has come back: reopen their profile.",
    RequestType.RIGHT_GRANT: "RA Managers: appoint an LSA, Sponsor, ID Checker or RA Agent.",
    RequestType.RIGHT_REVOKE: "RA Managers: take a CIS right away.",
}
VIEW_LABELS = {
    "open": "Open",
    "escalated": "Escalated",
    "awaiting-card": "Awaiting card",
    "closed": "Closed (30 days)",
    "mine": "Your requests",
    "about-me": "About you",
}


# Forms


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

    def __init__(self, *args: Any, actor: Person, request_type: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.request_type = request_type
        for name, field in FIELDS[request_type](actor).items():
            self.fields[name] = field
        self.order_fields([*FIELDS[request_type](actor), "note"])

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


def _position_add_fields(actor: Person) -> dict[str, forms.Field]:
    return {
        "user_id": _user_id(),
        "position": forms.ChoiceField(label="Position", choices=_positions(actor)),
        "start_date": DatePartsField(label="Start date (optional)", required=False),
    }


def _position_end_fields(actor: Person) -> dict[str, forms.Field]:
    rows = assignment_list(actor=actor, current_only=True).order_by(
        "person__family_name", "position__name"
    )[:CHOICES_SHOWN]
    choices = [("", "Choose a position to end")] + [
        (str(a.pk), f"{a.person.full_name} – {a.position.name} at {a.position.organisation.name}")
        for a in rows
    ]
    return {
        "assignment": forms.ChoiceField(label="Position to end", choices=choices),
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

    def __init__(self, *args: Any, duplicates: list[Person], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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


# Views


def _raisable_types(actor: Person) -> list[tuple[str, str]]:
    """Every type, less the rights types for anyone who is not an RA Manager."""
    manager = any(g.right == Right.RA_MANAGER for g in effective_grants(actor))
    return [(v, label) for v, label in RequestType.choices if v not in RIGHT_TYPES or manager]


class RequestQueueView(PortalPage):
    template_name = "portal/requests/queue.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        params = self.request.GET
        view = params.get("view") or "open"
        if view not in VIEW_LABELS:
            view = "open"
        age = params.get("age", "")
        filters = QueueFilter(
            view=view,
            ods_code=params.get("ods_code", ""),
            request_type=params.get("type", ""),
            older_than_days=AGES.get(age),
        )
        rows = selectors.request_queue(actor=self.actor, filters=filters)[:200]
        query = {k: v for k, v in params.items() if k != "view" and v}
        suffix = "".join(f"&{k}={v}" for k, v in query.items())
        context.update(
            heading="Requests",
            view=view,
            tabs=[(key, label, f"?view={key}{suffix}") for key, label in VIEW_LABELS.items()],
            rows=rows,
            now=clock.now(),
            types=RequestType.choices,
            ages=list(AGES),
            filters=filters,
            age=age,
            may_raise=can(self.actor, Action.REQUEST_RAISE),
        )
        return context


class RequestDetailView(PortalPage):
    template_name = "portal/requests/detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        actor = self.actor
        request = selectors.request_get(actor=actor, pk=self.kwargs["pk"])
        is_open = request.is_open
        context.update(
            heading=f"{request.ref}: {request.get_request_type_display()}",
            item=request,
            payload=[
                (k.replace("_", " ").capitalize(), v)
                for k, v in request.payload.items()
                if k != "before" and v not in (None, "")
            ],
            history=selectors.request_history(request=request),
            escalations=selectors.request_escalations(request=request),
            approvals=request.approvals.select_related("approver"),
            overdue=is_open and request.due_at <= clock.now(),
            may_approve=is_open and can(actor, Action.REQUEST_APPROVE, request),
            may_reject=is_open and can(actor, Action.REQUEST_REJECT, request),
            may_cancel=(is_open or request.state == "approved")
            and can(actor, Action.REQUEST_CANCEL, request),
            may_escalate=is_open
            and request.escalation_level < 2
            and can(actor, Action.REQUEST_ESCALATE, request),
        )
        return context


class ChooseTypeView(ServiceFormView[ChooseTypeForm]):
    form_class = ChooseTypeForm
    heading = "Raise a request"
    submit_label = "Continue"

    def check_may_act(self) -> None:
        require(self.actor, Action.REQUEST_RAISE)

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["types"] = _raisable_types(self.actor)
        return kwargs

    def form_valid(self, form: ChooseTypeForm) -> HttpResponse:
        url = reverse("portal:request-raise", args=[form.cleaned_data["request_type"]])
        user_id = self.request.GET.get("user_id", "")
        return redirect(f"{url}?user_id={user_id}" if user_id else url)

    def back_url(self) -> str:
        return reverse("portal:request-list")


class RaiseView(ServiceFormView[RequestForm]):
    form_class = RequestForm
    submit_label = "Send the request"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if kwargs.get("request_type") not in RequestType.values:
            return redirect("portal:request-new")
        return super().dispatch(request, *args, **kwargs)

    @property
    def request_type(self) -> str:
        return str(self.kwargs["request_type"])

    def check_may_act(self) -> None:
        require(self.actor, Action.REQUEST_RAISE)

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs.update(actor=self.actor, request_type=self.request_type)
        return kwargs

    def get_initial(self) -> dict[str, Any]:
        return {"user_id": self.request.GET.get("user_id", "")}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs["heading"] = RequestType(self.request_type).label
        kwargs["caption"] = "Raise a request"
        return super().get_context_data(**kwargs)

    def perform(self, form: RequestForm) -> Request:
        return services.request_raise(
            actor=self.actor,
            request_type=self.request_type,
            payload=form.payload(),
            note=form.cleaned_data.get("note", ""),
        )

    def success_message(self, result: Request) -> str:
        return f"{result.ref} has been sent to the RA. It is due by {result.due_at:%d %B %Y}."

    def success_url_for(self, result: Request) -> str:
        return reverse("portal:request-detail", args=[result.pk])

    def back_url(self) -> str:
        return reverse("portal:request-new")


class DecisionView(ServiceFormView[Any]):
    """A form about one request the actor can see (404 otherwise)."""

    action: ClassVar[Action]
    template_name = "portal/requests/decide.html"

    @property
    def item(self) -> Request:
        if not hasattr(self, "_item"):
            self._item = selectors.request_get(actor=self.actor, pk=self.kwargs["pk"])
        return self._item

    def check_may_act(self) -> None:
        require(self.actor, self.action, self.item)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("caption", f"{self.item.ref}: {self.item.get_request_type_display()}")
        kwargs["item"] = self.item
        return super().get_context_data(**kwargs)

    def back_url(self) -> str:
        return reverse("portal:request-detail", args=[self.item.pk])

    def success_url_for(self, result: Any) -> str:
        return self.back_url()


class ApproveView(DecisionView):
    action = Action.REQUEST_APPROVE
    template_name = "portal/requests/approve.html"
    heading = "Approve this request"
    submit_label = "Approve"

    def get_form_class(self) -> type[PortalForm]:
        if self.item.request_type == RequestType.PERSON_REGISTER:
            return RegisterApproveForm
        return ApproveForm

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        if self.item.request_type == RequestType.PERSON_REGISTER:
            kwargs["duplicates"] = self.duplicates
        return kwargs

    @property
    def duplicates(self) -> list[Person]:
        if not hasattr(self, "_duplicates"):
            self._duplicates = selectors.register_duplicates(actor=self.actor, request=self.item)
        return self._duplicates

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs["duplicates"] = (
            self.duplicates if self.item.request_type == RequestType.PERSON_REGISTER else []
        )
        return super().get_context_data(**kwargs)

    def perform(self, form: Any) -> Request:
        identity = form.identity() if isinstance(form, RegisterApproveForm) else None
        acknowledged = form.cleaned_data.get("acknowledged", [])
        try:
            return services.request_approve(
                actor=self.actor,
                request=self.item,
                note=form.cleaned_data.get("note", ""),
                identity=identity,
                acknowledged_duplicates=acknowledged,
            )
        except ProbableDuplicate as exc:
            raise ProbableDuplicate(
                exc.message + " Tick each one you have looked at, then approve again.",
                matches=exc.matches,
            ) from None

    def success_message(self, result: Request) -> str:
        if result.state == "approved":
            return f"{result.ref} is approved: the card can now be issued."
        return f"{result.ref} is approved and applied."


class RejectView(DecisionView):
    action = Action.REQUEST_REJECT
    form_class = ReasonForm
    heading = "Reject this request"
    submit_label = "Reject"
    button_class = "nhsuk-button--warning"

    def perform(self, form: ReasonForm) -> Request:
        return services.request_reject(
            actor=self.actor, request=self.item, reason=form.cleaned_data["reason"]
        )

    def success_message(self, result: Request) -> str:
        return f"{result.ref} is rejected; the requester has been told why."


class CancelView(DecisionView):
    action = Action.REQUEST_CANCEL
    form_class = ReasonForm
    heading = "Cancel this request"
    submit_label = "Cancel the request"
    button_class = "nhsuk-button--secondary"

    def perform(self, form: ReasonForm) -> Request:
        return services.request_cancel(
            actor=self.actor, request=self.item, reason=form.cleaned_data["reason"]
        )

    def success_message(self, result: Request) -> str:
        return f"{result.ref} is cancelled."


class EscalateView(DecisionView):
    action = Action.REQUEST_ESCALATE
    form_class = ReasonForm
    heading = "Escalate this request"
    submit_label = "Escalate"

    def perform(self, form: ReasonForm) -> Any:
        return services.request_escalate(
            actor=self.actor, request=self.item, reason=form.cleaned_data["reason"]
        )

    def success_message(self, result: Any) -> str:
        return (
            f"{self.item.ref} has been escalated to the {result.get_level_display()}. "
            "You will hear by email when it is decided."
        )


urlpatterns = [
    path("", RequestQueueView.as_view(), name="request-list"),
    path("new/", ChooseTypeView.as_view(), name="request-new"),
    path("new/<str:request_type>/", RaiseView.as_view(), name="request-raise"),
    path("<int:pk>/", RequestDetailView.as_view(), name="request-detail"),
    path("<int:pk>/approve/", ApproveView.as_view(), name="request-approve"),
    path("<int:pk>/reject/", RejectView.as_view(), name="request-reject"),
    path("<int:pk>/cancel/", CancelView.as_view(), name="request-cancel"),
    path("<int:pk>/escalate/", EscalateView.as_view(), name="request-escalate"),
]
