"""Property tests on what a card holder's workstation sends: chip serials, certificates and
one-time codes, to the open self-unlock steps. Any input gets a clear answer, never a 500, and a
wrong code always counts against the code's attempts."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cis.core.errors import InvalidState, ValidationFailed
from cis.smartcards import services
from cis.smartcards.models import UnlockCode
from tests.authz.world import World, build_world

from .conftest import CardInHand

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Each request from its own address, so the open steps' throttle (30 a minute) never answers.
_addresses = (f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}" for n in itertools.count(1))

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
CODES = st.one_of(
    st.from_regex(r"[0-9]{6}", fullmatch=True),
    st.from_regex(r"\s*[0-9 -]{0,12}\s*", fullmatch=True),
    st.text(max_size=30),
    JSON_VALUES,
)


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def _post(path: str, body: Any) -> Any:
    client = Client(raise_request_exception=False, REMOTE_ADDR=next(_addresses))
    return client.post(path, json.dumps(body), content_type="application/json")


def _clear(response: Any) -> dict[str, Any]:
    assert response.status_code < 500, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body: dict[str, Any] = json.loads(response.content)
    return body


@EXAMPLES
@given(data=st.data())
def test_any_code_to_self_unlock_gets_a_clear_answer(
    world: World, active_card: Callable[..., CardInHand], data: st.DataObject
) -> None:
    card = active_card(world.targets["in_scope"])
    services.card_self_unlock_send_code(actor=card.row.holder, card=card.row, channel="email")
    code = data.draw(CODES, label="code")
    response = _post(
        f"/api/v1/cards/{card.row.chip_serial}/self-unlock/verify/",
        {"certificate": base64.b64encode(card.certificate_der).decode(), "code": code},
    )
    body = _clear(response)
    assert response.status_code in (400, 409), body
    attempts = UnlockCode.objects.get(card=card.row).attempts
    if body.get("error") == "wrong_code":
        assert attempts == 1  # a wrong code counts
    else:
        assert attempts == 0  # a malformed request is refused before any code is checked


@EXAMPLES
@given(
    chip=st.text(min_size=1, max_size=40) | st.from_regex(r"[A-Z0-9]{1,20}", fullmatch=True),
    certificate=st.text(max_size=60)
    | st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode())
    | JSON_VALUES,
)
def test_any_chip_serial_and_certificate_get_a_clear_answer(
    world: World, active_card: Callable[..., CardInHand], chip: str, certificate: Any
) -> None:
    active_card(world.targets["in_scope"])
    path = f"/api/v1/cards/{quote(chip, safe='')}/self-unlock/code/"
    response = _post(path, {"certificate": certificate, "channel": "email"})
    if response.status_code == 404 and not response.content:
        return  # the route itself does not match (a serial with "/" in it)
    body = _clear(response)
    assert response.status_code in (400, 403, 404, 409), body
    assert not UnlockCode.objects.exists()  # no card proved: no code sent


@EXAMPLES
@given(code=st.text(max_size=30))
def test_the_service_answers_any_code_with_a_wrong_code_or_a_state(
    world: World, active_card: Callable[..., CardInHand], code: str
) -> None:
    card = active_card(world.targets["in_scope"])
    services.card_self_unlock_send_code(actor=card.row.holder, card=card.row, channel="email")
    with pytest.raises((ValidationFailed, InvalidState)) as refused:
        services.card_self_unlock_verify(actor=card.row.holder, card=card.row, code=code)
    assert refused.value.message
