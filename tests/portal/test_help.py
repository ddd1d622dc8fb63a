"""Help and guidance: open to everyone, from any network, and linked from every page where
people get stuck (sign-in, network refusal, a locked card, an expired certificate, a refused
request). Each link is followed, as a person would."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from cis.core import clock
from cis.people.models import Person
from cis.smartcards.models import Smartcard
from cis.workflow.services import request_raise, request_reject
from cis.workflow.states import RequestState, RequestType
from tests.smartcards.conftest import CardInHand, active_card, ca  # noqa: F401 - fixtures

from .conftest import World

HELP_PAGES = [
    ("portal:help", "Help and guidance"),
    ("portal:help-smartcards", "What your smartcard is for"),
    ("portal:help-contacts", "Who can help"),
    ("portal:help-before-you-start", "What you need to use the Care Identity Service"),
    ("portal:help-card-not-working", "My smartcard is not working"),
    ("portal:help-guides", "Step-by-step guides"),
]
HSCN = ["10.0.0.0/8"]


def _help_links(html: str) -> list[str]:
    return sorted(set(re.findall(r'href="(/help/[^"#]*)(?:#[^"]*)?"', html)))


def _follow_help(client: Client, html: str) -> list[str]:
    """Follow every help link on the page; each must open a help page with its heading."""
    links = _help_links(html)
    assert links, "the page links to no help"
    for link in links:
        page = client.get(link)
        assert page.status_code == 200, link
        assert "<h1" in page.content.decode()
    return links


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "heading"), HELP_PAGES)
def test_help_pages_are_open_to_everyone_with_breadcrumbs(
    client: Client, name: str, heading: str
) -> None:
    html = client.get(reverse(name)).content.decode()
    assert heading in html
    if name != "portal:help":
        # Inside <main>, so every part of the page sits in a landmark.
        main = html[html.index("<main") :]
        assert 'aria-label="Breadcrumb"' in main
        assert 'href="/help/"' in main


def test_who_can_help_gives_the_persons_own_ra_and_how_to_reach_it(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    world.ra.email = "north.ra@example.nhs.uk"
    world.ra.phone = "0113 496 0000"
    world.ra.hours = "Monday to Friday, 9am to 5pm"
    world.ra.save()
    html = sign_in(world.holder).get(reverse("portal:help-contacts")).content.decode()
    assert "Your Registration Authority" in html
    assert "North RA" in html and "South RA" not in html
    assert "north.ra@example.nhs.uk" in html and "0113 496 0000" in html
    assert "Monday to Friday, 9am to 5pm" in html
    assert "escalate" in html


@pytest.mark.django_db
def test_the_sign_in_page_links_to_help(client: Client) -> None:
    links = _follow_help(client, client.get(reverse("portal:sign-in")).content.decode())
    assert "/help/card-not-working/" in links


@pytest.mark.django_db
def test_the_network_refusal_links_to_help_that_opens_from_outside(settings: object) -> None:
    settings.CIS_ALLOWED_NETWORKS = HSCN  # type: ignore[attr-defined]
    outside = Client(REMOTE_ADDR="203.0.113.9")
    refused = outside.get(reverse("portal:sign-in"))
    assert refused.status_code == 403
    links = _follow_help(outside, refused.content.decode())
    assert "/help/before-you-start/" in links


def test_a_locked_card_and_an_expired_certificate_link_to_help(
    world: World,
    sign_in: Callable[[Person], Client],
    active_card: Callable[..., CardInHand],  # noqa: F811 - the fixture imported above
) -> None:
    card = active_card(world.holder)
    Smartcard.objects.filter(pk=card.row.pk).update(status="locked")
    client = sign_in(world.holder)
    links = _follow_help(client, client.get(reverse("portal:my-smartcard")).content.decode())
    assert "/help/card-not-working/" in links
    clock.travel(card.link.certificate.not_after - clock.now() + dt.timedelta(days=1))
    html = client.get(reverse("portal:my-smartcard")).content.decode()
    assert "has expired" in html
    assert 'href="/help/card-not-working/#expired"' in html


def test_a_refused_request_links_to_who_can_help(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    raised = request_raise(
        actor=world.sponsor,
        request_type=RequestType.PERSON_REGISTER,
        payload={
            "ods_code": world.branch.ods_code,
            "given_name": "Nia",
            "family_name": "Newstarter",
            "date_of_birth": "1990-02-03",
            "email": "nia@example.nhs.uk",
            "position_id": world.pharmacist.pk,
        },
    )
    request = request_reject(
        actor=world.ra_agent, request=raised, reason="The details do not match the documents."
    )
    assert request.state == RequestState.REJECTED
    client = sign_in(world.sponsor)
    html = client.get(reverse("portal:request-detail", args=[request.pk])).content.decode()
    assert "The details do not match the documents." in html
    assert "/help/who-can-help/" in _follow_help(client, html)


@pytest.mark.django_db
def test_the_guides_show_each_journey_with_the_screenshots_the_tests_take(
    client: Client, settings: object
) -> None:
    html = client.get(reverse("portal:help-guides")).content.decode()
    shots = re.findall(r'<img class="cis-screenshot" src="/static/screenshots/([^"]+)" alt="', html)
    # Every journey has its pictures, and each is a file the browser tests write.
    assert len(shots) >= 15, shots
    folder = settings.SCREENSHOTS_DIR  # type: ignore[attr-defined]
    assert [s for s in shots if not (folder / s).is_file()] == []
    for anchor in ("sign-in", "contact", "self-unlock", "unlock", "renew", "request", "approve"):
        assert f'id="{anchor}"' in html


@pytest.mark.django_db
def test_without_screenshots_the_guides_give_the_steps_alone(
    client: Client, settings: object, tmp_path: object
) -> None:
    settings.SCREENSHOTS_DIR = tmp_path / "absent"  # type: ignore[attr-defined,operator]
    html = client.get(reverse("portal:help-guides")).content.decode()
    assert "cis-screenshot" not in html
    assert 'id="approve"' in html
