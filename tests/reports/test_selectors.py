"""Every report against counts made from the world's description, for every kind of viewer."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cis.authz.policy import CONSOLE
from cis.core import clock
from cis.reports import selectors as reports
from cis.rights.models import Right

from .world import ORGS, RA_WIDE, SCOPE, World, build, reach

pytestmark = pytest.mark.django_db

VIEWERS = tuple(SCOPE)


@pytest.fixture
def world() -> World:
    return build()


def _sum(per_org: dict[str, int], orgs: set[str]) -> int:
    return sum(per_org[o] for o in orgs)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_locked_cards(world: World, viewer: str) -> None:
    rows = reports.locked_cards(actor=world.viewers[viewer])
    assert rows.count() == _sum(world.locked, reach(viewer))
    assert all(card.status == "locked" for card in rows)
    locked_at = [card.locked_at for card in rows]
    assert locked_at == sorted(locked_at)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_certificates_expiring(world: World, viewer: str) -> None:
    actor = world.viewers[viewer]
    orgs = reach(viewer)
    expected = {d: sum(world.expiring[o][d] for o in orgs) for d in (7, 30, 90)}
    assert reports.certificates_expiring_counts(actor=actor) == expected
    for days in (7, 30, 90):
        rows = list(reports.certificates_expiring(actor=actor, within_days=days))
        assert len(rows) == expected[days]
        horizon = clock.now() + dt.timedelta(days=days)
        assert all(clock.now() <= c.not_after <= horizon for c in rows)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_positions_ending(world: World, viewer: str) -> None:
    orgs = reach(viewer) - {"SHUT"}  # a closed organisation's positions are over already
    rows = list(reports.positions_ending(actor=world.viewers[viewer], within_days=30))
    assert len(rows) == _sum(world.ending, orgs)
    assert {r.position.organisation.ods_code for r in rows} <= {
        world.orgs[o].ods_code for o in orgs
    }
    longer = reports.positions_ending(actor=world.viewers[viewer], within_days=60).count()
    assert longer == len(rows) + len(orgs)  # the one ending in 45 days at each


@pytest.mark.parametrize("viewer", VIEWERS)
def test_people_awaiting_identity_check(world: World, viewer: str) -> None:
    rows = reports.people_awaiting_identity_check(actor=world.viewers[viewer])
    if viewer == "desk":
        expected = world.restricted_a + world.restricted_b
    elif viewer in RA_WIDE:
        expected = world.restricted_a
    else:
        expected = 0  # nobody unverified holds a position, so organisation rights see none
    assert rows.count() == expected


def _requests_in(world: World, viewer: str) -> list:  # type: ignore[type-arg]
    if viewer == "desk":
        orgs = set(ORGS)
    elif viewer in RA_WIDE:
        orgs = {o for o in ORGS if world.orgs[o].serving_ra == world.ra_a}
    else:
        orgs = SCOPE[viewer]
    return [r for o in orgs for r in world.open_requests[o]]


@pytest.mark.parametrize("viewer", VIEWERS)
def test_requests_by_age(world: World, viewer: str) -> None:
    expected = _requests_in(world, viewer)
    bands = reports.requests_by_age(actor=world.viewers[viewer])
    assert [b.label for b in bands] == [label for label, _, _ in reports.AGE_BANDS]
    assert sum(b.total for b in bands) == len(expected)
    now = clock.now()
    for band, (_label, low, high) in zip(bands, reports.AGE_BANDS, strict=True):
        mine = [
            r
            for r in expected
            if (now - r.raised_at).days >= low and (high is None or (now - r.raised_at).days < high)
        ]
        assert band.overdue == sum(1 for r in mine if r.due_at < now), band.label
        assert band.within_due == sum(1 for r in mine if r.due_at >= now), band.label
    listed = list(reports.open_requests(actor=world.viewers[viewer]))
    assert {r.pk for r in listed} == {r.pk for r in expected}


@pytest.mark.parametrize("viewer", VIEWERS)
def test_escalations(world: World, viewer: str) -> None:
    expected = [e for r in _requests_in(world, viewer) for e in r.escalations.all()]
    counts = reports.escalation_counts(actor=world.viewers[viewer])
    assert counts.total == len(expected) == counts.by_the_clock + counts.by_hand
    assert counts.by_the_clock == sum(1 for e in expected if e.raised_by_id is None)
    assert counts.to_service_desk == 0
    listed = reports.open_escalations(actor=world.viewers[viewer])
    assert {e.pk for e in listed} == {e.pk for e in expected}


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("period", ["week", "month"])
def test_card_activity(world: World, viewer: str, period: str) -> None:
    orgs = reach(viewer)
    count = 12 if period == "week" else 3
    periods = reports.card_activity(actor=world.viewers[viewer], period=period, count=count)
    assert len(periods) == count
    first = periods[0].starts
    ops = [
        op
        for o in orgs
        for op in world.operations[o]
        if timezone.localdate(op.completed_at) >= first
    ]

    def made(kind: str) -> int:
        return sum(1 for op in ops if op.kind == kind)

    assert sum(p.self_unlocks for p in periods) == made("self_unlock")
    assert sum(p.assisted_unlocks for p in periods) == made("unlock")
    assert sum(p.renewals for p in periods) == made("renew")
    if period == "week":
        # The self-unlocks are this week's, the assisted ones three weeks back.
        assert periods[-1].self_unlocks == made("self_unlock")
        assert periods[-4].assisted_unlocks == made("unlock")
        assert periods[-6].renewals == made("renew")
        assert all(
            (b.starts - a.starts).days == 7 for a, b in zip(periods, periods[1:], strict=False)
        )


@pytest.mark.parametrize("viewer", VIEWERS)
def test_rights_holders_by_organisation(world: World, viewer: str) -> None:
    rows = reports.rights_holders_by_organisation(actor=world.viewers[viewer])
    org_scope = set(ORGS) if viewer == "desk" else SCOPE[viewer]
    open_orgs = org_scope - {"SHUT"}
    assert {r.organisation.ods_code for r in rows} == {world.orgs[o].ods_code for o in open_orgs}
    by_code = {r.organisation.ods_code: r for r in rows}
    v = world.viewers
    expect = {
        "HO": {Right.SPONSOR: [v["sponsor_ho"]]},
        "BR1": {Right.LSA: [v["lsa_br1"]], Right.SPONSOR: [v["sponsor_ho"]]},
        "BR2": {Right.SPONSOR: [v["sponsor_ho"]]},
        "IND": {},  # its LSA's grant has ended
        "RAH": {},
        "ELS": {Right.LSA: [v["lsa_els"]]},
    }
    for org in open_orgs:
        assert by_code[world.orgs[org].ods_code].holders == expect[org], org
    ra_wide = reports.ra_wide_rights_holders(actor=world.viewers[viewer])
    if viewer in RA_WIDE or viewer in ("lsa_br1", "sponsor_ho"):
        # Their organisations are served by RA A: its area-wide staff are listed for them.
        assert {g.person for g in ra_wide} == {v["id_checker"], v["ra_manager"]}
    elif viewer == "desk":
        assert {g.person for g in ra_wide} == {v["id_checker"], v["ra_manager"]}
    else:
        assert list(ra_wide) == []


@pytest.mark.parametrize("viewer", VIEWERS)
def test_premises_without_lsa(world: World, viewer: str) -> None:
    rows = reports.premises_without_lsa(actor=world.viewers[viewer])
    org_scope = set(ORGS) if viewer == "desk" else SCOPE[viewer]
    expected = {"IND"} & org_scope  # RA office left out, SHUT closed, the rest have one
    assert {o.ods_code for o in rows} == {world.orgs[o].ods_code for o in expected}


def test_the_console_sees_everything_and_a_holder_nothing(world: World) -> None:
    assert reports.locked_cards(actor=CONSOLE).count() == sum(world.locked.values())
    assert reports.may_view_reports(actor=CONSOLE)
    assert not reports.may_view_reports(actor=world.viewers["holder"])
    assert not reports.may_view_reports(actor=None)
    for name in VIEWERS:
        if name != "holder":
            assert reports.may_view_reports(actor=world.viewers[name]), name


def test_a_report_is_a_few_statements_however_many_rows(
    world: World, django_assert_max_num_queries: object
) -> None:
    """The viewer's grants and reach (two statements), then one for the figures."""
    actor = world.viewers["ra_manager"]
    for report in (
        lambda: reports.certificates_expiring_counts(actor=actor),
        lambda: reports.requests_by_age(actor=actor),
        lambda: reports.escalation_counts(actor=actor),
        lambda: reports.card_activity(actor=actor),
        lambda: list(reports.locked_cards(actor=actor)),
        lambda: list(reports.positions_ending(actor=actor)),
    ):
        with django_assert_max_num_queries(3):  # type: ignore[operator]
            report()
    # The organisations, then their parents a level at a time, then the grants reaching them.
    with django_assert_max_num_queries(7):  # type: ignore[operator]
        reports.premises_without_lsa(actor=actor)
