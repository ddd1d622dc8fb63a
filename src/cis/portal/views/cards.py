"""Smartcard pages: a holder's "My smartcard", and the locked and expiring lists for admins.

Anything that touches the card itself (unlock, renew, change the passcode) happens in the
workstation agent with the card in a reader; these pages show where things stand, start a
self-unlock by sending the code, take the steps that need no card (report lost, cancel), and
give the exact agent command for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.urls import URLPattern, URLResolver, path, reverse

from cis.authz.actions import Action
from cis.authz.policy import can, require
from cis.core import clock
from cis.core.errors import NotFound
from cis.portal.forms.base import PortalForm
from cis.portal.navigation import NAV_ENTRIES, TASK_ENTRIES, NavEntry
from cis.smartcards import selectors, services
from cis.smartcards.models import CardCertificate, Smartcard
from cis.smartcards.states import HOLDER_REPORTABLE, CancelReason, CardStatus

from .base import PortalPage, ServiceFormView

# "My smartcard" is for everyone, in the header; the admin lists are tasks on the home page, so
# that the header (on every page) asks the policy nothing more.
CARD_NAV = NavEntry(
    "My smartcard",
    "portal:my-smartcard",
    description="Your card, its certificate and when to renew it; unlock it with a code.",
)
CARD_TASKS = [
    NavEntry(
        "Locked cards",
        "portal:cards-locked",
        Action.CARD_UNLOCK_ASSISTED,
        "Holders in your organisations whose cards are locked: unlock them with the holder.",
    ),
    NavEntry(
        "Certificates expiring",
        "portal:cards-expiring",
        Action.CARD_RENEW,
        "Holders whose certificates can be renewed now, or have expired.",
    ),
]
if CARD_NAV not in NAV_ENTRIES:
    NAV_ENTRIES.append(CARD_NAV)
for _task in CARD_TASKS:
    if _task not in TASK_ENTRIES:
        TASK_ENTRIES.append(_task)


@dataclass(frozen=True)
class CardRow:
    card: Smartcard
    current: CardCertificate | None
    renewal: str  # "", "not yet", "open" or "expired"
    renewal_opens: Any
    can_self_unlock: bool
    can_report: bool

    @property
    def expires(self) -> Any:
        return self.current.certificate.not_after if self.current else None


def _renewal(current: CardCertificate | None) -> tuple[str, Any]:
    if current is None:
        return "", None
    opens = selectors.renewal_opens(current)
    now = clock.now()
    if now >= current.certificate.not_after:
        return "expired", opens
    if now >= opens:
        return "open", opens
    return "not yet", opens


def _server(request: Any) -> str:
    return str(request.build_absolute_uri("/")).rstrip("/")


class MySmartcardView(PortalPage):
    template_name = "portal/cards/mine.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        me = self.actor
        rows = []
        for card in selectors.cards_of(actor=me, holder=me):
            current = selectors.current_certificate(card)
            renewal, opens = _renewal(current)
            rows.append(
                CardRow(
                    card=card,
                    current=current,
                    renewal=renewal,
                    renewal_opens=opens,
                    can_self_unlock=card.status in (CardStatus.ACTIVE, CardStatus.LOCKED),
                    can_report=card.live,
                )
            )
        context.update(
            heading="My smartcard",
            rows=rows,
            live=[r for r in rows if r.card.live],
            ended=[r for r in rows if not r.card.live],
            server=_server(self.request),
        )
        return context


class _OwnCardFormView(ServiceFormView[PortalForm]):
    """A form about one of the signed-in holder's own cards."""

    def card(self) -> Smartcard:
        card = services.find_card(self.kwargs["chip_serial"])
        if card.holder_id != self.actor.pk:
            raise NotFound("You have no card with that serial.")
        return card

    def back_url(self) -> str:
        return reverse("portal:my-smartcard")

    def success_url_for(self, result: Any) -> str:
        return self.back_url()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("caption", f"Card {self.kwargs['chip_serial']}")
        return super().get_context_data(**kwargs)


