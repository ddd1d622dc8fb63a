"""A wrong self-unlock code is a failed attempt the audit trail keeps (never the code itself),
and a stream of them cannot flood the trail."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from cis.audit import refusals
from cis.audit.models import AuditEvent
from cis.audit.sentences import event_sentence
from cis.smartcards import services
from cis.smartcards.models import UnlockCode
from tests.authz.world import World, build_world

from .conftest import CardInHand

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def _verify(card: CardInHand, code: str, address: str = "10.1.2.3") -> Any:
    client = Client(REMOTE_ADDR=address)
    return client.post(
        f"/api/v1/cards/{card.row.chip_serial}/self-unlock/verify/",
        json.dumps({"certificate": base64.b64encode(card.certificate_der).decode(), "code": code}),
        content_type="application/json",
    )


def test_a_wrong_self_unlock_code_is_audited_as_a_failed_attempt(
    world: World, active_card: Callable[..., CardInHand]
) -> None:
    card = active_card(world.targets["in_scope"])
    services.card_self_unlock_send_code(actor=card.row.holder, card=card.row, channel="email")
    response = _verify(card, "999999x")
    assert response.status_code == 400
    assert response.json()["error"] == "wrong_code"

    event = AuditEvent.objects.get(action=refusals.CODE_FAILED)
    assert event.actor_ref == card.row.holder.user_id
    assert (event.target_type, event.target_ref) == ("smartcard", card.row.chip_serial)
    assert event.after["refused"] == "card.unlock_self"
    assert event.rule == "wrong-code"
    assert "999999x" not in json.dumps(event.after)
    assert "gave a wrong one-time code for" in event_sentence(event)
    assert UnlockCode.objects.get(card=card.row).attempts == 1


def test_wrong_codes_are_audited_within_the_refusal_limit(
    world: World, active_card: Callable[..., CardInHand], settings: Any
) -> None:
    settings.CIS_REFUSALS_RECORDED_PER_MINUTE = 1
    settings.CIS_OTP_MAX_ATTEMPTS = 10
    card = active_card(world.targets["in_scope"])
    services.card_self_unlock_send_code(actor=card.row.holder, card=card.row, channel="email")
    for number in range(4):
        assert _verify(card, "99999x", address=f"10.9.9.{number}").status_code == 400

    assert UnlockCode.objects.get(card=card.row).attempts == 4  # every attempt counts
    rules = list(
        AuditEvent.objects.filter(action=refusals.CODE_FAILED)
        .order_by("id")
        .values_list("rule", flat=True)
    )
    assert rules == ["wrong-code", "rate-limit:summary"]
