"""Requests to the RA in the portal: the queue, raising one, its page, and every decision on it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import path, reverse

from cis.authz.actions import Action
from cis.authz.policy import can, request_types_allowed, require
from cis.core import clock
from cis.core.errors import NotFound, ProbableDuplicate, ValidationFailed
from cis.people.models import Person
from cis.people.selectors import person_get, person_search
from cis.portal.formatting import long_date
from cis.portal.forms.base import PortalForm
from cis.portal.forms.requests import (
    ApproveForm,
    ChooseTypeForm,
    CommentForm,
    ReasonForm,
    ReassignForm,
    RegisterApproveForm,
    RequestForm,
)
from cis.rbac.selectors import position_list
from cis.rights.models import Right
from cis.workflow import schemas, selectors, services
from cis.workflow.models import Request
from cis.workflow.payloads import NAME_EVIDENCE, REPLACEMENT_REASONS
from cis.workflow.selectors import AGES, QueueFilter
from cis.workflow.states import RequestType

from .base import PortalPage, ServiceFormView, page_of
from .card_tasks import request_card_offers

QUEUE_PAGE = 50  # requests a page of the queue shows

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
VIEW_LABELS = {
    "open": "Open",
    "escalated": "Escalated",
    "awaiting-card": "Awaiting card",
    "closed": "Closed (30 days)",
    "mine": "Your requests",
    "about-me": "About you",
}


def _raisable_types(actor: Person) -> list[tuple[str, str]]:
    """Every type, less the rights types for anyone who is not an RA Manager."""
    allowed = set(request_types_allowed(actor, RequestType.values))
    return [(v, label) for v, label in RequestType.choices if v in allowed]


def _payload_rows(actor: Person, request: Request) -> list[tuple[str, Any]]:
    """The payload as label and value, codes spelled out and what it replaces shown."""
    words: dict[str, dict[str, str]] = {
        "evidence": NAME_EVIDENCE,
        "right": dict(Right.choices),
        "reason": REPLACEMENT_REASONS if request.request_type == RequestType.CARD_REPLACE else {},
    }
    before = request.payload.get("before", {})
    rows = []
    for key, value in request.payload.items():
        if key == "before" or value in (None, ""):
            continue
        shown = _readable(words.get(key, {}).get(str(value), value))
        if key in before:
            shown = f"{shown} (was {_readable(before[key]) or 'blank'})"
        label = key.replace("_", " ").capitalize()
        if key == "position_id":
            label, shown = "Position", _position_name(actor, value)
        rows.append((label, shown))
    return rows


def _escalation_route(request: Request) -> list[tuple[str, str, bool]]:
    """Who has the request at each level, and whether it is there now (the escalation route)."""
    level = request.escalation_level
    agent = (
        f"{request.assigned_to.full_name}, RA Agent"
        if request.assigned_to
        else f"The RA Agents of {request.ra.name}"
    )
    return [
        ("1", agent, level == 0 or (request.assigned_to is not None and request.is_open)),
        ("2", f"The RA Managers of {request.ra.name}", level == 1 and not request.assigned_to),
        ("3", "The national service desk", level == 2 and not request.assigned_to),
    ]


def _readable(value: Any) -> Any:
    """Dates as people write them, lists as words, never a stored code."""
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        return long_date(dt.date.fromisoformat(value))
    if isinstance(value, list):
        return ", ".join(str(v).replace("_", " ") for v in value)
    return value


def _position_name(actor: Person, position_id: Any) -> str:
    found = position_list(actor=actor).filter(pk=position_id).first() if position_id else None
    return f"{found.name} at {found.organisation.name}" if found else "A position you cannot see"


def result_person(request: Request) -> str:
    """The user id of the person a request made or changed, for a link to their page."""
    kind, _, ref = request.result_ref.partition(":")
    return ref if kind == "person" else ""


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
        page = page_of(
            self.request,
            selectors.request_queue(actor=self.actor, filters=filters),
            limit=QUEUE_PAGE,
        )
        query = {k: v for k, v in params.items() if k not in ("view", "cursor") and v}
        suffix = "".join(f"&{k}={v}" for k, v in query.items())
        context.update(
            heading="Requests",
            view=view,
            tabs=[(key, label, f"?view={key}{suffix}") for key, label in VIEW_LABELS.items()],
            rows=page.results,
            page=page,
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
            payload=_payload_rows(self.actor, request),
            result_person=result_person(request),
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
            may_reassign=is_open and can(actor, Action.REQUEST_REASSIGN, request),
            may_comment=not request.is_closed and can(actor, Action.REQUEST_COMMENT, request),
            comment_form=CommentForm(),
            card_serial=request.result_ref.removeprefix("card:")
            if request.result_ref.startswith("card:")
            else "",
            route=_escalation_route(request),
            card_offers=request_card_offers(self.request, actor, request),
            agent_url=settings.CIS_AGENT_URL,
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


PEOPLE_FOUND = 20


class RaiseView(ServiceFormView[RequestForm]):
    form_class = RequestForm
    template_name = "portal/requests/raise.html"
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
        kwargs.update(
            actor=self.actor,
            request_type=self.request_type,
            subject=self.request.GET.get("user_id", "").strip(),
        )
        return kwargs

    def get_initial(self) -> dict[str, Any]:
        return {"user_id": self.request.GET.get("user_id", "")}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs["heading"] = RequestType(self.request_type).label
        kwargs["caption"] = "Raise a request"
        context = super().get_context_data(**kwargs)
        # Finding the person: a GET search step, then a choice (no JavaScript needed).
        form = context["form"]
        context["finds_person"] = "user_id" in form.fields
        if context["finds_person"]:
            q = " ".join(self.request.GET.get("q", "").split())[:100]
            context["q"] = q
            context["found"] = (
                list(person_search(actor=self.actor, query=q, limit=PEOPLE_FOUND)) if q else []
            )
            user_id = form["user_id"].value() or ""
            try:
                context["chosen"] = person_get(actor=self.actor, user_id=str(user_id).strip())
            except (NotFound, ValidationFailed):
                context["chosen"] = None
        return context

    def perform(self, form: RequestForm) -> Request:
        try:
            return services.request_raise(
                actor=self.actor,
                request_type=self.request_type,
                payload=form.payload(),
                note=form.cleaned_data.get("note", ""),
            )
        except NotFound as exc:
            if not exc.field:
                raise
            # Someone unknown or out of sight, typed in a field: say so at the field and keep
            # everything typed, rather than a "not found" page that loses the form.
            raise ValidationFailed(exc.message, field=exc.field) from None

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
            registering = schemas.load(self.item, schemas.PersonRegister)
            kwargs["asks_position"] = registering.position_id is not None
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
                partial_reason=form.cleaned_data.get("partial_reason", ""),
            )
        except ProbableDuplicate as exc:
            raise ProbableDuplicate(
                exc.message + " Tick each one you have looked at, then approve again.",
                matches=exc.matches,
            ) from None

    def success_message(self, result: Request) -> str:
        if result.state == "approved":
            return (
                f"{result.ref} is approved: the card can now be issued at an RA workstation, and "
                "the request closes when it is."
            )
        if result.state == "applied" and result.decision_reason:
            return f"{result.ref} is approved in part and applied."
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


class CommentView(DecisionView):
    action = Action.REQUEST_COMMENT
    form_class = CommentForm
    heading = "Comment on this request"
    submit_label = "Add the comment"

    def perform(self, form: CommentForm) -> Any:
        return services.request_comment(
            actor=self.actor, request=self.item, text=form.cleaned_data["text"]
        )

    def success_message(self, result: Any) -> str:
        return "Your comment has been added."


class ReassignView(DecisionView):
    action = Action.REQUEST_REASSIGN
    form_class = ReassignForm
    heading = "Hand this request to an RA Agent"
    submit_label = "Reassign"

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["agents"] = selectors.reassign_candidates(actor=self.actor, request=self.item)
        return kwargs

    def perform(self, form: ReassignForm) -> Request:
        agent = person_get(actor=self.actor, user_id=form.cleaned_data["agent"])
        return services.request_reassign(
            actor=self.actor,
            request=self.item,
            agent=agent,
            note=form.cleaned_data.get("note", ""),
        )

    def success_message(self, result: Request) -> str:
        name = result.assigned_to.full_name if result.assigned_to else "the agent"
        return f"{result.ref} is now with {name}, who has been emailed."


urlpatterns = [
    path("", RequestQueueView.as_view(), name="request-list"),
    path("new/", ChooseTypeView.as_view(), name="request-new"),
    path("new/<str:request_type>/", RaiseView.as_view(), name="request-raise"),
    path("<int:pk>/", RequestDetailView.as_view(), name="request-detail"),
    path("<int:pk>/approve/", ApproveView.as_view(), name="request-approve"),
    path("<int:pk>/reject/", RejectView.as_view(), name="request-reject"),
    path("<int:pk>/cancel/", CancelView.as_view(), name="request-cancel"),
    path("<int:pk>/escalate/", EscalateView.as_view(), name="request-escalate"),
    path("<int:pk>/comment/", CommentView.as_view(), name="request-comment"),
    path("<int:pk>/reassign/", ReassignView.as_view(), name="request-reassign"),
]
