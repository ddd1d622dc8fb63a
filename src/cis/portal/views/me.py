"""My details: a card holder's own profile, and changing their own email or mobile."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse

from cis.people.models import ContactChannel, ContactVerification, Person
from cis.people.services import contact_change_confirm, contact_change_start
from cis.portal.forms.base import PortalForm
from cis.portal.forms.contact import ContactCodeForm, EmailChangeForm, MobileChangeForm
from cis.rbac.selectors import assignment_list
from cis.rights.selectors import grant_list

from .base import PortalPage, ServiceFormView
from .rows import assignment_rows, grant_rows

PENDING_KEY = "cis_contact_change"
CHANNEL_WORDS = {ContactChannel.EMAIL: "email address", ContactChannel.MOBILE: "mobile number"}


class MyDetailsView(PortalPage):
    template_name = "portal/me/details.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        me = self.actor
        context["person"] = me
        context["assignments"] = assignment_rows(
            assignment_list(actor=me, person=me).order_by("-start_date", "id")
        )
        context["grants"] = grant_rows(grant_list(actor=me, person=me).order_by("right", "id"))
        context["pending"] = self.request.session.get(PENDING_KEY)
        return context


class ContactChangeView(ServiceFormView[PortalForm]):
    """Ask for a new email or mobile and send a code to it; the old one stays until confirmed."""

    template_name = "portal/me/contact_change.html"
    submit_label = "Send a code"
    channel: ContactChannel = ContactChannel.EMAIL

    def get_form_class(self) -> type[PortalForm]:
        return EmailChangeForm if self.channel == ContactChannel.EMAIL else MobileChangeForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        words = CHANNEL_WORDS[self.channel]
        kwargs.setdefault("heading", f"Change your {words}")
        kwargs["channel"] = self.channel
        kwargs["current"] = getattr(self.actor, self.channel)
        return super().get_context_data(**kwargs)

    def back_url(self) -> str:
        return reverse("portal:my-details")

    def perform(self, form: PortalForm) -> ContactVerification:
        return contact_change_start(
            actor=self.actor,
            person=self.actor,
            channel=self.channel,
            new_value=form.cleaned_data[self.channel],
        )

    def success_message(self, result: ContactVerification) -> str:
        return f"We have sent a code to {result.new_value}."

    def done(self, result: ContactVerification) -> None:
        # The code page needs to know which pending change it confirms, and where it went.
        self.request.session[PENDING_KEY] = {
            "id": result.pk,
            "channel": result.channel,
            "to": result.new_value,
        }

    def success_url_for(self, result: ContactVerification) -> str:
        return reverse("portal:contact-confirm")


class ContactConfirmView(ServiceFormView[ContactCodeForm]):
    """Enter the code sent to the new email or mobile; only then does it replace the old one."""

    template_name = "portal/me/contact_confirm.html"
    form_class = ContactCodeForm
    submit_label = "Confirm"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and not request.session.get(PENDING_KEY):
            messages.info(request, "There is no change of contact details waiting for a code.")
            return redirect("portal:my-details")
        return super().dispatch(request, *args, **kwargs)

    @property
    def pending(self) -> dict[str, Any]:
        return dict(self.request.session[PENDING_KEY])

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["digits"] = settings.CIS_OTP_DIGITS
        return kwargs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        pending = self.pending
        words = CHANNEL_WORDS[ContactChannel(pending["channel"])]
        kwargs.setdefault("heading", "Enter the code")
        kwargs["pending"] = pending
        kwargs["words"] = words
        kwargs["resend_url"] = reverse(f"portal:change-{pending['channel']}")
        kwargs["lifetime_minutes"] = settings.CIS_OTP_LIFETIME_SECONDS // 60
        return super().get_context_data(**kwargs)

    def back_url(self) -> str:
        return reverse("portal:my-details")

    def perform(self, form: ContactCodeForm) -> Person:
        return contact_change_confirm(
            actor=self.actor,
            person=self.actor,
            verification_id=int(self.pending["id"]),
            code=form.cleaned_data["code"],
        )

    def success_message(self, result: Person) -> str:
        pending = self.pending
        words = CHANNEL_WORDS[ContactChannel(pending["channel"])]
        return f"Your {words} is now {pending['to']}."

    def done(self, result: Person) -> None:
        del self.request.session[PENDING_KEY]

    def success_url_for(self, result: Person) -> str:
        return reverse("portal:my-details")
