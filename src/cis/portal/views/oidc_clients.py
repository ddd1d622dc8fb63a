"""Clinical systems for the service desk: register an OIDC client, rotate its secret, retire it.

A new secret is shown once, on the page that answers the form, with `Cache-Control: no-store`;
it is never put in a message, the session or a redirect, and CIS keeps only its hash.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, path, reverse
from oauth2_provider.models import Application

from cis.authz.actions import Action
from cis.authz.policy import require
from cis.core.errors import DomainError, NotFound, NotPermitted
from cis.oidc.clients import (
    NewClient,
    oidc_client_get,
    oidc_client_list,
    oidc_client_register,
    oidc_client_retire,
    oidc_client_rotate_secret,
    oidc_retired_list,
)
from cis.oidc.models import RetiredClient
from cis.portal.forms.base import PortalForm
from cis.portal.forms.oidc_clients import (
    OidcClientRegisterForm,
    OidcClientRetireForm,
    OidcClientRotateForm,
)

from .base import PortalPage, ServiceFormView

CAPTION = "Clinical systems"
F = TypeVar("F", bound=PortalForm)


class OidcClientListView(PortalPage):
    template_name = "portal/oidc_clients/list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["clients"] = oidc_client_list(actor=self.actor)
        context["retired"] = oidc_retired_list(actor=self.actor)[:20]
        return context


class OidcClientDetailView(PortalPage):
    template_name = "portal/oidc_clients/detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        client = oidc_client_get(actor=self.actor, client_id=kwargs["client_id"])
        context.update(client=client, **_uris(client), back_url=reverse("portal:oidc-clients"))
        return context


def _uris(client: Application) -> dict[str, list[str]]:
    return {
        "redirect_uris": str(client.redirect_uris).split(),
        "logout_uris": str(client.post_logout_redirect_uris).split(),
    }


def _secret_shown_once(view: ServiceFormView[Any], form: Any, heading: str) -> HttpResponse:
    """Call the view's service; on success show the new secret on this answer, once."""
    try:
        made: NewClient = view.perform(form)
    except (NotPermitted, NotFound):
        raise
    except DomainError as exc:
        form.report(exc)
        return view.form_invalid(form)
    response = render(
        view.request,
        "portal/oidc_clients/secret.html",
        {
            "heading": heading,
            "client": made.application,
            "client_secret": made.client_secret,
            **_uris(made.application),
        },
    )
    response["Cache-Control"] = "no-store"
    return response


class OidcClientRegisterView(ServiceFormView[OidcClientRegisterForm]):
    form_class = OidcClientRegisterForm
    heading = "Register a clinical system"
    caption = CAPTION
    submit_label = "Register it"

    def check_may_act(self) -> None:
        require(self.actor, Action.OIDC_CLIENT_MANAGE)

    def back_url(self) -> str:
        return reverse("portal:oidc-clients")

    def perform(self, form: OidcClientRegisterForm) -> NewClient:
        return oidc_client_register(
            actor=self.actor,
            name=form.cleaned_data["name"],
            redirect_uris=form.cleaned_data["redirect_uris"],
            post_logout_redirect_uris=form.cleaned_data["post_logout_redirect_uris"],
        )

    def form_valid(self, form: OidcClientRegisterForm) -> HttpResponse:
        return _secret_shown_once(self, form, "Clinical system registered")


class _ClientForm(ServiceFormView[F]):
    """A form about one registered client; an unknown or retired client is a 404."""

    def client(self) -> Application:
        return oidc_client_get(actor=self.actor, client_id=self.kwargs["client_id"])

    def back_url(self) -> str:
        return reverse("portal:oidc-client", args=[self.kwargs["client_id"]])

    def check_may_act(self) -> None:
        self.client()  # asks the policy

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("caption", self.client().name)
        return super().get_context_data(**kwargs)


class OidcClientRotateView(_ClientForm[OidcClientRotateForm]):
    form_class = OidcClientRotateForm
    template_name = "portal/oidc_clients/rotate.html"
    heading = "Rotate the client secret"
    submit_label = "Make a new secret"
    button_class = "nhsuk-button--warning"

    def perform(self, form: OidcClientRotateForm) -> NewClient:
        return oidc_client_rotate_secret(actor=self.actor, client_id=self.kwargs["client_id"])

    def form_valid(self, form: OidcClientRotateForm) -> HttpResponse:
        return _secret_shown_once(self, form, "New client secret")


class OidcClientRetireView(_ClientForm[OidcClientRetireForm]):
    form_class = OidcClientRetireForm
    template_name = "portal/oidc_clients/retire.html"
    heading = "Retire this clinical system"
    submit_label = "Retire it for good"
    button_class = "nhsuk-button--warning"

    def perform(self, form: OidcClientRetireForm) -> RetiredClient:
        return oidc_client_retire(
            actor=self.actor, client_id=self.kwargs["client_id"], reason=form.cleaned_data["reason"]
        )

    def success_message(self, result: RetiredClient) -> str:
        return f"{result.name} ({result.client_id}) is retired: it can no longer sign anyone in."

    def success_url_for(self, result: RetiredClient) -> str:
        return reverse("portal:oidc-clients")


routes: list[URLPattern | URLResolver] = [
    path("oidc-clients/", OidcClientListView.as_view(), name="oidc-clients"),
    path("oidc-clients/new/", OidcClientRegisterView.as_view(), name="oidc-client-register"),
    path("oidc-clients/<str:client_id>/", OidcClientDetailView.as_view(), name="oidc-client"),
    path(
        "oidc-clients/<str:client_id>/rotate-secret/",
        OidcClientRotateView.as_view(),
        name="oidc-client-rotate",
    ),
    path(
        "oidc-clients/<str:client_id>/retire/",
        OidcClientRetireView.as_view(),
        name="oidc-client-retire",
    ),
]