class UnlockCodeForm(PortalForm):
    channel = forms.ChoiceField(
        label="Where should we send the code?",
        widget=forms.RadioSelect,
        choices=[],
    )

    def __init__(self, *args: Any, channels: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["channel"]
        if isinstance(field, forms.ChoiceField):
            field.choices = channels
            field.initial = channels[0][0] if channels else None


class SelfUnlockStartView(_OwnCardFormView):
    """Send the holder a one-time code; they type it into the agent with the card in the reader."""

    template_name = "portal/cards/unlock_code.html"
    heading = "Unlock your card with a code"
    submit_label = "Send me a code"

    def check_may_act(self) -> None:
        require(self.actor, Action.CARD_UNLOCK_SELF, self.card().holder)

    def channels(self) -> list[tuple[str, str]]:
        me = self.actor
        options = []
        if me.mobile and me.mobile_verified_at:
            options.append(("mobile", f"Text message to the mobile ending {me.mobile[-4:]}"))
        if me.email and me.email_verified_at:
            options.append(("email", f"Email to {me.email}"))
        return options

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["channels"] = self.channels()
        return kwargs

    def get_form_class(self) -> type[PortalForm]:
        return UnlockCodeForm

    def perform(self, form: PortalForm) -> services.CodeSent:
        return services.card_self_unlock_send_code(
            actor=self.actor, card=self.card(), channel=form.cleaned_data["channel"]
        )

    def success_message(self, result: services.CodeSent) -> str:
        return (
            f"We sent a code to {result.sent_to}. It lasts 15 minutes and works once: with the "
            "card in the reader, run cis-agent unlock --self --code followed by the code."
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs["server"] = _server(self.request)
        return super().get_context_data(**kwargs)


class ReportForm(PortalForm):
    reason = forms.ChoiceField(
        label="What has happened to the card?",
        widget=forms.RadioSelect,
        choices=[(r.value, r.label) for r in CancelReason if r in HOLDER_REPORTABLE],
    )


class ReportLostView(_OwnCardFormView):
    template_name = "portal/cards/report.html"
    form_class = ReportForm
    heading = "Report your card lost, stolen or damaged"
    submit_label = "Cancel the card"
    button_class = "nhsuk-button--warning"

    def check_may_act(self) -> None:
        require(self.actor, Action.CARD_REPORT_LOSS, self.card().holder)

    def perform(self, form: PortalForm) -> Smartcard:
        return services.card_report_lost(
            actor=self.actor, card=self.card(), reason=form.cleaned_data["reason"]
        )

    def success_message(self, result: Smartcard) -> str:
        return (
            f"Card {result.chip_serial} is cancelled and can never be used again. Ask your "
            "Sponsor or RA for a replacement."
        )


@dataclass(frozen=True)
class AdminRow:
    card: Smartcard
    current: CardCertificate | None
    expires: Any
    expired: bool
    can_cancel: bool
    can_renew_expired: bool


class LockedCardsView(PortalPage):
    template_name = "portal/cards/locked.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        require(self.actor, Action.CARD_UNLOCK_ASSISTED)
        cards = selectors.locked_cards(actor=self.actor).prefetch_related(
            "certificates__certificate"
        )
        context.update(
            heading="Locked cards",
            rows=[
                AdminRow(
                    card=c,
                    current=None,
                    expires=None,
                    expired=False,
                    can_cancel=can(self.actor, Action.CARD_CANCEL, c.holder),
                    can_renew_expired=False,
                )
                for c in cards
            ],
            server=_server(self.request),
        )
        return context


class ExpiringCertificatesView(PortalPage):
    template_name = "portal/cards/expiring.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        require(self.actor, Action.CARD_RENEW)
        rows = [
            AdminRow(
                card=e.card,
                current=e.link,
                expires=e.expires,
                expired=e.expired,
                can_cancel=can(self.actor, Action.CARD_CANCEL, e.card.holder),
                can_renew_expired=can(self.actor, Action.CARD_RENEW_EXPIRED, e.card.holder),
            )
            for e in selectors.expiring_certificates(actor=self.actor)
        ]
        context.update(heading="Certificates expiring", rows=rows, server=_server(self.request))
        return context


class CardDetailView(PortalPage):
    template_name = "portal/cards/detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        card = selectors.card_detail(
            actor=self.actor, card=services.find_card(self.kwargs["chip_serial"])
        )
        current = selectors.current_certificate(card)
        renewal, opens = _renewal(current)
        context.update(
            heading=f"Card {card.chip_serial}",
            card=card,
            current=current,
            renewal=renewal,
            renewal_opens=opens,
            certificates=card.certificates.select_related("certificate").order_by(
                "-certificate__not_before"
            ),
            events=selectors.card_history(actor=self.actor, card=card),
            can_cancel=card.live and can(self.actor, Action.CARD_CANCEL, card.holder),
            server=_server(self.request),
        )
        return context


class CancelForm(PortalForm):
    reason = forms.ChoiceField(
        label="Why is the card being cancelled?",
        widget=forms.RadioSelect,
        choices=CancelReason.choices,
        help_text="Lost and stolen cards' certificates are revoked as compromised.",
    )


class CancelCardView(ServiceFormView[PortalForm]):
    template_name = "portal/cards/cancel.html"
    form_class = CancelForm
    heading = "Cancel this card"
    submit_label = "Cancel the card for good"
    button_class = "nhsuk-button--warning"

    def card(self) -> Smartcard:
        return services.find_card(self.kwargs["chip_serial"])

    def check_may_act(self) -> None:
        require(self.actor, Action.CARD_CANCEL, self.card().holder)

    def perform(self, form: PortalForm) -> Smartcard:
        return services.card_cancel(
            actor=self.actor, card=self.card(), reason=form.cleaned_data["reason"]
        )

    def success_message(self, result: Smartcard) -> str:
        return f"Card {result.chip_serial} is cancelled and its certificates revoked."

    def back_url(self) -> str:
        return reverse("portal:card-detail", args=[self.kwargs["chip_serial"]])

    def success_url_for(self, result: Any) -> str:
        return self.back_url()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        card = self.card()
        kwargs.setdefault("caption", f"{card.holder.full_name}, card {card.chip_serial}")
        kwargs["card"] = card
        return super().get_context_data(**kwargs)


routes: list[URLPattern | URLResolver] = [
    path("my-smartcard/", MySmartcardView.as_view(), name="my-smartcard"),
    path(
        "my-smartcard/<str:chip_serial>/unlock/",
        SelfUnlockStartView.as_view(),
        name="card-self-unlock",
    ),
    path("my-smartcard/<str:chip_serial>/report/", ReportLostView.as_view(), name="card-report"),
    path("smartcards/locked/", LockedCardsView.as_view(), name="cards-locked"),
    path("smartcards/expiring/", ExpiringCertificatesView.as_view(), name="cards-expiring"),
    path("smartcards/<str:chip_serial>/", CardDetailView.as_view(), name="card-detail"),
    path("smartcards/<str:chip_serial>/cancel/", CancelCardView.as_view(), name="card-cancel"),
]
