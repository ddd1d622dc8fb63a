"""Sign-in throttles: challenges per client address, answers per card (cis.core.ratelimit)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_challenges_are_throttled_per_client_address(settings: object) -> None:
    settings.CIS_SIGNIN_CHALLENGES_PER_MINUTE = 3  # type: ignore[attr-defined]
    here, there = Client(REMOTE_ADDR="192.0.2.10"), Client(REMOTE_ADDR="192.0.2.11")
    statuses = [here.post("/signin/agent/challenge").status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    refused = here.post("/signin/agent/challenge")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert refused.json()["error"] == "rate_limited"
    assert there.post("/signin/agent/challenge").status_code == 201  # another address


def test_answers_are_throttled_per_card(settings: object) -> None:
    settings.CIS_SIGNIN_ANSWERS_PER_CARD_PER_MINUTE = 2  # type: ignore[attr-defined]
    client = Client(REMOTE_ADDR="192.0.2.20")

    def answer(chip: str) -> int:
        body = {"challenge_id": "x", "chip_serial": chip, "certificate": "", "signature": ""}
        return client.post(
            "/signin/agent/respond", json.dumps(body), content_type="application/json"
        ).status_code

    tried = [answer("CHIP-THROTTLE-A") for _ in range(3)]
    assert tried[:2] != [429, 429] and tried[2] == 429
    assert answer("CHIP-THROTTLE-B") != 429
