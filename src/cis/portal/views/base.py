"""What every signed-in page shares: sign-in first, and domain refusals mapped once to 403/404."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.generic import FormView, TemplateView

from cis.core.errors import DomainError, NotFound, NotPermitted, ValidationFailed
from cis.core.pagination import KeysetPage, keyset_page
from cis.people.models import Person
from cis.portal.forms.base import PortalForm

from .errors import kept_input

F = TypeVar("F", bound=PortalForm)
M = TypeVar("M", bound=Model)

if TYPE_CHECKING:
    GenericFormView = FormView
else:

    class GenericFormView(FormView):
        """FormView taking a form type parameter at run time, as django-stubs declares it."""

        def __class_getitem__(cls, item: object) -> type:
            return cls


def page_of(request: HttpRequest, rows: QuerySet[M], *, limit: int) -> KeysetPage[M]:
    """The keyset page `?cursor=` asks for; a damaged or stale cursor starts from the first."""
    try:
        return keyset_page(rows, cursor=request.GET.get("cursor") or None, limit=limit)
    except ValidationFailed:
        return keyset_page(rows, limit=limit)


def forbidden(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "403.html", {"reason": reason}, status=403)


class SignedInMixin(LoginRequiredMixin):
    """Anonymous people are sent to sign in; NotPermitted is a 403 page, NotFound a 404."""

    request: HttpRequest

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return super().dispatch(request, *args, **kwargs)
        except NotPermitted as exc:
            return forbidden(request, exc.message)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    @property
    def actor(self) -> Person:
        # LoginRequiredMixin has already turned away anyone who is not a signed-in Person.
        return cast(Person, self.request.user)


class PortalPage(SignedInMixin, TemplateView):
    """A read-only page for a signed-in person."""


class ServiceFormView(SignedInMixin, GenericFormView[F]):
    """A form that calls exactly one service. A refusal becomes a form error; nothing changes."""

    template_name = "portal/form_page.html"
    heading: ClassVar[str] = ""
    caption: ClassVar[str] = ""
    submit_label: ClassVar[str] = "Continue"
    button_class: ClassVar[str] = ""

    def check_may_act(self) -> None:
        """Offer the form (and take it) only where the policy would let the actor act at all.

        The service asks the policy again with the exact target; this only spares people a form
        they could never submit. Raise NotPermitted (a 403 page) or NotFound (a 404).
        """

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.check_may_act()
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.check_may_act()
        return super().post(request, *args, **kwargs)

    def perform(self, form: F) -> Any:
        """Call the one service this form exists for, and return what it returns."""
        raise NotImplementedError

    def success_message(self, result: Any) -> str:
        return ""

    def success_url_for(self, result: Any) -> str:
        raise NotImplementedError

    def done(self, result: Any) -> None:
        """Tidy up after the service has succeeded (after the success message is composed)."""

    def back_url(self) -> str:
        return ""

    def get_initial(self) -> dict[str, Any]:
        # Answers kept from this form's last sending, when its page had expired (CSRF).
        initial = super().get_initial()
        if self.request.method == "GET":
            initial.update(kept_input(self.request))
        return initial

    def form_valid(self, form: F) -> HttpResponse:
        try:
            result = self.perform(form)
        except (NotPermitted, NotFound):
            raise
        except DomainError as exc:
            form.report(exc)
            return self.form_invalid(form)
        message = self.success_message(result)
        self.done(result)
        if message:
            messages.success(self.request, message)
        return redirect(self.success_url_for(result))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("heading", self.heading)
        context.setdefault("caption", self.caption)
        context.setdefault("submit_label", self.submit_label)
        context.setdefault("button_class", self.button_class)
        context.setdefault("back_url", self.back_url())
        return context
