"""The reports in the API (JSON and CSV) and the portal (pages, CSV, charts), figure by figure.

Every figure is checked against a count made here from the world's description, for viewers
whose rights reach an organisation and viewers whose rights do not (an LSA elsewhere), so a
figure that leaks across scopes or drops something inside one shows as a mismatch.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from cis.core import clock
from cis.reports.selectors import AGE_BANDS
from cis.reports.tables import DEFINITIONS
from cis.smartcards.models import Smartcard

from .world import ORGS, SCOPE, World, build, reach

pytestmark = pytest.mark.django_db

BACKEND = "django.contrib.auth.backends.ModelBackend"
# In scope of the chain (a Sponsor over head office and branches, the service desk) and out of
# it (an LSA at an organisation served by another RA); tests/reports/test_selectors.py takes
# every kind of viewer through the selectors these tables read.
VIEWERS = ("sponsor_ho", "desk", "lsa_els")


@pytest.fixture
def world() -> World:
    return build()


def _client(world: World, viewer: str) -> Client:
    client = Client()
    client.force_login(world.viewers[viewer], backend=BACKEND)
    return client


def _report(world: World, viewer: str, slug: str, **params: str) -> dict[str, Any]:
    response = _client(world, viewer).get(f"/api/v1/reports/{slug}/", params)
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def _rows(body: dict[str, Any], table: str) -> list[dict[str, Any]]:
    (found,) = [t for t in body["tables"] if t["key"] == table]
    rows: list[dict[str, Any]] = found["rows"]
    return rows


def _codes(world: World, keys: set[str]) -> set[str]:
    return {world.orgs[k].ods_code for k in keys}


def _open_requests(world: World, viewer: str) -> list[Any]:
    if viewer == "desk":
        orgs = set(ORGS)
    elif viewer == "ra_manager":
        orgs = {o for o in ORGS if world.orgs[o].serving_ra == world.ra_a}
    else:
        orgs = SCOPE[viewer]
    return [r for o in orgs for r in world.open_requests[o]]


@pytest.mark.parametrize("viewer", VIEWERS)
def test_locked_cards(world: World, viewer: str) -> None:
    rows = _rows(_report(world, viewer, "locked-cards"), "cards")
    assert len(rows) == sum(world.locked[o] for o in reach(viewer))
    now = clock.now()
    locked = {
        c.chip_serial: (now - c.locked_at).days for c in Smartcard.objects.filter(status="locked")
    }
    assert all(row["days_locked"] == locked[row["card"]] for row in rows)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_certificates_expiring(world: World, viewer: str) -> None:
    orgs = reach(viewer)
    for days in (7, 30, 90):
        body = _report(world, viewer, "certificates-expiring", days=str(days))
        summary = {row["days"]: row["certificates"] for row in _rows(body, "summary")}
        assert summary == {d: sum(world.expiring[o][d] for o in orgs) for d in (7, 30, 90)}
        listed = _rows(body, "certificates")
        assert len(listed) == sum(world.expiring[o][days] for o in orgs)
        assert all(0 <= row["days_left"] <= days for row in listed)
        assert body["options"] == {"days": str(days)}


@pytest.mark.parametrize("viewer", VIEWERS)
def test_positions_ending(world: World, viewer: str) -> None:
    orgs = reach(viewer) - {"SHUT"}
    rows = _rows(_report(world, viewer, "positions-ending"), "positions")
    assert len(rows) == sum(world.ending[o] for o in orgs)
    assert {row["ods_code"] for row in rows} <= _codes(world, orgs)
    longer = _rows(_report(world, viewer, "positions-ending", days="90"), "positions")
    assert len(longer) == len(rows) + len(orgs)  # the one ending in 45 days at each


@pytest.mark.parametrize("viewer", VIEWERS)
def test_identity_checks(world: World, viewer: str) -> None:
    rows = _rows(_report(world, viewer, "identity-checks"), "people")
    expected = {"desk": world.restricted_a + world.restricted_b, "ra_manager": world.restricted_a}
    assert len(rows) == expected.get(viewer, 0)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_requests_by_age(world: World, viewer: str) -> None:
    expected = _open_requests(world, viewer)
    body = _report(world, viewer, "requests-by-age")
    bands = _rows(body, "bands")
    now = clock.now()
    assert [b["age"] for b in bands] == [label for label, _, _ in AGE_BANDS]
    for band, (_label, low, high) in zip(bands, AGE_BANDS, strict=True):
        mine = [
            r
            for r in expected
            if (now - r.raised_at).days >= low and (high is None or (now - r.raised_at).days < high)
        ]
        assert band["overdue"] == sum(1 for r in mine if r.due_at < now)
        assert band["within_due"] == sum(1 for r in mine if r.due_at >= now)
        assert band["total"] == len(mine)
    listed = _rows(body, "requests")
    assert sorted(row["request"] for row in listed) == sorted(r.ref for r in expected)
    assert sum(row["overdue"] == "yes" for row in listed) == sum(r.due_at < now for r in expected)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_escalations(world: World, viewer: str) -> None:
    expected = [e for r in _open_requests(world, viewer) for e in r.escalations.all()]
    body = _report(world, viewer, "escalations")
    counts = {row["what"]: row["count"] for row in _rows(body, "counts")}
    assert counts["All open escalations"] == len(expected)
    assert counts["To an RA Manager"] == len(expected)
    assert counts["To the service desk"] == 0
    assert counts["Raised by the clock (past due)"] == sum(e.raised_by_id is None for e in expected)
    assert counts["Raised by hand"] == sum(e.raised_by_id is not None for e in expected)
    listed = _rows(body, "escalations")
    assert sorted(row["request"] for row in listed) == sorted(e.request.ref for e in expected)


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("period", ["week", "month"])
def test_card_activity(world: World, viewer: str, period: str) -> None:
    rows = _rows(_report(world, viewer, "card-activity", period=period), "activity")
    assert len(rows) == 12
    first = min(row["starts"] for row in rows)
    ops = [
        op
        for o in reach(viewer)
        for op in world.operations[o]
        if timezone.localdate(op.completed_at).isoformat() >= first
    ]
    for column, kind in (
        ("self_unlocks", "self_unlock"),
        ("assisted_unlocks", "unlock"),
        ("renewals", "renew"),
    ):
        assert sum(row[column] for row in rows) == sum(op.kind == kind for op in ops), column
    if period == "week":
        assert rows[-1]["self_unlocks"] == sum(op.kind == "self_unlock" for op in ops)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_rights_holders(world: World, viewer: str) -> None:
    body = _report(world, viewer, "rights-holders")
    rows = {row["ods_code"]: row for row in _rows(body, "organisations")}
    org_scope = (set(ORGS) if viewer == "desk" else SCOPE[viewer]) - {"SHUT"}
    assert set(rows) == _codes(world, org_scope)
    lsas = {"BR1": 1, "ELS": 1}
    sponsors = {"HO": 1, "BR1": 1, "BR2": 1}
    for key in org_scope:
        row = rows[world.orgs[key].ods_code]
        assert (row["lsa"], row["sponsor"], row["other"]) == (
            lsas.get(key, 0),
            sponsors.get(key, 0),
            0,
        ), key
    ra_wide = {row["user_id"] for row in _rows(body, "ra_wide")}
    if viewer == "lsa_els":
        assert ra_wide == set()
    else:
        assert ra_wide == {world.viewers[v].user_id for v in ("id_checker", "ra_manager")}


@pytest.mark.parametrize("viewer", VIEWERS)
def test_premises_without_lsa(world: World, viewer: str) -> None:
    rows = _rows(_report(world, viewer, "premises-without-lsa"), "premises")
    org_scope = set(ORGS) if viewer == "desk" else SCOPE[viewer]
    assert {row["ods_code"] for row in rows} == _codes(world, {"IND"} & org_scope)


# CSV, options and refusals ------------------------------------------------------------------


def _csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"))))


@pytest.mark.parametrize("how", ["format", "accept"])
def test_csv_from_the_api_is_the_main_table(world: World, how: str) -> None:
    client = _client(world, "ra_manager")
    if how == "format":
        response = client.get("/api/v1/reports/locked-cards/", {"format": "csv"})
    else:
        response = client.get("/api/v1/reports/locked-cards/", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    lines = _csv(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    assert lines[0] == ["Holder", "User id", "Card", "Locked since", "Days locked"]
    assert len(lines) - 1 == sum(world.locked[o] for o in reach("ra_manager"))


def test_csv_of_another_table_and_a_table_that_does_not_exist(world: World) -> None:
    client = _client(world, "desk")
    response = client.get(
        "/api/v1/reports/certificates-expiring/", {"format": "csv", "table": "summary"}
    )
    lines = _csv(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    expected = {d: sum(world.expiring[o][d] for o in ORGS) for d in (7, 30, 90)}
    assert lines[1:] == [[f"{d} days", str(d), str(n)] for d, n in expected.items()]
    missing = client.get("/api/v1/reports/locked-cards/", {"format": "csv", "table": "nope"})
    assert missing.status_code == 400
    assert missing["Content-Type"] == "application/json"
    assert missing.json()["field"] == "table"


def test_a_name_that_looks_like_a_formula_stays_text_in_csv(world: World) -> None:
    card = Smartcard.objects.filter(
        status="locked", holder__assignments__position__organisation=world.orgs["BR1"]
    ).first()
    assert card is not None
    card.holder.given_name = "=HYPERLINK(evil)"
    card.holder.save(update_fields=["given_name"])
    response = _client(world, "lsa_br1").get("/reports/locked-cards/export.csv")
    lines = _csv(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    assert any(row[0].startswith("'=HYPERLINK(evil)") for row in lines[1:])
    assert not any(row[0].startswith("=") for row in lines[1:])


@pytest.mark.parametrize(
    ("slug", "params", "field"),
    [
        ("certificates-expiring", {"days": "5"}, "days"),
        ("positions-ending", {"days": "forever"}, "days"),
        ("card-activity", {"period": "year"}, "period"),
    ],
)
def test_an_option_no_form_offers_is_refused_by_name(
    world: World, slug: str, params: dict[str, str], field: str
) -> None:
    response = _client(world, "desk").get(f"/api/v1/reports/{slug}/", params)
    assert response.status_code == 400
    assert response.json()["field"] == field
    portal = _client(world, "desk").get(f"/reports/{slug}/export.csv", params)
    assert portal.status_code == 400


def test_no_report_for_someone_without_a_right_or_signed_out(world: World) -> None:
    holder = _client(world, "holder")
    assert holder.get("/api/v1/reports/").status_code == 403
    for d in DEFINITIONS:
        assert holder.get(f"/api/v1/reports/{d.slug}/").status_code == 403
        assert holder.get(f"/reports/{d.slug}/").status_code == 403
        assert holder.get(f"/reports/{d.slug}/export.csv").status_code == 403
    assert holder.get("/reports/").status_code == 403
    assert Client().get("/api/v1/reports/locked-cards/").status_code == 403
    assert Client().get("/reports/locked-cards/").status_code == 302  # to sign in
    assert _client(world, "desk").get("/api/v1/reports/no-such/").status_code == 404


def test_the_report_list_names_every_report(world: World) -> None:
    body = _client(world, "lsa_br1").get("/api/v1/reports/").json()
    assert [r["report"] for r in body["reports"]] == [d.slug for d in DEFINITIONS]
    for entry in body["reports"]:
        assert entry["url"].endswith(f"/api/v1/reports/{entry['report']}/")


# The portal ---------------------------------------------------------------------------------


@pytest.mark.parametrize("viewer", ["sponsor_ho", "lsa_els"])
def test_the_portal_page_shows_the_same_figures_and_links_csv_and_charts(
    world: World, viewer: str
) -> None:
    client = _client(world, viewer)
    page = client.get("/reports/certificates-expiring/", {"days": "90"}).content.decode()
    orgs = reach(viewer)
    for days in (7, 30, 90):
        total = sum(world.expiring[o][days] for o in orgs)
        heading = '<span class="nhsuk-table-responsive__heading" aria-hidden="true">'
        assert f"{heading}Certificates </span>{total}</td>" in page
    assert "/reports/certificates-expiring/summary/chart.svg?days=90" in page
    assert "/reports/certificates-expiring/export.csv?days=90&amp;table=certificates" in page
    csv_rows = _csv(
        b"".join(
            client.get(
                "/reports/certificates-expiring/export.csv", {"days": "90"}
            ).streaming_content
        )  # type: ignore[attr-defined]
    )
    assert len(csv_rows) - 1 == sum(world.expiring[o][90] for o in orgs)


@pytest.mark.parametrize(
    ("slug", "table"),
    [
        ("certificates-expiring", "summary"),
        ("requests-by-age", "bands"),
        ("card-activity", "activity"),
    ],
)
def test_charts_are_svg_without_style_or_script(world: World, slug: str, table: str) -> None:
    response = _client(world, "desk").get(f"/reports/{slug}/{table}/chart.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    svg = response.content.decode()
    assert "<svg" in svg
    assert "style=" not in svg and "<style" not in svg and "<script" not in svg
    assert 'fill="#005eb8"' in svg  # the bars, coloured by attribute


def test_a_chart_counts_only_what_the_viewer_may_see(world: World) -> None:
    """The chart's labels are the table's; its bars' heights differ with the viewer's scope."""
    desk = _client(world, "desk").get("/reports/requests-by-age/bands/chart.svg").content
    els = _client(world, "lsa_els").get("/reports/requests-by-age/bands/chart.svg").content
    assert desk != els
    assert (
        _client(world, "holder").get("/reports/requests-by-age/bands/chart.svg").status_code == 403
    )
    assert _client(world, "desk").get("/reports/locked-cards/cards/chart.svg").status_code == 404


def test_reports_are_offered_on_the_home_page_to_those_who_may_see_them(world: World) -> None:
    for viewer in ("lsa_br1", "sponsor_ho", "id_checker", "ra_manager", "desk"):
        assert 'href="/reports/"' in _client(world, viewer).get("/").content.decode(), viewer
    assert 'href="/reports/"' not in _client(world, "holder").get("/").content.decode()


def test_every_report_page_renders_for_a_viewer_in_and_out_of_scope(world: World) -> None:
    for viewer in ("ra_manager", "lsa_els"):
        client = _client(world, viewer)
        index = client.get("/reports/").content.decode()
        for d in DEFINITIONS:
            assert f'href="/reports/{d.slug}/"' in index
            page = client.get(f"/reports/{d.slug}/")
            assert page.status_code == 200, d.slug
            assert d.title in page.content.decode()
