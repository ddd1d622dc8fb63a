"""Card requests close themselves: the card operation that carries one out applies it.

Each test runs the agent's real issue, replace or renew flow against the services (in-process,
on a virtual card), as an RA Agent at a workstation would, and then reads the request as its
raiser would see it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from cis.audit.models import AuditEvent
from cis.audit.verify import verify
from cis.authz.policy import Actor
from cis.core import clock
from cis.core.errors import NotPermitted, ValidationFailed
from cis.people.models import Person
from cis.pki import hierarchy
from cis.smartcards import selectors, wire
from cis.smartcards import services as cards
from cis.smartcards.models import CardOperation, Smartcard
from cis.smartcards.provisioning import DEMO_TRANSPORT_PIN, DirectServer, provision
from cis.smartcards.states import CardStatus
from cis.workflow import services
from cis.workflow.models import Request
from cis.workflow.states import EventKind, RequestState, RequestType
from cis_card import flows
from cis_card.virtual import VirtualCard

from .desk import Desk

PASSCODE = "1357"


@pytest.fixture
def ca(db: None) -> hierarchy.Hierarchy:
    return hierarchy.ca_init()


class Workstation(DirectServer):
    """The agent's server calls for replacing and renewing too, served by the services."""

    def replace(
        self, *, chip_serial: str, new_chip_serial: str, reason: str, holder_present: bool
    ) -> dict[str, Any]:
        released = cards.card_replace(
            actor=self.actor,
            card=selectors.card_get(actor=self.actor, chip_serial=chip_serial),
            new_chip_serial=new_chip_serial,
            reason=reason,
            holder_present=holder_present,
        )
        return wire.operation_json(released)

    def renew(self, *, chip_serial: str, holder_present: bool) -> dict[str, Any]:
        released = cards.card_renew(
            actor=self.actor,
            card=selectors.card_get(actor=self.actor, chip_serial=chip_serial),
            holder_present=holder_present,
        )
        return wire.operation_json(released)


def blank(tmp_path: Path, name: str) -> VirtualCard:
    return VirtualCard.create_blank(tmp_path / f"{name}.card", transport_so_pin=DEMO_TRANSPORT_PIN)


def raise_and_approve(desk: Desk, request_type: str, **payload: str) -> Request:
    request = services.request_raise(
        actor=desk.sponsor,
        request_type=request_type,
        payload={"user_id": desk.holder.user_id, **payload},
    )
    approved = services.request_approve(actor=desk.agent, request=request)
    assert approved.state == RequestState.APPROVED
    return approved


def issue(desk: Desk, tmp_path: Path, *, actor: Actor | None = None) -> VirtualCard:
    card = blank(tmp_path, "first")
    provision(holder=desk.holder, card=card, passcode=PASSCODE, actor=actor or desk.agent2)
    return card


def test_issuing_the_card_applies_the_new_card_request_in_the_same_transaction(
    desk: Desk, ca: object, tmp_path: Path
) -> None:
    request = raise_and_approve(desk, RequestType.CARD_ISSUE)
    card = issue(desk, tmp_path)

    request.refresh_from_db()
    assert request.state == RequestState.APPLIED
    assert request.result_ref == f"card:{card.serial()}"
    assert request.closed_at is not None
    operation = CardOperation.objects.get(card__chip_serial=card.serial())
    assert operation.request == request
    assert operation.completed_at is not None
    last = request.history.order_by("-at", "-id").first()
    assert last is not None
    assert last.kind == EventKind.APPLIED
    assert card.serial() in last.note
    assert last.actor == desk.agent2
    fulfil = AuditEvent.objects.get(action="request.fulfil", target_ref=request.ref)
    assert fulfil.actor_ref == desk.agent2.user_id
    assert fulfil.after["state"] == RequestState.APPLIED
    assert verify().intact


