"""The smartcard pages: My smartcard, self-unlock start, report lost, and the admin lists."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client

from cis.core import clock
from cis.people.models import Person
from cis.smartcards.models import Smartcard, UnlockCode
from tests.authz.world import World, build_world

from .conftest import CardInHand

pytestmark = pytest.mark.django_db
BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture
def world(ca: object) -> World:
    return build_world()


def signed_in(client: Client, person: Person) -> Client:
    client.force_login(person, backend=BACKEND)
    return client


def test_my_smartcard_shows_status_expiry_and_the_renewal_prompt_from_90_days(
    client: Client, world: World, active_card: Callable[..., CardInHand]
) -> None:
    holder = world.targets["in_scope"]
    card = active_card(holder)
    page = signed_in(client, holder).get("/my-smartcard/")
    assert page.status_code == 200
    text = page.content.decode()
    assert card.row.chip_serial in text
    assert "Renew your certificate" not in text
    assert "From " in text
    clock.travel(card.link.certificate.not_after - clock.now() - dt.timedelta(days=89))
    text = client.get("/my-smartcard/").content.decode()
    assert "Renew your certificate" in text
    assert "cis-agent renew" in text
    clock.travel(dt.timedelta(days=90))
    assert "has expired" in client.get("/my-smartcard/").content.decode()


def test_a_holder_starts_self_unlock_from_the_portal(
    client: Client,
    world: World,
    active_card: Callable[..., CardInHand],
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    holder = world.targets["in_scope"]
    card = active_card(holder)
    Smartcard.objects.filter(pk=card.row.pk).update(status="locked")
    signed_in(client, holder)
    mine = client.get("/my-smartcard/").content.decode()
    assert "Get a code" in mine
    assert "Unlock with the code" in mine, "the button that hands the unlock to the card agent"
    assert "cis-agent unlock --self --server http://testserver --card pkcs11:" in mine
    url = f"/my-smartcard/{card.row.chip_serial}/unlock/"
    form = client.get(url)
    assert form.status_code == 200
    assert "cis-agent unlock --self" in form.content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        sent = client.post(url, {"channel": "email"}, follow=True)
    assert sent.status_code == 200
    assert "We sent a code" in sent.content.decode()
    assert len(mail.outbox) == 1
    assert UnlockCode.objects.filter(card=card.row, channel="email").exists()


def test_someone_elses_card_is_not_found_on_my_pages(
    client: Client, world: World, active_card: Callable[..., CardInHand]
) -> None:
    theirs = active_card(world.targets["child_org"])
    signed_in(client, world.targets["in_scope"])
    for url in (
        f"/my-smartcard/{theirs.row.chip_serial}/unlock/",
        f"/my-smartcard/{theirs.row.chip_serial}/report/",
    ):
        assert client.get(url).status_code == 404
        assert client.post(url, {"reason": "lost", "channel": "email"}).status_code == 404
    theirs.row.refresh_from_db()
    assert theirs.row.status == "active"


def test_a_holder_reports_their_card_stolen(
    client: Client, world: World, active_card: Callable[..., CardInHand]
) -> None:
    holder = world.targets["in_scope"]
    card = active_card(holder)
    signed_in(client, holder)
    url = f"/my-smartcard/{card.row.chip_serial}/report/"
    bad = client.post(url, {"reason": "left"})
    assert bad.status_code == 200
    assert "Select what has happened to the card" in bad.content.decode()
    done = client.post(url, {"reason": "stolen"}, follow=True)
    assert "can never be used again" in done.content.decode()
    card.row.refresh_from_db()
    assert (card.row.status, card.row.cancel_reason) == ("cancelled", "stolen")
    assert "Earlier cards" in client.get("/my-smartcard/").content.decode()


def test_locked_and_expiring_lists_for_an_lsa_with_actions_beside_each_entry(
    client: Client, world: World, active_card: Callable[..., CardInHand]
) -> None:
    in_scope = active_card(world.targets["in_scope"])
    branch = active_card(world.targets["child_org"])
    elsewhere = active_card(world.targets["out_of_scope"])
    Smartcard.objects.update(status="locked")
    signed_in(client, world.actors["lsa"])
    text = client.get("/smartcards/locked/").content.decode()
    assert in_scope.row.chip_serial in text
    assert branch.row.chip_serial not in text  # the LSA's right does not reach the branch
    assert elsewhere.row.chip_serial not in text
    assert f"/smartcards/{in_scope.row.chip_serial}/" in text
    assert "/cancel/" not in text, "an LSA cannot cancel cards"
    Smartcard.objects.update(status="active")
    clock.travel(in_scope.link.certificate.not_after - clock.now() - dt.timedelta(days=10))
    text = client.get("/smartcards/expiring/").content.decode()
    assert in_scope.row.chip_serial in text
    assert "Renew" in text
    detail = client.get(f"/smartcards/{in_scope.row.chip_serial}/")
    assert detail.status_code == 200
    assert "cis-agent renew" in detail.content.decode()
    assert client.get(f"/smartcards/{elsewhere.row.chip_serial}/").status_code == 404


def test_an_ra_agent_cancels_a_card_from_its_page(
    client: Client, world: World, active_card: Callable[..., CardInHand]
) -> None:
    card = active_card(world.targets["in_scope"])
    signed_in(client, world.actors["ra_agent"])
    page = client.get(f"/smartcards/{card.row.chip_serial}/")
    assert "Cancel this card" in page.content.decode()
    done = client.post(
        f"/smartcards/{card.row.chip_serial}/cancel/", {"reason": "left"}, follow=True
    )
    assert "is cancelled" in done.content.decode()
    card.row.refresh_from_db()
    assert card.row.status == "cancelled"
    again = client.post(f"/smartcards/{card.row.chip_serial}/cancel/", {"reason": "left"})
    assert "never be undone" in again.content.decode()


def test_people_without_rights_do_not_get_the_admin_lists(client: Client, world: World) -> None:
    signed_in(client, world.actors["no_right"])
    assert client.get("/smartcards/locked/").status_code == 403
    assert client.get("/smartcards/expiring/").status_code == 403
    home = client.get("/my-smartcard/").content.decode()
    assert "Locked cards" not in home
    assert "You have no smartcard in use" in home


def test_anonymous_visitors_are_sent_to_sign_in(client: Client) -> None:
    for url in ("/my-smartcard/", "/smartcards/locked/", "/smartcards/expiring/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/sign-in/" in response["Location"]


def test_the_home_page_offers_the_card_lists_to_those_who_may_use_them(
    client: Client, world: World
) -> None:
    signed_in(client, world.actors["lsa"])
    home = client.get("/").content.decode()
    assert "/smartcards/locked/" in home
    assert "/smartcards/expiring/" in home
    assert "/my-smartcard/" in home
    signed_in(client, world.actors["id_checker"])
    home = client.get("/").content.decode()
    assert "/smartcards/locked/" not in home
    assert "/my-smartcard/" in home


def test_the_card_pages_titles_are_words_and_their_script_loads_once(
    client: Client, world: World, active_card: Callable[..., CardInHand]
) -> None:
    """The browser tab shows the page's name (not markup), and the card agent's script is on it."""
    card = active_card(world.targets["in_scope"])
    signed_in(client, world.actors["lsa"])
    pages = {
        "/smartcards/locked/": "Locked cards",
        f"/smartcards/{card.row.chip_serial}/": f"Card {card.row.chip_serial}",
    }
    for path, title in pages.items():
        text = client.get(path).content.decode()
        assert f"<title>{title} – Care Identity Service – NHS</title>" in text, path
        assert text.count("portal/js/card-agent") == 1, path
    signed_in(client, world.targets["in_scope"])
    text = client.get("/my-smartcard/").content.decode()
    assert "<title>My smartcard – Care Identity Service – NHS</title>" in text
    assert text.count("portal/js/card-agent") == 1
