"""Revoking a batch of certificates at once (a batch of cards lost together, a supplier's
compromised run): a list of serials and a reason, a check of every line, a confirmation of
exactly what will be revoked, then all of them or none (cis.pki.services.certificates_revoke)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from cis.authz.actions import Action
from cis.authz.policy import require
from cis.core.errors import DomainError
from cis.pki.services import RevocationLine, certificates_revoke, certificates_revoke_check
from cis.pki.states import RevocationReason
from cis.portal.forms.certificates import BulkRevokeConfirmForm, BulkRevokeForm

from .base import SignedInMixin
from .certificates import rows_for

# The last batch this browser revoked, for the done page (serials only: no personal data).
DONE_KEY = "portal.certificates.revoked"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


class CertificateBulkRevokeView(SignedInMixin, View):
    """GET: the list form. POST: check it (every line at once) and show the confirmation; or,
    sent from the confirmation, revoke."""

    template_name = "portal/certificates/bulk_revoke.html"
    confirm_template_name = "portal/certificates/bulk_revoke_confirm.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        # Only for those who may revoke at all; the service decides each certificate.
        require(self.actor, Action.CERTIFICATE_REVOKE)
        return self._entry(BulkRevokeForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        require(self.actor, Action.CERTIFICATE_REVOKE)
        if "confirm" in request.POST:
            return self._revoke(BulkRevokeConfirmForm(request.POST))
        form = BulkRevokeForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._entry(form)
        return self._check(form.cleaned_data["lines"], form.cleaned_data["reason"], form)

    def _check(self, lines: list[str], reason: str, form: BulkRevokeForm) -> HttpResponse:
        try:
            checked = certificates_revoke_check(actor=self.actor, lines=lines)
        except DomainError as exc:
            form.report(exc)
            return self._entry(form)
        refused = [line for line in checked if line.problem]
        if refused:
            # The whole list back in the box (a file's lines too), numbered as reported.
            again = BulkRevokeForm({"serials": "\n".join(lines), "reason": reason})
            again.is_valid()
            numbers = ", ".join(str(line.number) for line in refused[:10])
            more = "" if len(refused) <= 10 else f" and {len(refused) - 10:,} more"
            which = f"line {numbers}" if len(refused) == 1 else f"lines {numbers}{more}"
            again.add_error(
                "serials",
                f"{_count(len(refused), 'line')} cannot be revoked ({which}). Nothing has been "
                "revoked: correct or remove them and check again",
            )
            return self._entry(again, refused=refused)
        return self._confirmation(checked, reason)

    def _confirmation(self, checked: list[RevocationLine], reason: str) -> HttpResponse:
        certificates = [line.certificate for line in checked if line.certificate is not None]
        confirm = BulkRevokeConfirmForm(
            initial={"serials": " ".join(c.serial_hex for c in certificates), "reason": reason}
        )
        return render(
            self.request,
            self.confirm_template_name,
            {
                "heading": f"Revoke {_count(len(certificates), 'certificate')}?",
                "rows": rows_for(self.actor, certificates),
                "count": len(certificates),
                "repeats": sum(1 for line in checked if line.repeats is not None),
                "reason": RevocationReason(reason).label,
                "form": confirm,
                "back_url": reverse("portal:certificate-bulk-revoke"),
            },
        )

    def _revoke(self, form: BulkRevokeConfirmForm) -> HttpResponse:
        if not form.is_valid():
            return redirect("portal:certificate-bulk-revoke")
        serials = form.cleaned_data["serials"].split()
        reason = form.cleaned_data["reason"]
        try:
            revoked = certificates_revoke(actor=self.actor, serials=serials, reason=reason)
        except DomainError:
            # Something changed since the confirmation (revoked meanwhile, moved out of
            # scope): nothing was revoked; every line is checked again and shown.
            return self._check(serials, reason, BulkRevokeForm())
        self.request.session[DONE_KEY] = {
            "serials": [cert.serial_hex for cert in revoked],
            "reason": str(RevocationReason(reason).label),
        }
        return redirect("portal:certificate-bulk-revoked")

    def _entry(
        self, form: BulkRevokeForm, refused: list[RevocationLine] | None = None
    ) -> HttpResponse:
        return render(
            self.request,
            self.template_name,
            {
                "heading": "Revoke certificates in bulk",
                "form": form,
                "refused": refused or [],
                "submit_label": "Check the list",
                "back_url": reverse("portal:certificate-search"),
            },
        )


class CertificateBulkRevokedView(SignedInMixin, View):
    """The done page: how many were revoked, and each one's page."""

    def get(self, request: HttpRequest) -> HttpResponse:
        done = request.session.get(DONE_KEY)
        if not done:
            return redirect("portal:certificate-bulk-revoke")
        return render(
            request,
            "portal/certificates/bulk_revoked.html",
            {
                "heading": "Certificates revoked",
                "serials": done["serials"],
                "count": len(done["serials"]),
                "reason": done["reason"],
            },
        )
