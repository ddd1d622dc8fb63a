"""Certificate pages: the ones a person holds, a search for admins, detail, and revoke (RA)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.views import View

from cis.authz.actions import Action
from cis.authz.policy import can, require
from cis.core import clock
from cis.core.errors import ValidationFailed
from cis.people.selectors import person_get
from cis.pki.models import Certificate
from cis.pki.selectors import certificate_get, certificate_search, certificates_of
from cis.pki.services import certificate_revoke
from cis.pki.states import STATUS_LABELS, RevocationReason
from cis.portal.forms.base import PortalForm
from cis.portal.navigation import NAV_ENTRIES, NavEntry

from .base import PortalPage, ServiceFormView, SignedInMixin

CERTIFICATE_NAV = [
    NavEntry(
        "My certificates",
        "portal:my-certificates",
        description="Your smartcard certificates: which are in force and when they expire.",
    ),
    NavEntry(
        "Certificates",
        "portal:certificate-search",
        Action.CERTIFICATE_VIEW,
        "Find certificates by holder or serial number; revoke one (RA).",
    ),
]
for _entry in CERTIFICATE_NAV:
    if _entry not in NAV_ENTRIES:
        NAV_ENTRIES.append(_entry)

SHOWN = 100
STATUS_COLOURS = {"valid": "green", "expired": "grey", "revoked": "red", "superseded": "grey"}


@dataclass(frozen=True)
class CertificateRow:
    certificate: Certificate
    status: str
    status_label: str
    colour: str
    days_left: int | None
    can_revoke: bool


def rows_for(actor: Any, certificates: Any) -> list[CertificateRow]:
    now = clock.now()
    rows = []
    for cert in certificates:
        status = cert.effective_status(now)
        rows.append(
            CertificateRow(
                certificate=cert,
                status=status,
                status_label=STATUS_LABELS[status],
                colour=STATUS_COLOURS[status],
                days_left=(cert.not_after - now).days if status == "valid" else None,
                can_revoke=status in ("valid", "expired")
                and cert.status == "valid"
                and can(actor, Action.CERTIFICATE_REVOKE, cert),
            )
        )
    return rows


class MyCertificatesView(PortalPage):
    template_name = "portal/certificates/person.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        me = self.actor
        context.update(
            heading="My certificates",
            person=me,
            own=True,
            rows=rows_for(me, certificates_of(actor=me, person=me)),
        )
        return context


class PersonCertificatesView(PortalPage):
    template_name = "portal/certificates/person.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        person = person_get(actor=self.actor, user_id=self.kwargs["user_id"])
        context.update(
            heading=f"{person.full_name}'s certificates",
            person=person,
            own=person.pk == self.actor.pk,
            rows=rows_for(self.actor, certificates_of(actor=self.actor, person=person)),
        )
        return context


class SearchForm(forms.Form):
    q = forms.CharField(
        label="Name, user id or serial number",
        required=False,
        max_length=100,
    )
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Any"), *((k, v) for k, v in STATUS_LABELS.items())],
    )


class CertificateSearchView(PortalPage):
    template_name = "portal/certificates/search.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        require(self.actor, Action.CERTIFICATE_VIEW)
        form = SearchForm(self.request.GET or None)
        query, status = "", ""
        if form.is_valid():
            query, status = form.cleaned_data["q"].strip(), form.cleaned_data["status"]
        found = certificate_search(actor=self.actor, query=query, status=status)
        page = list(found[: SHOWN + 1])
        context.update(
            heading="Certificates",
            may_revoke=can(self.actor, Action.CERTIFICATE_REVOKE),
            form=form,
            query=query,
            rows=rows_for(self.actor, page[:SHOWN]),
            more=len(page) > SHOWN,
            shown=SHOWN,
        )
        return context


class CertificateDetailView(PortalPage):
    template_name = "portal/certificates/detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        cert = certificate_get(actor=self.actor, serial=self.kwargs["serial"])
        (row,) = rows_for(self.actor, [cert])
        context.update(
            heading=f"Certificate {cert.serial_hex}",
            row=row,
            certificate=cert,
            own=cert.person_id == self.actor.pk,
        )
        return context


class CertificateDownloadView(SignedInMixin, View):
    """The certificate itself, PEM, for a holder or admin who may see it."""

    def get(self, request: HttpRequest, serial: str) -> HttpResponse:
        cert = certificate_get(actor=self.actor, serial=serial)
        response = HttpResponse(cert.pem, content_type="application/x-pem-file")
        response["Content-Disposition"] = f'attachment; filename="{cert.serial_hex}.pem"'
        return response


REASON_HINTS = {
    RevocationReason.KEY_COMPROMISE: "The private key may be known to someone else.",
    RevocationReason.AFFILIATION_CHANGED: "The holder's name or organisation has changed.",
    RevocationReason.SUPERSEDED: "A replacement certificate has been issued.",
    RevocationReason.CESSATION_OF_OPERATION: "The holder no longer needs the certificate.",
    RevocationReason.PRIVILEGE_WITHDRAWN: "The holder is no longer entitled to it.",
    RevocationReason.UNSPECIFIED: "None of the above applies.",
}


class RevokeForm(PortalForm):
    reason = forms.ChoiceField(
        label="Why is the certificate being revoked?",
        widget=forms.RadioSelect,
        choices=[(r.value, r.label) for r in REASON_HINTS],
        help_text="Revocation is final: the certificate can never be used again.",
    )
    default_field = "reason"


class CertificateRevokeView(ServiceFormView[PortalForm]):
    template_name = "portal/certificates/revoke.html"
    form_class = RevokeForm
    heading = "Revoke this certificate"
    submit_label = "Revoke the certificate"
    button_class = "nhsuk-button--warning"

    def certificate(self) -> Certificate:
        return certificate_get(actor=self.actor, serial=self.kwargs["serial"])

    def check_may_act(self) -> None:
        require(self.actor, Action.CERTIFICATE_REVOKE, self.certificate())

    def perform(self, form: PortalForm) -> Certificate:
        try:
            return certificate_revoke(
                actor=self.actor,
                certificate=self.certificate(),
                reason=form.cleaned_data["reason"],
            )
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, field="reason") from None

    def success_message(self, result: Certificate) -> str:
        return (
            f"Certificate {result.serial_hex} is revoked "
            f"({result.get_revocation_reason_display().lower()}). The CRL and OCSP show it now."
        )

    def back_url(self) -> str:
        return reverse("portal:certificate-detail", args=[self.kwargs["serial"]])

    def success_url_for(self, result: Any) -> str:
        return self.back_url()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        cert = self.certificate()
        kwargs.setdefault("caption", f"{cert.person.full_name}, serial {cert.serial_hex}")
        kwargs["certificate"] = cert
        kwargs["hints"] = {r.value: h for r, h in REASON_HINTS.items()}
        return super().get_context_data(**kwargs)


def _batch_routes() -> list[URLPattern | URLResolver]:
    from .certificate_batches import (  # noqa: PLC0415 - that module builds on this one
        CertificateBulkRevokedView,
        CertificateBulkRevokeView,
    )

    return [
        path(
            "certificates/revoke/",
            CertificateBulkRevokeView.as_view(),
            name="certificate-bulk-revoke",
        ),
        path(
            "certificates/revoke/done/",
            CertificateBulkRevokedView.as_view(),
            name="certificate-bulk-revoked",
        ),
    ]


urlpatterns: list[URLPattern | URLResolver] = [
    path("my-certificates/", MyCertificatesView.as_view(), name="my-certificates"),
    path("certificates/", CertificateSearchView.as_view(), name="certificate-search"),
    *_batch_routes(),  # before certificates/<serial>/, which "revoke" would match
    path("certificates/<str:serial>/", CertificateDetailView.as_view(), name="certificate-detail"),
    path(
        "certificates/<str:serial>/certificate.pem",
        CertificateDownloadView.as_view(),
        name="certificate-download",
    ),
    path(
        "certificates/<str:serial>/revoke/",
        CertificateRevokeView.as_view(),
        name="certificate-revoke",
    ),
    path(
        "people/<str:user_id>/certificates/",
        PersonCertificatesView.as_view(),
        name="person-certificates",
    ),
]
