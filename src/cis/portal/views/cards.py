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
from django.conf import settings
from django.urls import URLPattern, URLResolver, path, reverse

from cis.audit.sentences import card_history_sentences
from cis.authz.actions import Action
from cis.authz.policy import can, require
from cis.core import clock
from cis.people.models import Person
from cis.portal.forms.base import PortalForm
from cis.portal.navigation import NAV_ENTRIES, TASK_ENTRIES, NavEntry
from cis.smartcards import selectors, services
from cis.smartcards.models import CardCertificate, Smartcard
from cis.smartcards.states import HOLDER_REPORTABLE, CancelReason, CardStatus, TaskKind

from .base import PortalPage, ServiceFormView
from .card_tasks import AgentOffer, card_spec, offer, reader_for, replace_offer

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
    offers: list[AgentOffer]

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


def own_card_rows(me: Person, request: Any = None) -> list[CardRow]:
    """The signed-in holder's cards, each with its certificate and where renewal stands (and,
    given the request, the card tasks the agent can do for them)."""
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
                offers=_holder_offers(request, card, renewal) if request is not None else [],
            )
        )
    return rows


def _server(request: Any) -> str:
    return str(request.build_absolute_uri("/")).rstrip("/")


def _holder_offers(request: Any, card: Smartcard, renewal: str) -> list[AgentOffer]:
    """What the holder can have the card agent do with their own card now."""
    if card.status == CardStatus.LOCKED:
        return [offer(request, TaskKind.SELF_UNLOCK, card=card, label="Unlock with the code")]
    if card.status != CardStatus.ACTIVE:
        return []
    offers = [offer(request, TaskKind.CHANGE_PASSCODE, card=card)]
    if renewal == "open":
        offers.insert(0, offer(request, TaskKind.RENEW, card=card, label="Renew my certificate"))
    return offers


def _admin_offers(request: Any, actor: Any, card: Smartcard, renewal: str) -> list[AgentOffer]:
    """What an LSA, Sponsor or RA can have the card agent do with a holder's card."""
    if card.holder_id == actor.pk:
        return []
    if card.status == CardStatus.LOCKED and can(actor, Action.CARD_UNLOCK_ASSISTED, card.holder):
        return [offer(request, TaskKind.UNLOCK, card=card, label="Unlock with the holder present")]
    if (
        card.status == CardStatus.ACTIVE
        and renewal == "open"
        and can(actor, Action.CARD_RENEW, card.holder)
    ):
        return [offer(request, TaskKind.RENEW, card=card, label="Renew the certificate")]
    return []


class MySmartcardView(PortalPage):
    template_name = "portal/cards/mine.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        rows = own_card_rows(self.actor, self.request)
        context.update(
            heading="My smartcard",
            rows=rows,
            live=[r for r in rows if r.card.live],
            ended=[r for r in rows if not r.card.live],
            server=_server(self.request),
            agent_url=settings.CIS_AGENT_URL,
        )
        return context


class _OwnCardFormView(ServiceFormView[PortalForm]):
    """A form about one of the signed-in holder's own cards."""

    def card(self) -> Smartcard:
        chip_serial = self.kwargs["chip_serial"]
        card = selectors.card_get(actor=self.actor, chip_serial=chip_serial)
        if card.holder_id != self.actor.pk:
            raise selectors.card_missing(chip_serial)  # these pages are for one's own cards
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
            "card in the reader, choose Unlock with the code, and type it into the card agent."
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


class ReportLockedView(_OwnCardFormView):
    """The holder says their card has locked itself (three wrong passcodes), so that CIS shows
    it locked and offers the one-time-code unlock; the agent says the same when it sees it."""

    template_name = "portal/cards/report_locked.html"
    form_class = PortalForm
    heading = "Tell us your card is locked"
    submit_label = "My card is locked"

    def check_may_act(self) -> None:
        require(self.actor, Action.CARD_REPORT_LOCKED, self.card().holder)

    def perform(self, form: PortalForm) -> Smartcard:
        return services.card_report_locked(actor=self.actor, card=self.card())

    def success_message(self, result: Smartcard) -> str:
        return f"Card {result.chip_serial} is shown as locked: unlock it with a one-time code."


