"""Signing in and out: the smartcard explanation, and the demo's persona sign-in."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from cis.people.models import Person, PersonStatus
from cis.portal.demo import persona_sign_in_available, personas

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("portal:home")


class SignInView(TemplateView):
    template_name = "portal/session/sign_in.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["next"] = self.request.GET.get("next", "")
        context["server"] = self.request.build_absolute_uri("/").rstrip("/")
        return context


class PersonaSignInView(View):
    """Demo only: sign in as any listed person, with no card. Absent (404) everywhere else."""

    template_name = "portal/session/personas.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not persona_sign_in_available():
            raise Http404("There is no persona sign-in here.")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        groups, holders = personas()
        return render(
            request,
            self.template_name,
            {"groups": groups, "holders": holders, "next": request.GET.get("next", "")},
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        user_id = request.POST.get("user_id", "")
        # The lookup an authentication backend would make: nobody is signed in yet to scope it.
        person = Person.objects.exclude(status=PersonStatus.CLOSED).filter(user_id=user_id).first()
        if person is None:
            raise Http404("No such persona.")
        login(request, person, backend=MODEL_BACKEND)
        messages.success(request, f"You are signed in as {person.full_name}.")
        return redirect(_safe_next(request))


class SignOutView(View):
    def post(self, request: HttpRequest) -> HttpResponse:
        logout(request)
        messages.info(request, "You have signed out.")
        return redirect("portal:sign-in")


class AccessibilityView(TemplateView):
    template_name = "portal/accessibility.html"
