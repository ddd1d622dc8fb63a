"""Reading cards: a holder's own, and the locked and expiring lists an administrator may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.authz.scoping import visible
from cis.core import clock
from cis.core.errors import NotFound, NotPermitted
from cis.people.models import Person
from cis.pki.states import CertificateStatus

from . import conf
from .models import CardCertificate, CardEvent, Smartcard
from .states import LIVE, CardStatus


def visible_cards(actor: Actor, action: Action, cards: QuerySet[Smartcard]) -> QuerySet[Smartcard]:
    """Narrow cards to the holders this actor may take `action` on (the policy's own scoping)."""
    return cards.filter(holder__in=visible(actor, action, Person.objects.all()))


def cards_of(*, actor: Actor, holder: Person) -> list[Smartcard]:
    """A holder's cards, newest first, with their certificates; for the holder or an admin."""
    require(actor, Action.CARD_VIEW, holder)
    links = CardCertificate.objects.select_related("certificate").order_by(
        "-certificate__not_before"
    )
    return list(
        Smartcard.objects.filter(holder=holder)
        .prefetch_related(Prefetch("certificates", queryset=links))
        .order_by("-issued_at", "-id")
    )


def card_missing(chip_serial: str) -> NotFound:
    """The one answer for a card that is absent or out of sight: nothing tells them apart."""
    return NotFound(f"No smartcard with chip serial {chip_serial.strip()}, or not one you can see.")


def card_get(*, actor: Actor, chip_serial: str) -> Smartcard:
    """The card record for a chip (its live record, or else the latest one it ever had), if the
    actor may see its holder's cards; otherwise 'not found', exactly as for a chip CIS never knew.
    """
    serial = chip_serial.strip()
    cards = Smartcard.objects.filter(chip_serial=serial).select_related("holder")
    card = (
        cards.filter(status__in=sorted(LIVE)).first() or cards.order_by("-issued_at", "-id").first()
    )
    if card is None:
        raise card_missing(serial)
    try:
        require(actor, Action.CARD_VIEW, card.holder)
    except NotPermitted:
        raise card_missing(serial) from None
    return card


def card_history(*, actor: Actor, card: Smartcard) -> list[CardEvent]:
    require(actor, Action.CARD_VIEW, card.holder)
    return list(card.events.order_by("-at", "-id")[:50])


def current_certificate(card: Smartcard) -> CardCertificate | None:
    """The installed, still valid certificate the card presents (from prefetched rows if any)."""
    links = [
        link
        for link in card.certificates.all()
        if link.installed_at is not None and link.certificate.status == CertificateStatus.VALID
    ]
    return max(links, key=lambda link: link.certificate.not_before, default=None)


def locked_cards(*, actor: Actor) -> QuerySet[Smartcard]:
    """Locked cards of the holders in the actor's scope, longest locked first."""
    return (
        visible_cards(
            actor,
            Action.CARD_UNLOCK_ASSISTED,
            Smartcard.objects.filter(status=CardStatus.LOCKED).exclude(
                holder_id=getattr(actor, "pk", None)
            ),
        )
        .select_related("holder")
        .order_by("locked_at", "id")
    )


@dataclass(frozen=True)
class Expiring:
    card: Smartcard
    link: CardCertificate

    @property
    def expires(self) -> dt.datetime:
        return self.link.certificate.not_after

    @property
    def expired(self) -> bool:
        return self.expires <= clock.now()


def expiring_certificates(*, actor: Actor, within_days: int | None = None) -> list[Expiring]:
    """Installed certificates in scope that expire within the renewal window (or have expired)."""
    window = dt.timedelta(days=within_days) if within_days is not None else conf.renewal_window()
    horizon = clock.now() + window
    cards = visible_cards(
        actor,
        Action.CARD_RENEW,
        Smartcard.objects.filter(status__in=sorted(LIVE)).exclude(
            holder_id=getattr(actor, "pk", None)
        ),
    )
    links = (
        CardCertificate.objects.filter(
            card__in=cards,
            installed_at__isnull=False,
            certificate__status=CertificateStatus.VALID,
            certificate__not_after__lte=horizon,
        )
        .select_related("card", "card__holder", "certificate")
        .order_by("certificate__not_after", "id")
    )
    return [Expiring(card=link.card, link=link) for link in links]


def renewal_opens(link: CardCertificate) -> dt.datetime:
    return link.certificate.not_after - conf.renewal_window()
