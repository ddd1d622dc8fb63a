"""Card tasks from the portal: a button hands the task to the workstation agent on this computer.

The button's form posts here. With JavaScript (static/portal/js/card-agent.js), the page asks
for JSON: the task's reference and one-time secret, which the script hands to the local agent
(`cis-agent serve`), never putting them in a URL. Without JavaScript, or when no agent answers,
the page offers how to start the agent and the one command that does the same step, with the
card's SPEC filled in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, path
from django.views import View

from cis.authz.actions import Action
from cis.authz.policy import can
from cis.core import clock
from cis.core.errors import DomainError, NotFound, NotPermitted
from cis.people.models import Person
from cis.people.selectors import person_get
from cis.portal.demo import persona_sign_in_available
from cis.signin import browser
from cis.smartcards import selectors
from cis.smartcards.models import Smartcard
from cis.smartcards.services import tasks
from cis.smartcards.states import CancelReason, CardStatus, TaskKind
from cis.workflow import schemas
from cis.workflow.models import Request
from cis.workflow.states import RequestState, RequestType

from .base import SignedInMixin


def server_url(request: HttpRequest) -> str:
    return str(request.build_absolute_uri("/")).rstrip("/")


def _demo_card_files() -> list[Path]:
    folder = Path(settings.DATA_DIR) / "cards"
    return sorted(folder.glob("*.card")) if folder.is_dir() else []


def _virtual_serial(path: Path) -> str:
    try:
        return str(json.loads(path.read_text()).get("serial", ""))
    except (OSError, ValueError, AttributeError):
        return ""


def card_spec(chip_serial: str) -> str:
    """The SPEC a workstation opens this card with: the demo's file, else the reader's card."""
    if persona_sign_in_available():
        for candidate in _demo_card_files():
            if _virtual_serial(candidate) == chip_serial:
                return f"virtual:{candidate}"
    return f"pkcs11:{settings.CIS_AGENT_PKCS11_MODULE}:{chip_serial}"


def blank_card_spec() -> str:
    if persona_sign_in_available():
        for candidate in _demo_card_files():
            if candidate.name.startswith("blank"):
                return f"virtual:{candidate}"
    return f"pkcs11:{settings.CIS_AGENT_PKCS11_MODULE}:LABEL"


def reader_for(spec: str) -> str:
    """What `cis-agent serve --reader` needs to find this card by itself."""
    if spec.startswith("virtual:"):
        return spec
    return f"pkcs11:{settings.CIS_AGENT_PKCS11_MODULE}"


@dataclass(frozen=True)
class AgentOffer:
    """One card task as a page offers it: the button, and the commands for when no agent runs."""

    kind: str
    label: str
    chip_serial: str = ""
    holder: str = ""
    reason: str = ""
    command: str = ""
    start_agent: str = ""
    reasons: tuple[tuple[str, str], ...] = tuple(CancelReason.choices)


def offer(
    request: HttpRequest,
    kind: TaskKind,
    *,
    card: Smartcard | None = None,
    holder: Person | None = None,
    reason: str = "",
    label: str = "",
) -> AgentOffer:
    server = server_url(request)
    spec = card_spec(card.chip_serial) if card else blank_card_spec()
    if kind in (TaskKind.ISSUE, TaskKind.REPLACE):
        spec = blank_card_spec()
    base = f"--server {server} --card {spec}"
    command = {
        TaskKind.RENEW: f"cis-agent renew {base}",
        TaskKind.CHANGE_PASSCODE: f"cis-agent change-passcode {base}",
        TaskKind.SELF_UNLOCK: f"cis-agent unlock --self {base}",
        TaskKind.UNLOCK: f"cis-agent unlock {base}",
        TaskKind.ISSUE: f"cis-agent issue {base} --holder {holder.user_id if holder else ''}",
        TaskKind.REPLACE: (
            f"cis-agent replace {base} --old {card.chip_serial if card else ''} "
            f"--reason {reason or 'REASON'}"
        ),
    }[kind]
    return AgentOffer(
        kind=kind.value,
        label=label or kind.label,
        chip_serial=card.chip_serial if card else "",
        holder=holder.user_id if holder else "",
        reason=reason,
        command=command,
        start_agent=f"cis-agent serve --server {server} --reader {reader_for(spec)}",
    )


def person_card_context(request: HttpRequest, actor: Person, person: Person) -> dict[str, Any]:
    """A person's page: their cards, and, for an RA Agent, a button to issue a new one."""
    cards = (
        selectors.cards_of(actor=actor, holder=person)
        if can(actor, Action.CARD_VIEW, person)
        else []
    )
    offers = []
    if person.pk != actor.pk and can(actor, Action.CARD_ISSUE, person):
        offers.append(offer(request, TaskKind.ISSUE, holder=person, label="Issue a new card"))
    return {"person_cards": cards, "card_offers": offers, "agent_url": settings.CIS_AGENT_URL}


