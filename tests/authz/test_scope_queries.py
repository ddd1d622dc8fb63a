"""The policy's own lookups: the same answers as the ORM rules they stand for, in few queries.

cis.authz.scope writes its hot lookups out in SQL; these tests hold them to the ORM definitions
(active_assignments(), the grant rule, the parent links), and pin how many queries a decision
costs so that an extra one per grant or per check cannot creep back.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.db.models import Q

from cis.authz.actions import Action
from cis.authz.policy import CONSOLE, decide
from cis.authz.scope import (
    GrantScope,
    active_assignments,
    descendants,
    effective_grants,
    grant_scope,
    person_org_ids,
    person_workplaces,
)
from cis.core import clock
from cis.organisations.models import Organisation, OrganisationStatus
from cis.people.models import Person, PersonStatus
from cis.rbac.models import PositionAssignment, PositionStatus
from cis.rights.models import Right, RightGrant
from cis.workflow.models import Request
from cis.workflow.states import RequestType
from tests.factories.directory import (
    AssignmentFactory,
    OrganisationFactory,
    PersonFactory,
    PositionFactory,
    RegistrationAuthorityFactory,
    RightGrantFactory,
)

pytestmark = pytest.mark.django_db

NumQueries = Callable[..., Any]


def _days() -> list[dt.date]:
    today = clock.today()
    return [today + dt.timedelta(days=n) for n in (-40, -10, -1, 0, 1, 40)]


def test_workplaces_follow_the_active_assignment_rule() -> None:
    today = clock.today()
    ra, other_ra = RegistrationAuthorityFactory(), RegistrationAuthorityFactory()
    open_org = OrganisationFactory(ods_code="FWP01", serving_ra=ra)
    second = OrganisationFactory(ods_code="FWP02", serving_ra=other_ra)
    closed = OrganisationFactory(ods_code="FWP03", serving_ra=ra, status=OrganisationStatus.CLOSED)
    post = PositionFactory(organisation=open_org)
    other_post = PositionFactory(organisation=second)
    retired = PositionFactory(organisation=second, status=PositionStatus.RETIRED)
    closed_post = PositionFactory(organisation=closed)
    person, someone_else = PersonFactory(), PersonFactory()
    back = today - dt.timedelta(days=20)
    for position, start, end in [
        (post, back, None),  # current
        (post, back, today),  # a second one at the same place, ending today
        (other_post, back, today - dt.timedelta(days=1)),  # ended yesterday
        (other_post, today + dt.timedelta(days=5), None),  # starts later
        (retired, back, None),
        (closed_post, back, None),
    ]:
        AssignmentFactory(person=person, position=position, start_date=start, end_date=end)
    AssignmentFactory(person=someone_else, position=other_post, start_date=back)

    for day in _days():
        rows = PositionAssignment.objects.filter(active_assignments(day), person=person)
        expected = {
            org: (ra_id, code)
            for org, ra_id, code in rows.values_list(
                "position__organisation_id",
                "position__organisation__serving_ra_id",
                "position__organisation__ods_code",
            )
        }
        found = person_workplaces(person, on=day)
        assert {org: tuple(place) for org, place in found.items()} == expected, day
    assert person_workplaces(person) == {open_org.id: (ra.id, "FWP01")}
    assert person_org_ids(person) == {open_org.id}
    assert person_workplaces(PersonFactory()) == {}


def test_effective_grants_follow_the_grant_rule() -> None:
    today = clock.today()
    ra = RegistrationAuthorityFactory()
    org = OrganisationFactory(serving_ra=ra)
    actor = PersonFactory()
    back = today - dt.timedelta(days=30)
    made = [
        RightGrantFactory(person=actor, right=Right.RA_AGENT, ra=ra, start_date=back),
        RightGrantFactory(
            person=actor, right=Right.LSA, organisation=org, include_children=True, start_date=back
        ),
        RightGrantFactory(person=actor, right=Right.SPONSOR, organisation=org, end_date=today),
        RightGrantFactory(
            person=actor, right=Right.SPONSOR, start_date=back, end_date=today - dt.timedelta(1)
        ),
        RightGrantFactory(person=actor, right=Right.RA_MANAGER, ra=ra, start_date=today),
        RightGrantFactory(
            person=actor, right=Right.SERVICE_DESK, start_date=today + dt.timedelta(days=2)
        ),
        RightGrantFactory(person=actor, right=Right.RA_MANAGER, ra=ra, revoked_at=clock.now()),
    ]
    RightGrantFactory(right=Right.SERVICE_DESK)  # someone else's

    for day in _days():
        expected = list(
            RightGrant.objects.filter(person=actor, revoked_at__isnull=True, start_date__lte=day)
            .filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
            .order_by("id")
        )
        found = effective_grants(actor, on=day)
        assert [g.pk for g in found] == [g.pk for g in expected], day
        for got, want in zip(found, expected, strict=True):
            assert (got.person_id, got.right, got.organisation_id, got.ra_id) == (
                want.person_id,
                want.right,
                want.organisation_id,
                want.ra_id,
            )
            assert got.include_children is want.include_children

    current = effective_grants(actor)
    assert [g.pk for g in current] == [made[0].pk, made[1].pk, made[2].pk, made[4].pk]
    assert current[0].start_date == back  # a field the policy does not read still loads
    assert current[1].organisation == org

    for status in (PersonStatus.RESTRICTED, PersonStatus.CLOSED):
        actor.status = status
        assert effective_grants(actor) == []


def test_descendants_walk_the_whole_tree_once() -> None:
    def below(ids: set[int]) -> set[int]:  # the rule: follow parent links down, level by level
        found, frontier = set(ids), set(ids)
        while frontier:
            frontier = set(
                Organisation.objects.filter(parent_id__in=frontier).values_list("id", flat=True)
            )
            frontier -= found
            found |= frontier
        return found

    top = OrganisationFactory()
    left, right = OrganisationFactory(parent=top), OrganisationFactory(parent=top)
    leaf = OrganisationFactory(parent=left)
    OrganisationFactory(parent=leaf)
    loop_a = OrganisationFactory()
    loop_b = OrganisationFactory(parent=loop_a)
    Organisation.objects.filter(pk=loop_a.pk).update(parent=loop_b)  # bad data must not hang
    alone = OrganisationFactory()

    for start in [{top.id}, {left.id}, {right.id, leaf.id}, {loop_a.id}, {alone.id}, set()]:
        assert descendants(start) == below(start), start
    assert descendants([top.id, 999_999]) == below({top.id}) | {999_999}


def test_a_grant_reaches_what_its_listed_scope_holds() -> None:
    ra, other_ra = RegistrationAuthorityFactory(), RegistrationAuthorityFactory()
    top = OrganisationFactory(serving_ra=ra)
    child = OrganisationFactory(serving_ra=other_ra, parent=top)
    grandchild = OrganisationFactory(serving_ra=ra, parent=child)
    apart = OrganisationFactory(serving_ra=other_ra)
    orgs = [top, child, grandchild, apart]
    grants = [
        RightGrantFactory(right=Right.RA_AGENT, ra=ra),
        RightGrantFactory(right=Right.RA_AGENT, ra=other_ra),
        RightGrantFactory(right=Right.LSA, organisation=top),
        RightGrantFactory(right=Right.LSA, organisation=top, include_children=True),
        RightGrantFactory(right=Right.LSA, organisation=child, include_children=True),
        RightGrantFactory(right=Right.LSA),  # neither an organisation nor an RA: reaches nothing
    ]
    serving = {o.id: o.serving_ra_id for o in orgs}
    for grant in grants:
        listed = grant_scope(grant).org_ids
        for size in range(len(orgs) + 1):
            for chosen in itertools.combinations(orgs, size):
                ids = {o.id for o in chosen}
                want = bool(ids & listed)
                assert grant_scope(grant).reaches(ids) is want, (grant, ids)
                assert grant_scope(grant).reaches(ids, serving) is want, (grant, ids)
    national = grant_scope(RightGrantFactory(right=Right.SERVICE_DESK))
    assert national.national
    assert national.reaches({apart.id})


# How many queries a decision costs.


@pytest.fixture
def area() -> dict[str, Any]:
    ra, other_ra = RegistrationAuthorityFactory(), RegistrationAuthorityFactory()
    head = OrganisationFactory(serving_ra=ra)
    branch = OrganisationFactory(serving_ra=ra, parent=head)
    apart = OrganisationFactory(serving_ra=other_ra)

    def person(where: Organisation | None, registered: Any = None) -> Person:
        someone: Person = PersonFactory(registered_ra=registered)
        if where is not None:
            AssignmentFactory(person=someone, position=PositionFactory(organisation=where))
        return someone

    def actor(*grants: dict[str, Any]) -> Person:
        someone = person(head, other_ra)
        for grant in grants:
            RightGrantFactory(person=someone, **grant)
        return someone

    return {
        "ra": ra,
        "agent": actor({"right": Right.RA_AGENT, "ra": ra}),
        "lsa": actor({"right": Right.LSA, "organisation": head}),
        "lsa_children": actor({"right": Right.LSA, "organisation": head, "include_children": True}),
        "many": actor(
            {"right": Right.LSA, "organisation": apart},
            {"right": Right.SPONSOR, "organisation": head, "include_children": True},
            {"right": Right.RA_AGENT, "ra": other_ra},
        ),
        "manager": actor({"right": Right.RA_MANAGER, "ra": ra}),
        "registered_here": person(None, ra),
        "at_head": person(head, other_ra),
        "at_branch": person(branch, other_ra),
        "apart": person(apart, ra),
        "alone": person(OrganisationFactory(serving_ra=ra)),
        "nowhere": person(None),
    }


def _fresh(person: Person) -> Person:
    return Person.objects.get(pk=person.pk)


@pytest.mark.parametrize(
    "case",
    [
        # Settled by the RA the holder is registered with: only the grants are read.
        ("agent", Action.CERTIFICATE_ISSUE, "registered_here", True, 1),
        # Registered elsewhere: where they work is read too, with each workplace's RA.
        ("agent", Action.CERTIFICATE_ISSUE, "at_branch", True, 2),
        ("agent", Action.CERTIFICATE_ISSUE, "nowhere", False, 2),
        ("lsa", Action.CARD_UNLOCK_ASSISTED, "at_head", True, 2),
        ("lsa", Action.CARD_UNLOCK_ASSISTED, "at_branch", False, 2),
        ("lsa_children", Action.CARD_UNLOCK_ASSISTED, "at_branch", True, 3),
        # Three grants: the grants and the workplaces are each read once, not once per grant.
        ("many", Action.CARD_UNLOCK_ASSISTED, "apart", True, 2),
        ("many", Action.CARD_UNLOCK_ASSISTED, "at_branch", True, 3),
        ("many", Action.CARD_UNLOCK_ASSISTED, "alone", False, 3),
        ("many", Action.CARD_UNLOCK_ASSISTED, "nowhere", False, 2),
        ("many", Action.PERSON_UPDATE_DETAILS, "at_branch", True, 1),
        # One's own record: self-service or refused, without a query.
        ("agent", Action.PERSON_VIEW, "agent", True, 0),
        ("agent", Action.CERTIFICATE_ISSUE, "agent", False, 0),
    ],
)
def test_decision_query_counts(
    area: dict[str, Any],
    django_assert_num_queries: NumQueries,
    case: tuple[str, Action, str, bool, int],
) -> None:
    actor, action, target, allowed, queries = case
    who, whom = _fresh(area[actor]), _fresh(area[target])
    with django_assert_num_queries(queries):
        decision = decide(who, action, whom)
    assert decision.allowed is allowed, decision


def test_the_console_decides_without_a_query(
    area: dict[str, Any], django_assert_num_queries: NumQueries
) -> None:
    holder = _fresh(area["at_head"])
    with django_assert_num_queries(0):
        assert decide(CONSOLE, Action.CERTIFICATE_ISSUE, holder).allowed


def test_a_request_about_rights_reads_the_grants_once(
    area: dict[str, Any], django_assert_num_queries: NumQueries
) -> None:
    now = clock.now()
    request = Request.objects.create(
        request_type=RequestType.RIGHT_GRANT,
        subject=area["at_head"],
        organisation=None,
        ra=area["ra"],
        raised_by=area["lsa"],
        raised_at=now,
        due_at=now,
    )
    request = Request.objects.get(pk=request.pk)
    request.subject  # noqa: B018 - load the subject before counting, as a service would have
    manager = _fresh(area["manager"])
    with django_assert_num_queries(1):
        decision = decide(manager, Action.REQUEST_APPROVE, request)
    assert decision.allowed, decision


def test_a_scope_lists_its_organisations_only_when_asked(
    area: dict[str, Any], django_assert_num_queries: NumQueries
) -> None:
    grant = RightGrant.objects.get(person=area["agent"])
    served = set(Organisation.objects.filter(serving_ra=area["ra"]).values_list("id", flat=True))
    with django_assert_num_queries(0):
        scope = GrantScope(grant)
        assert scope.ra_ids == {area["ra"].id}
    with django_assert_num_queries(1):
        assert scope.org_ids == served
        assert scope.org_ids == served


def test_a_read_only_request_reads_the_actors_grants_once(
    django_assert_num_queries: NumQueries,
) -> None:
    """A GET's scoped lists share one read of the actor's grants (context.request_memo)."""
    from cis.core import context  # noqa: PLC0415 - the request context these tests bind

    person = PersonFactory(status=PersonStatus.ACTIVE)
    RightGrantFactory(person=person, right=Right.LSA)
    token = context.bind(context.RequestContext(read_only=True))
    try:
        with django_assert_num_queries(1):
            first = effective_grants(person)
            again = effective_grants(person)
        assert [g.pk for g in again] == [g.pk for g in first]
    finally:
        context.unbind(token)


def test_a_request_that_writes_reads_the_grants_every_time(
    django_assert_num_queries: NumQueries,
) -> None:
    """Outside a read-only request a check after a change sees the change."""
    from cis.core import context  # noqa: PLC0415 - the request context these tests bind

    person = PersonFactory(status=PersonStatus.ACTIVE)
    RightGrantFactory(person=person, right=Right.LSA)
    token = context.bind(context.RequestContext(read_only=False))
    try:
        with django_assert_num_queries(1):
            assert len(effective_grants(person)) == 1
        RightGrantFactory(person=person, right=Right.SPONSOR)
        with django_assert_num_queries(1):
            assert len(effective_grants(person)) == 2
    finally:
        context.unbind(token)
    with django_assert_num_queries(1):
        assert len(effective_grants(person)) == 2  # no request at all: read every time
