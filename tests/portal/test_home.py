"""Home pages per role: what needs doing today, one section per kind of work, each section once,
and a page whose database work does not grow with the size of the world."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cis.people.models import Person
from cis.rights.models import Right
from cis.smartcards.models import Smartcard
from tests.factories.directory import AssignmentFactory, PersonFactory, RightGrantFactory
from tests.smartcards.conftest import CardInHand, active_card, ca  # noqa: F401 - fixtures

from .conftest import World

HOME = reverse("portal:home")
SECTIONS = {
    "local": "Your organisations",
    "ra": "Registration Authority work",
    "oversight": "Oversight",
}
EXPECTED = {
    "holder": set(),
    "lsa": {"local"},
    "sponsor": {"local"},
    "id_checker": {"ra"},
    "ra_agent": {"ra"},
    "ra_agent_advanced": {"ra"},
    "ra_manager": {"ra", "oversight"},
    "service_desk": {"oversight"},
}
# Every page's own work plus each section's few counts and lists; the same for 3 or 30 rows. The
# RA Manager's page, with every section and both charts, is the most: 61 on 2026-12-03, most of
# them the policy reading the viewer's grants again for each count; 33 on 2026-12-04, since a
# GET reads them once (cis.authz.scope.effective_grants, issue 16).
QUERY_CEILING = 36


def _sections(html: str) -> set[str]:
    return {key for key, heading in SECTIONS.items() if f">{heading}</h2>" in html}


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_each_role_sees_its_own_sections(
    world: World, sign_in: Callable[[Person], Client], who: str
) -> None:
    html = sign_in(world.people[who]).get(HOME).content.decode()
    assert _sections(html) == EXPECTED[who]
    # Everyone has their own card, what to do and their requests.
    assert ">What you need to do</h2>" in html
    assert ">Your smartcard</h2>" in html
    assert ">Your open requests</h2>" in html


def test_several_rights_show_each_section_once(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    person = world.ra_manager
    RightGrantFactory(person=person, right=Right.SPONSOR, organisation=world.head_office)
    RightGrantFactory(person=person, right=Right.RA_AGENT, ra=world.ra)
    html = sign_in(person).get(HOME).content.decode()
    for heading in SECTIONS.values():
        assert html.count(f">{heading}</h2>") == 1, heading


def test_a_holder_is_told_what_to_do_with_a_locked_card_one_link_away(
    world: World,
    sign_in: Callable[[Person], Client],
    active_card: Callable[..., CardInHand],  # noqa: F811 - the fixture imported above
) -> None:
    card = active_card(world.holder)
    Smartcard.objects.filter(pk=card.row.pk).update(status="locked")
    html = sign_in(world.holder).get(HOME).content.decode()
    assert "Your smartcard is locked." in html
    assert (
        f'<a class="nhsuk-link" href="/my-smartcard/{card.row.chip_serial}/unlock/">'
        "Unlock your smartcard with a code</a>"
    ) in html
    assert "You can renew it from" in html  # when renewal opens, as a date


def test_an_lsa_sees_locked_cards_in_their_organisation_with_names(
    world: World,
    sign_in: Callable[[Person], Client],
    active_card: Callable[..., CardInHand],  # noqa: F811 - the fixture imported above
) -> None:
    card = active_card(world.holder)
    Smartcard.objects.filter(pk=card.row.pk).update(status="locked")
    html = sign_in(world.lsa).get(HOME).content.decode()
    assert '<span class="cis-count">1</span> card is locked' in html
    assert "Hana Holder" in html and f"user id {world.holder.user_id}" in html
    # The branch has an LSA; the head office has none (the sponsor's grant is above it).
    assert "Premises without an LSA" in html


CHARTS = (
    "/reports/card-activity/activity/chart.svg?period=week",
    "/reports/requests-by-age/bands/chart.svg",
)


@pytest.mark.parametrize("who", ["ra_manager", "service_desk"])
def test_oversight_charts_the_work_with_its_figures_beside_each_chart(
    world: World, sign_in: Callable[[Person], Client], who: str
) -> None:
    client = sign_in(world.people[who])
    html = client.get(HOME).content.decode()
    for chart in CHARTS:
        src = chart.replace("&", "&amp;")
        assert f'<img src="{src}"' in html, chart
        # The picture is the reports' own chart, for this viewer.
        answer = client.get(chart)
        assert answer.status_code == 200
        assert answer["Content-Type"] == "image/svg+xml"
    # Each chart's figures as a table beside it, with the same column names the chart's legend
    # uses, and its download.
    for heading in ("Self-unlocks", "Assisted unlocks", "Renewals", "Within due time"):
        assert f'scope="col">{heading}</th>' in html, heading
    assert 'scope="col">Starts</th>' not in html  # the ISO start of a week: for CSV only
    assert html.count('alt="Bar chart: ') == len(CHARTS)
    assert "The same figures are in the table beside it." in html
    assert "/reports/card-activity/export.csv?period=week&amp;table=activity" in html


@pytest.mark.parametrize("who", ["holder", "lsa", "sponsor", "ra_agent"])
def test_only_oversight_has_charts(
    world: World, sign_in: Callable[[Person], Client], who: str
) -> None:
    assert "chart.svg" not in sign_in(world.people[who]).get(HOME).content.decode()


def _measure(client: Client) -> tuple[int, float]:
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(HOME)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200
    return len(queries.captured_queries), elapsed


@pytest.mark.parametrize("who", ["holder", "lsa", "sponsor", "ra_agent", "ra_manager"])
def test_home_page_queries_have_a_ceiling_and_do_not_grow_with_the_world(
    world: World,
    sign_in: Callable[[Person], Client],
    who: str,
    capsys: Any,
) -> None:
    client = sign_in(world.people[who])
    client.get(HOME)  # warm: sessions, caches
    few, first = _measure(client)
    for n in range(20):
        person = PersonFactory(family_name=f"Bulk{n}", registered_ra=world.ra)
        AssignmentFactory(person=person, position=world.pharmacist)
    many, second = _measure(client)
    assert few <= QUERY_CEILING, few
    assert many <= few, (few, many)
    # Measured, not asserted: server time of the view on this machine, for the README.
    with capsys.disabled():
        print(f"\nhome page for {who}: {many} queries, {second * 1000:.0f} ms")