def replace_offer(
    request: HttpRequest, actor: Person, card: Smartcard, *, reason: str = "", label: str = ""
) -> list[AgentOffer]:
    """An RA Agent replaces a card with a blank one in the reader; the old one is cancelled."""
    if (
        card.holder_id != actor.pk
        and card.status != CardStatus.CLEARED
        and not Smartcard.objects.filter(replaces=card).exists()
        and can(actor, Action.CARD_REPLACE, card.holder)
    ):
        return [
            offer(
                request,
                TaskKind.REPLACE,
                card=card,
                reason=reason if reason in CancelReason.values else "",
                label=label or "Replace with a blank card",
            )
        ]
    return []


def _card_to_replace(actor: Person, holder: Person, named: str) -> Smartcard | None:
    """The card a replacement request is about: the one it names, else the holder's newest live
    card that nobody has replaced yet."""
    if not can(actor, Action.CARD_VIEW, holder):
        return None
    cards = [
        c
        for c in selectors.cards_of(actor=actor, holder=holder)
        if c.status != CardStatus.CLEARED and not Smartcard.objects.filter(replaces=c).exists()
    ]
    named = named.strip()
    return next((c for c in cards if c.chip_serial == named), None) or next(
        (c for c in cards if c.live), None
    )


def request_card_offers(request: HttpRequest, actor: Person, item: Request) -> list[AgentOffer]:
    """An approved card request's next step, for whoever may take it: the card task that carries
    it out through the agent (issuing or replacing the card closes the request with it)."""
    holder = item.subject
    if item.state != RequestState.APPROVED or holder is None or holder.pk == actor.pk:
        return []
    if item.request_type == RequestType.CARD_REPLACE:
        replacing = schemas.load(item, schemas.CardReplace)
        old = _card_to_replace(actor, holder, replacing.card_serial)
        if old is not None:
            return replace_offer(
                request, actor, old, reason=replacing.reason, label="Replace the card"
            )
    if item.request_type in (RequestType.CARD_ISSUE, RequestType.CARD_REPLACE) and can(
        actor, Action.CARD_ISSUE, holder
    ):
        return [offer(request, TaskKind.ISSUE, holder=holder, label="Issue the card")]
    if item.request_type == RequestType.CARD_RENEW:
        renewing = schemas.load(item, schemas.CardRenew)
        expired = _card_to_renew(actor, holder, renewing.card_serial)
        if expired is not None:
            return [offer(request, TaskKind.RENEW, card=expired, label="Renew the certificate")]
    return []


def _card_to_renew(actor: Person, holder: Person, named: str) -> Smartcard | None:
    """The live card whose certificate has expired that a renewal request is about (the one it
    names, else the holder's newest), if the actor may renew it after expiry."""
    if not (can(actor, Action.CARD_VIEW, holder) and can(actor, Action.CARD_RENEW_EXPIRED, holder)):
        return None
    now = clock.now()
    expired = [
        c
        for c in selectors.cards_of(actor=actor, holder=holder)
        if c.status == CardStatus.ACTIVE
        and (link := selectors.current_certificate(c)) is not None
        and link.certificate.not_after <= now
    ]
    named = named.strip()
    return next((c for c in expired if c.chip_serial == named), None) or next(iter(expired), None)


class CardTaskStartView(SignedInMixin, View):
    """POST: start a card task for the agent (JSON), or, without JavaScript, say what to run."""

    def post(self, request: HttpRequest) -> HttpResponse:
        wants_json = "application/json" in request.headers.get("Accept", "")
        kind = request.POST.get("kind", "")
        try:
            card, holder = self._subject(request)
            if kind not in TaskKind.values:
                raise NotFound("There is no such card task.")
            if not wants_json:
                shown = offer(
                    request,
                    TaskKind(kind),
                    card=card,
                    holder=holder,
                    reason=request.POST.get("reason", ""),
                )
                return render(
                    request,
                    "portal/cards/agent_task.html",
                    {"heading": shown.label, "offer": shown},
                )
            session = getattr(request, "signin_session", None)
            if session is None and persona_sign_in_available():
                # Only the demo's persona page signs people in without a sign-in session.
                session = browser.demo_session(request)
            started = tasks.card_task_start(
                actor=self.actor,
                kind=kind,
                signin_session_ref=str(session.ref) if session is not None else "",
                card=card,
                holder=holder,
                reason=request.POST.get("reason", ""),
            )
        except DomainError as exc:
            if not wants_json:
                raise
            status = (
                403 if isinstance(exc, NotPermitted) else 404 if isinstance(exc, NotFound) else 409
            )
            return JsonResponse({"error": exc.message}, status=status)
        response = JsonResponse(
            {
                "task": started.task.ref,
                "secret": started.secret,
                "expires_at": started.task.expires_at.isoformat(),
            },
            status=201,
        )
        response["Cache-Control"] = "no-store"
        return response

    def _subject(self, request: HttpRequest) -> tuple[Smartcard | None, Person | None]:
        chip = request.POST.get("card", "").strip()
        if chip:
            card = selectors.card_get(actor=self.actor, chip_serial=chip)
            return card, card.holder
        user_id = request.POST.get("holder", "").strip()
        if user_id:
            return None, person_get(actor=self.actor, user_id=user_id)
        raise NotFound("Say which card or person the task is for.")


routes: list[URLPattern | URLResolver] = [
    path("card-tasks/new/", CardTaskStartView.as_view(), name="card-task-start"),
]