def test_the_card_and_its_request_change_in_one_transaction(
    desk: Desk, ca: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If closing the request fails, the card's completion is undone with it."""
    from cis.core.errors import InvalidState
    from cis.smartcards.services import operations

    def broken(**kwargs: object) -> None:
        raise InvalidState("the request could not be closed")

    request = raise_and_approve(desk, RequestType.CARD_ISSUE)
    monkeypatch.setattr(operations, "request_fulfil", broken)
    with pytest.raises(InvalidState):
        issue(desk, tmp_path)
    card = Smartcard.objects.get(holder=desk.holder)
    assert card.status == CardStatus.ISSUED
    assert CardOperation.objects.get(card=card).completed_at is None
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED


def test_a_card_issued_with_no_request_waiting_leaves_other_requests_alone(
    desk: Desk, ca: object, tmp_path: Path
) -> None:
    waiting = services.request_raise(
        actor=desk.sponsor,
        request_type=RequestType.CARD_ISSUE,
        payload={"user_id": desk.holder.user_id},
    )
    issue(desk, tmp_path)
    waiting.refresh_from_db()
    # Not approved, so the card did not answer it: the RA still decides it.
    assert waiting.state == RequestState.SUBMITTED
    assert CardOperation.objects.get().request is None


def test_replacing_the_card_applies_the_replacement_request(
    desk: Desk, ca: object, tmp_path: Path
) -> None:
    old = issue(desk, tmp_path)
    request = raise_and_approve(
        desk, RequestType.CARD_REPLACE, reason="damaged", card_serial=old.serial()
    )
    new = blank(tmp_path, "second")
    flows.replace(
        old_chip_serial=old.serial(),
        card=new,
        server=Workstation(desk.agent2),  # type: ignore[arg-type]  # the calls replacing needs
        reason="damaged",
        passcode=PASSCODE,
        transport_so_pin=DEMO_TRANSPORT_PIN,
    )
    request.refresh_from_db()
    assert request.state == RequestState.APPLIED
    assert request.result_ref == f"card:{new.serial()}"
    assert Smartcard.objects.get(chip_serial=old.serial()).status == CardStatus.CANCELLED
    assert verify().intact


def test_renewing_an_expired_certificate_applies_the_renewal_request(
    desk: Desk, ca: object, tmp_path: Path
) -> None:
    card = issue(desk, tmp_path)
    request = raise_and_approve(desk, RequestType.CARD_RENEW, card_serial=card.serial())
    clock.travel(dt.timedelta(days=2 * 365 + 5))
    try:
        flows.renew(
            card=card,
            server=Workstation(desk.agent2),  # type: ignore[arg-type]  # the calls renewing needs
            passcode=PASSCODE,
            holder_present=True,
        )
    finally:
        clock.reset()
    request.refresh_from_db()
    assert request.state == RequestState.APPLIED
    assert "renewed" in request.history.order_by("-at", "-id").first().note  # type: ignore[union-attr]


def test_a_request_cancelled_while_the_card_was_made_stays_cancelled(
    desk: Desk, ca: object, tmp_path: Path
) -> None:
    request = raise_and_approve(desk, RequestType.CARD_ISSUE)
    card = blank(tmp_path, "first")
    server = DirectServer(desk.agent2)
    started = server.issue(
        holder=desk.holder.user_id, chip_serial=card.serial(), holder_present=True
    )
    services.request_cancel(actor=desk.sponsor, request=request, reason="Started elsewhere")
    flows.personalise(
        card=card,
        server=server,  # type: ignore[arg-type]  # issuing needs only these calls
        operation=started,
        passcode=PASSCODE,
        transport_so_pin=DEMO_TRANSPORT_PIN,
    )
    request.refresh_from_db()
    assert request.state == RequestState.CANCELLED
    assert Smartcard.objects.get(chip_serial=card.serial()).status == CardStatus.ACTIVE


def test_fulfilling_is_decided_by_the_policy(desk: Desk) -> None:
    """No bypass: the holder, a Sponsor or an LSA cannot mark a card request applied."""
    request = raise_and_approve(desk, RequestType.CARD_ISSUE)
    for who in (desk.holder, desk.sponsor, desk.lsa):
        with pytest.raises(NotPermitted):
            services.request_fulfil(actor=who, request=request, result_ref="card:X")
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED
    assert not AuditEvent.objects.filter(action="request.fulfil").exists()


class TestPartialApproval:
    def register(self, desk: Desk) -> Request:
        return services.request_raise(
            actor=desk.sponsor,
            request_type=RequestType.PERSON_REGISTER,
            payload={
                "ods_code": desk.branch.ods_code,
                "given_name": "Nia",
                "family_name": "Newstarter",
                "date_of_birth": "1994-02-03",
                "position_id": desk.pharmacist.pk,
            },
        )

    def test_approving_with_no_identity_check_would_drop_the_position_so_it_is_refused(
        self, desk: Desk
    ) -> None:
        request = self.register(desk)
        events = AuditEvent.objects.count()
        with pytest.raises(ValidationFailed) as refused:
            services.request_approve(actor=desk.agent, request=request)
        assert refused.value.field == "partial_reason"
        assert "'Pharmacist' at FBW01" in refused.value.message
        request.refresh_from_db()
        assert request.state == RequestState.SUBMITTED
        assert not Person.objects.filter(family_name="Newstarter").exists()
        assert AuditEvent.objects.count() == events

    def test_a_partial_approval_with_a_reason_is_applied_and_says_what_was_left_out(
        self, desk: Desk
    ) -> None:
        request = self.register(desk)
        done = services.request_approve(
            actor=desk.agent,
            request=request,
            partial_reason="Identity documents not brought; the check is booked for Monday.",
        )
        assert done.state == RequestState.APPLIED
        assert done.decision_reason.startswith("Identity documents not brought")
        partial = done.history.get(kind=EventKind.PARTIAL)
        assert "Pharmacist" in partial.note
        assert "booked for Monday" in partial.note
        assert Person.objects.get(family_name="Newstarter").status == "restricted"

    def test_a_partial_reason_on_a_complete_approval_is_refused(self, desk: Desk) -> None:
        request = services.request_raise(
            actor=desk.sponsor,
            request_type=RequestType.CARD_ISSUE,
            payload={"user_id": desk.holder.user_id},
        )
        with pytest.raises(ValidationFailed, match="not an approval in part"):
            services.request_approve(actor=desk.agent, request=request, partial_reason="why")
        request.refresh_from_db()
        assert request.state == RequestState.SUBMITTED
