"""A card out of the actor's sight answers exactly as a card CIS never knew, on every route.

The README's rule: status and body are the same, so nobody learns from a refusal that a chip
serial belongs to someone outside their organisations.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from cis.audit import refusals
from cis.audit.models import AuditEvent
from cis.smartcards.models import Smartcard
from tests.authz.world import World, build_world

from .conftest import CardInHand

pytestmark = pytest.mark.django_db
BACKEND = "django.contrib.auth.backends.ModelBackend"
ABSENT = "TESTABSENT01"
# A page's CSRF token is masked afresh on every render; it is not part of the answer compared.
_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def _page(text: str, chip: str) -> str:
    return _TOKEN.sub("<token>", text).replace(chip, "<chip>")


API_ROUTES = [
    ("get", "/api/v1/cards/{chip}/", None),
    ("post", "/api/v1/cards/{chip}/report-lost/", {"reason": "lost"}),
    ("post", "/api/v1/cards/{chip}/cancel/", {"reason": "left"}),
    ("post", "/api/v1/cards/{chip}/unlock/", {"holder_present": True}),
    ("post", "/api/v1/cards/{chip}/repair/", {"holder_present": True}),
    ("post", "/api/v1/cards/{chip}/clear/", {}),
    ("post", "/api/v1/cards/{chip}/renew/", {"holder_present": True}),
    ("post", "/api/v1/cards/{chip}/report-locked/", {}),
    (
        "post",
        "/api/v1/cards/{chip}/replace/",
        {"new_chip_serial": "TESTNEWCHIP1", "reason": "faulty", "holder_present": True},
    ),
]
PORTAL_ROUTES = [
    ("get", "/smartcards/{chip}/", None),
    ("get", "/smartcards/{chip}/cancel/", None),
    ("post", "/smartcards/{chip}/cancel/", {"reason": "left"}),
    ("get", "/my-smartcard/{chip}/unlock/", None),
    ("post", "/my-smartcard/{chip}/report/", {"reason": "lost"}),
]


@pytest.fixture
def world(ca: object) -> World:
    return build_world()


def _signed_in(person: object) -> Client:
    client = Client()
    client.force_login(person, backend=BACKEND)
    return client


@pytest.mark.parametrize(("method", "path", "body"), API_ROUTES, ids=[r[1] for r in API_ROUTES])
def test_api_out_of_sight_card_reads_as_absent(
    world: World, active_card: Callable[..., CardInHand], method: str, path: str, body: object
) -> None:
    elsewhere = active_card(world.targets["out_of_scope"])
    client = _signed_in(world.actors["ra_agent"])
    changes = AuditEvent.objects.exclude(action__in=refusals.REFUSAL_ACTIONS)
    events = changes.count()
    answers = []
    for chip in (elsewhere.row.chip_serial, ABSENT):
        response = getattr(client, method)(
            path.format(chip=chip), body, content_type="application/json"
        )
        assert response.status_code == 404, response.content
        answers.append(response.content.decode().replace(chip, "<chip>"))
    assert answers[0] == answers[1]
    assert changes.count() == events  # nothing changed (the refusal itself is on record)
    assert Smartcard.objects.get(pk=elsewhere.row.pk).status == "active"


@pytest.mark.parametrize(
    ("method", "path", "body"), PORTAL_ROUTES, ids=[f"{r[0]} {r[1]}" for r in PORTAL_ROUTES]
)
def test_portal_out_of_sight_card_reads_as_absent(
    world: World, active_card: Callable[..., CardInHand], method: str, path: str, body: object
) -> None:
    elsewhere = active_card(world.targets["out_of_scope"])
    client = _signed_in(world.actors["ra_agent"])
    answers = []
    for chip in (elsewhere.row.chip_serial, ABSENT):
        response = getattr(client, method)(path.format(chip=chip), body)
        assert response.status_code == 404, response.content
        answers.append(_page(response.content.decode(), chip))
    assert answers[0] == answers[1]
    assert Smartcard.objects.get(pk=elsewhere.row.pk).status == "active"


def test_a_card_in_sight_but_beyond_the_right_is_refused_not_hidden(
    world: World, active_card: Callable[..., CardInHand]
) -> None:
    """An LSA sees the card of someone in scope, so a cancel is a refusal (403), not absence."""
    card = active_card(world.targets["in_scope"])
    client = _signed_in(world.actors["lsa"])
    assert client.get(f"/api/v1/cards/{card.row.chip_serial}/").status_code == 200
    refused = client.post(
        f"/api/v1/cards/{card.row.chip_serial}/cancel/",
        {"reason": "left"},
        content_type="application/json",
    )
    assert refused.status_code == 403, refused.content
    assert Smartcard.objects.get(pk=card.row.pk).status == "active"


def test_the_own_card_pages_hide_a_card_the_holder_does_not_hold(
    world: World, active_card: Callable[..., CardInHand]
) -> None:
    """An LSA may see a colleague's card, but 'my smartcard' pages are for one's own only."""
    card = active_card(world.targets["in_scope"])
    client = _signed_in(world.actors["lsa"])
    seen = client.get(f"/my-smartcard/{card.row.chip_serial}/unlock/")
    absent = client.get(f"/my-smartcard/{ABSENT}/unlock/")
    assert seen.status_code == absent.status_code == 404
    assert _page(seen.content.decode(), card.row.chip_serial) == _page(
        absent.content.decode(), ABSENT
    )
