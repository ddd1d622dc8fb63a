"""The card API: documented in the schema, closed to strangers, and careful with secrets."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cis.smartcards import services
from cis.smartcards.models import Smartcard
from cis_wire.messages import login_message
from tests.authz.world import World, build_world

from .conftest import CardInHand

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(ca: object) -> World:
    return build_world()


def bearer(card: CardInHand) -> dict[str, str]:
    challenge = services.agent_challenge_create().value
    token, _ = services.agent_sign_in(
        chip_serial=card.row.chip_serial,
        certificate_der=card.certificate_der,
        challenge=challenge,
        signature=card.sign(login_message(challenge=challenge, chip_serial=card.row.chip_serial)),
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_every_card_endpoint_is_in_the_openapi_schema(client: Client) -> None:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in (
        "/api/v1/agent/challenge/",
        "/api/v1/agent/sign-in/",
        "/api/v1/cards/issue/",
        "/api/v1/cards/{chip_serial}/unlock/",
        "/api/v1/cards/{chip_serial}/self-unlock/code/",
        "/api/v1/cards/{chip_serial}/self-unlock/verify/",
        "/api/v1/cards/{chip_serial}/renew/",
        "/api/v1/cards/{chip_serial}/cancel/",
        "/api/v1/cards/{chip_serial}/report-lost/",
        "/api/v1/cards/{chip_serial}/report-locked/",
        "/api/v1/cards/{chip_serial}/repair/",
        "/api/v1/cards/{chip_serial}/clear/",
        "/api/v1/cards/{chip_serial}/replace/",
        "/api/v1/card-operations/{operation}/certificate/",
        "/api/v1/card-operations/{operation}/complete/",
        "/api/v1/cards/expiring/",
    ):
        assert path in paths, path
    assert schema["components"]["securitySchemes"]["agentToken"]["scheme"] == "bearer"


def test_strangers_get_nothing(
    client: Client, world: World, active_card: Callable[..., CardInHand]
) -> None:
    card = active_card(world.targets["in_scope"])
    serial = card.row.chip_serial
    for method, url in (
        ("get", "/api/v1/cards/"),
        ("get", f"/api/v1/cards/{serial}/"),
        ("post", f"/api/v1/cards/{serial}/unlock/"),
        ("post", f"/api/v1/cards/{serial}/cancel/"),
        ("post", "/api/v1/cards/issue/"),
    ):
        response = getattr(client, method)(url, content_type="application/json")
        assert response.status_code in (401, 403), url
    bad = client.get("/api/v1/cards/", HTTP_AUTHORIZATION="Bearer nonsense")
    assert bad.status_code == 401
    assert "cis-agent login" in bad.json()["detail"]
    card.row.refresh_from_db()
    assert card.row.so_pin_unconfirmed == []


def test_released_so_pins_are_never_cached(
    client: Client, world: World, active_card: Callable[..., CardInHand]
) -> None:
    card = active_card(world.targets["in_scope"])
    lsa_card = active_card(world.actors["lsa"])
    response = client.post(
        f"/api/v1/cards/{card.row.chip_serial}/unlock/",
        {"holder_present": True},
        content_type="application/json",
        **bearer(lsa_card),
    )
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    assert response.json()["so_pins"] == [card.so_pin]
    absent = client.post(
        f"/api/v1/cards/{card.row.chip_serial}/unlock/",
        {},
        content_type="application/json",
        **bearer(lsa_card),
    )
    assert absent.status_code == 400
    assert absent.json()["field"] == "holder_present"


def test_self_unlock_code_needs_the_cards_own_certificate(
    client: Client, world: World, active_card: Callable[..., CardInHand]
) -> None:
    card = active_card(world.targets["in_scope"])
    other = active_card(world.targets["child_org"])
    url = f"/api/v1/cards/{card.row.chip_serial}/self-unlock/code/"
    wrong = client.post(
        url,
        {"certificate": base64.b64encode(other.certificate_der).decode()},
        content_type="application/json",
    )
    assert wrong.status_code == 403
    right = client.post(
        url,
        {"certificate": base64.b64encode(card.certificate_der).decode()},
        content_type="application/json",
    )
    assert right.status_code == 201, right.content
    assert set(right.json()) == {"sent_to", "channel", "expires_at"}


def test_the_locked_list_is_scoped_and_its_queries_do_not_grow_with_it(
    client: Client, world: World, active_card: Callable[..., CardInHand]
) -> None:
    lsa_card = active_card(world.actors["lsa_children"])
    headers = bearer(lsa_card)
    first = active_card(world.targets["in_scope"])
    Smartcard.objects.filter(pk=first.row.pk).update(status="locked")
    with CaptureQueriesContext(connection) as few:
        response = client.get("/api/v1/cards/?status=locked", **headers)
    assert [c["chip_serial"] for c in response.json()] == [first.row.chip_serial]
    for name in ("child_org", "ended_assignment", "out_of_scope"):
        extra = active_card(world.targets[name])
        Smartcard.objects.filter(pk=extra.row.pk).update(status="locked")
    with CaptureQueriesContext(connection) as more:
        response = client.get("/api/v1/cards/?status=locked", **headers)
    shown = {c["holder"]["user_id"] for c in response.json()}
    assert shown == {world.targets["in_scope"].user_id, world.targets["child_org"].user_id}
    assert len(more.captured_queries) <= len(few.captured_queries)


def test_holder_reads_own_cards_and_reports_one_stolen(
    client: Client, world: World, active_card: Callable[..., CardInHand]
) -> None:
    holder = world.targets["in_scope"]
    card = active_card(holder)
    headers = bearer(card)
    mine = client.get("/api/v1/cards/", **headers)
    assert [c["chip_serial"] for c in mine.json()] == [card.row.chip_serial]
    assert mine.json()[0]["certificate"]["status"] == "valid"
    other = client.get(f"/api/v1/cards/?holder={world.targets['child_org'].user_id}", **headers)
    assert other.status_code in (403, 404)
    stolen = client.post(
        f"/api/v1/cards/{card.row.chip_serial}/report-lost/",
        {"reason": "stolen"},
        content_type="application/json",
        **headers,
    )
    assert stolen.status_code == 200, stolen.content
    assert stolen.json()["status"] == "cancelled"
    after = client.get("/api/v1/cards/", **headers)
    assert after.status_code == 401, "the token ended with the card"
