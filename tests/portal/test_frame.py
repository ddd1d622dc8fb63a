"""The frame every page shares: NHS.UK styling, header, navigation by right, footer, errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from cis.people.models import Person

from .conftest import World

pytestmark = pytest.mark.django_db

SIGNED_IN_PAGES = [
    ("portal:home", []),
    ("portal:my-details", []),
    ("portal:change-email", []),
    ("portal:change-mobile", []),
    ("portal:contact-confirm", []),
    ("portal:person-search", []),
    ("portal:organisation-list", []),
    ("portal:person-create", []),
    ("portal:organisation-create", []),
    ("portal:person-detail", ["555000000001"]),
    ("portal:person-verify", ["555000000001"]),
    ("portal:person-close", ["555000000001"]),
    ("portal:person-reopen", ["555000000001"]),
    ("portal:assignment-create", ["555000000001"]),
    ("portal:assignment-end", ["555000000001", 1]),
    ("portal:right-grant", ["555000000001"]),
    ("portal:right-revoke", ["555000000001", 1]),
    ("portal:organisation-detail", ["FBR01"]),
    ("portal:position-create", ["FBR01"]),
]


@pytest.mark.parametrize(("name", "args"), SIGNED_IN_PAGES)
def test_anonymous_people_are_sent_to_sign_in(
    client: Client, name: str, args: list[object]
) -> None:
    url = reverse(name, args=args)
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('portal:sign-in')}?next={url}"


def test_the_nhs_frontend_assets_exist_where_the_base_template_points() -> None:
    for path in (
        "nhsuk/nhsuk/nhsuk-frontend.min.css",
        "nhsuk/nhsuk/nhsuk-frontend.min.js",
        "nhsuk/nhsuk/assets/images/favicon.svg",
    ):
        assert finders.find(path), path


def test_every_page_has_the_nhs_frame(client: Client) -> None:
    html = client.get(reverse("portal:sign-in")).content.decode()
    assert '<html lang="en-GB">' in html
    assert "/static/nhsuk/nhsuk/nhsuk-frontend.min.css" in html
    # The frontend starts from static files: no inline script for the CSP to allow.
    assert '<script type="module" src="/static/portal/js/frontend-init.js"></script>' in html
    assert "<script>" not in html
    assert '<a class="nhsuk-skip-link" data-module="nhsuk-skip-link" href="#maincontent">' in html
    assert '<main class="nhsuk-main-wrapper" id="maincontent">' in html
    assert '<span class="nhsuk-header__service-name">Care Identity Service</span>' in html
    assert '<footer class="nhsuk-footer" role="contentinfo">' in html
    assert html.count("<h1") == 1


def _nav(html: str) -> str:
    start = html.index('<nav class="nhsuk-header__navigation"')
    return html[start : html.index("</nav>", start)]


def test_a_holder_sees_only_their_own_pages_in_the_menu(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    html = sign_in(world.holder).get(reverse("portal:home")).content.decode()
    nav = _nav(html)
    assert "My details" in nav
    assert "Find a person" not in nav
    assert "Organisations" not in nav
    assert "Create a person" not in html
    assert "Hana Holder" in html  # the account area names who is signed in
    assert 'action="/sign-out/"' in html


@pytest.mark.parametrize(
    ("who", "shown", "hidden"),
    [
        ("lsa", ["Find a person", "Organisations"], ["Create a person", "Create an organisation"]),
        ("ra_agent", ["Find a person", "Create a person"], ["Create an organisation"]),
        ("ra_manager", ["Find a person", "Create a person", "Create an organisation"], []),
    ],
)
def test_the_home_page_offers_what_the_policy_allows(
    world: World,
    sign_in: Callable[[Person], Client],
    who: str,
    shown: list[str],
    hidden: list[str],
) -> None:
    html = sign_in(world.people[who]).get(reverse("portal:home")).content.decode()
    for label in shown:
        assert label in html, label
    for label in hidden:
        assert label not in html, label


def test_the_current_page_is_marked_in_the_menu(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    nav = _nav(sign_in(world.ra_agent).get(reverse("portal:person-search")).content.decode())
    assert 'aria-current="page"' in nav
    current = nav[nav.index('aria-current="page"') :]
    assert current.index("Find a person") < current.index("</a>")


def test_an_unknown_page_is_an_nhs_styled_404(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "nhsuk-header" in response.content.decode()


def test_messages_show_as_notification_banners(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    client = sign_in(world.holder)
    response = client.post(reverse("portal:sign-out"), follow=True)
    html = response.content.decode()
    assert 'class="nhsuk-notification-banner"' in html
    assert "You have signed out." in html


ADMIN_PAGES = [
    ("portal:person-search", []),
    ("portal:organisation-list", []),
    ("portal:person-create", []),
    ("portal:organisation-create", []),
    ("portal:person-detail", ["colleague"]),
    ("portal:person-verify", ["colleague"]),
    ("portal:person-close", ["colleague"]),
    ("portal:person-reopen", ["colleague"]),
    ("portal:assignment-create", ["colleague"]),
    ("portal:right-grant", ["colleague"]),
    ("portal:organisation-detail", ["FHO01"]),
    ("portal:position-create", ["FBR01"]),
    ("portal:person-verify", ["holder"]),
    ("portal:person-close", ["holder"]),
    ("portal:assignment-create", ["holder"]),
    ("portal:right-grant", ["holder"]),
]
READ_ONLY = {
    "portal:person-search",
    "portal:organisation-list",
    "portal:person-detail",
    "portal:organisation-detail",
}


@pytest.mark.parametrize(("name", "args"), ADMIN_PAGES)
def test_a_holder_without_rights_is_refused_every_admin_page(
    world: World, sign_in: Callable[[Person], Client], name: str, args: list[str]
) -> None:
    people = {"colleague": world.colleague.user_id, "holder": world.holder.user_id}
    url = reverse(name, args=[people.get(a, a) for a in args])
    client = sign_in(world.holder)
    read_only = name in READ_ONLY
    for method in (client.get, client.post):
        response = method(url)
        refused = (403, 404, 405) if read_only and method == client.post else (403, 404)
        assert response.status_code in refused, (method, response.status_code)
        assert world.colleague.user_id not in response.content.decode()


def test_the_accessibility_statement_is_public(client: Client) -> None:
    response = client.get(reverse("portal:accessibility"))
    assert response.status_code == 200
    assert "WCAG" in response.content.decode()