class CardAgentStepView(PortalPage):
    """An RA Agent's step that only the card agent can take, with the card in the reader
    (repair, clear for reuse): the page checks the right, then gives the agent's command."""

    template_name = "portal/cards/agent_task.html"
    action: Action
    verb: str
    label: str

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        card = selectors.card_get(actor=self.actor, chip_serial=self.kwargs["chip_serial"])
        require(self.actor, self.action, card.holder)
        server, spec = _server(self.request), card_spec(card.chip_serial)
        step = AgentOffer(
            kind=self.verb,
            label=self.label,
            chip_serial=card.chip_serial,
            holder=card.holder.user_id,
            command=f"cis-agent {self.verb} --server {server} --card {spec}",
            start_agent=f"cis-agent serve --server {server} --reader {reader_for(spec)}",
        )
        context.update(heading=f"{self.label}: card {card.chip_serial}", offer=step, card=card)
        return context


class RepairCardView(CardAgentStepView):
    action = Action.CARD_REPAIR
    verb = "repair"
    label = "Repair the card, with the holder present"


class ClearCardView(CardAgentStepView):
    action = Action.CARD_CLEAR
    verb = "clear"
    label = "Clear the card for reuse"


@dataclass(frozen=True)
class AdminRow:
    card: Smartcard
    current: CardCertificate | None
    expires: Any
    expired: bool
    can_cancel: bool
    can_renew_expired: bool
    offers: list[AgentOffer]


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
                    offers=_admin_offers(self.request, self.actor, c, ""),
                )
                for c in cards
            ],
            server=_server(self.request),
            agent_url=settings.CIS_AGENT_URL,
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
                offers=[] if e.expired else _admin_offers(self.request, self.actor, e.card, "open"),
            )
            for e in selectors.expiring_certificates(actor=self.actor)
        ]
        context.update(
            heading="Certificates expiring",
            rows=rows,
            server=_server(self.request),
            agent_url=settings.CIS_AGENT_URL,
        )
        return context


class CardDetailView(PortalPage):
    template_name = "portal/cards/detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        card = selectors.card_get(actor=self.actor, chip_serial=self.kwargs["chip_serial"])
        current = selectors.current_certificate(card)
        renewal, opens = _renewal(current)
        history = selectors.card_history(actor=self.actor, card=card)
        context.update(
            heading=f"Card {card.chip_serial}",
            card=card,
            current=current,
            renewal=renewal,
            renewal_opens=opens,
            certificates=card.certificates.select_related("certificate").order_by(
                "-certificate__not_before"
            ),
            events=list(
                zip(history, card_history_sentences(history, card.holder.full_name), strict=True)
            ),
            can_cancel=card.live and can(self.actor, Action.CARD_CANCEL, card.holder),
            can_repair=card.live
            and card.holder_id != self.actor.pk
            and can(self.actor, Action.CARD_REPAIR, card.holder),
            can_clear=card.holder_id != self.actor.pk
            and can(self.actor, Action.CARD_CLEAR, card.holder),
            server=_server(self.request),
            offers=_admin_offers(self.request, self.actor, card, renewal)
            + replace_offer(self.request, self.actor, card),
            agent_url=settings.CIS_AGENT_URL,
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
        return selectors.card_get(actor=self.actor, chip_serial=self.kwargs["chip_serial"])

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
    path(
        "my-smartcard/<str:chip_serial>/locked/",
        ReportLockedView.as_view(),
        name="card-report-locked",
    ),
    path("smartcards/locked/", LockedCardsView.as_view(), name="cards-locked"),
    path("smartcards/expiring/", ExpiringCertificatesView.as_view(), name="cards-expiring"),
    path("smartcards/<str:chip_serial>/", CardDetailView.as_view(), name="card-detail"),
    path("smartcards/<str:chip_serial>/cancel/", CancelCardView.as_view(), name="card-cancel"),
    path("smartcards/<str:chip_serial>/repair/", RepairCardView.as_view(), name="card-repair"),
    path("smartcards/<str:chip_serial>/clear/", ClearCardView.as_view(), name="card-clear"),
]
