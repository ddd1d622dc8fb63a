"""The permission matrix for requests: every action x request type x right x kind of target.

Written from DESIGN §2 and issue 6, independently of the policy's tables: Sponsors raise, RA Agents
decide, requests about CIS rights belong to RA Managers, LSAs and holders chase; nobody decides a
request they raised or one about themselves. A request sits at an organisation, so whoever covers
that organisation covers the request, whatever has happened to its subject since.
"""

from __future__ import annotations

import datetime as dt

import pytest

from cis.authz.actions import Action
from cis.authz.policy import NEEDS, decide
from cis.authz.scoping import visible
from cis.core import clock
from cis.organisations.models import Organisation
from cis.people.models import Person
from cis.workflow.models import Request
from cis.workflow.states import RequestType
from tests.authz.expect import ADMINS, RA_AGENTS
from tests.authz.world import ACTORS, TARGETS, World, build_world

pytestmark = pytest.mark.django_db

REQUEST_ACTIONS = [a for a in Action if a.value.startswith("request.")]
SPONSORS = {"sponsor", "sponsor_children", *RA_AGENTS}
LSAS = {"lsa", "lsa_children", *SPONSORS}

WHO: dict[Action, set[str]] = {
    Action.REQUEST_RAISE: SPONSORS,
    Action.REQUEST_VIEW: ADMINS,
    Action.REQUEST_APPROVE: RA_AGENTS,
    Action.REQUEST_REJECT: RA_AGENTS,
    Action.REQUEST_CANCEL: RA_AGENTS,
    Action.REQUEST_ESCALATE: LSAS,
    # The card operation that carries out an approved card request is an RA Agent's.
    Action.REQUEST_FULFIL: RA_AGENTS,
    Action.REQUEST_COMMENT: {*RA_AGENTS, "service_desk"},
    # Before any escalation reaches the service desk, only the RA Manager hands requests out.
    Action.REQUEST_REASSIGN: {"ra_manager"},
    # Only the scheduler (the console) closes a request past its time limit.
    Action.REQUEST_EXPIRE: set(),
}
# Only RA Managers raise and decide requests about CIS rights.
RIGHTS_WHO = {"ra_manager"}
RIGHTS_ONLY = {Action.REQUEST_RAISE, Action.REQUEST_APPROVE, Action.REQUEST_REJECT}
# A holder may follow and chase the requests about them.
ABOUT_ME = {Action.REQUEST_VIEW, Action.REQUEST_ESCALATE, Action.REQUEST_COMMENT}
# The raiser may follow, chase, comment on and withdraw their own request, never decide it.
RAISED_BY_ME = {
    Action.REQUEST_VIEW,
    Action.REQUEST_CANCEL,
    Action.REQUEST_ESCALATE,
    Action.REQUEST_COMMENT,
}


def home_of(world: World, target: str) -> Organisation:
    return world.head_office if target == "self" else world.home[target]


def reaches(actor: str, home: str) -> bool:
    if actor == "service_desk":
        return True
    if actor in ("no_right", "ended_lsa"):
        return False
    if actor in ("lsa", "sponsor"):
        return home == "head_office"
    return home in ("head_office", "branch")


def expected(action: Action, request_type: str, actor: str, target: str, *, mine: bool) -> bool:
    has_subject = request_type != RequestType.PERSON_REGISTER
    if mine:
        if action in RAISED_BY_ME:
            return True
        if action in (Action.REQUEST_APPROVE, Action.REQUEST_REJECT):
            return False
    rights_type = request_type in (RequestType.RIGHT_GRANT, RequestType.RIGHT_REVOKE)
    if rights_type and action in RIGHTS_ONLY and actor not in RIGHTS_WHO:
        return False
    if target == "self" and has_subject:
        return action in ABOUT_ME
    if actor not in WHO[action]:
        return False
    home = {"out_of_scope": "elsewhere", "child_org": "branch"}.get(target, "head_office")
    return reaches(actor, home)


def request_for(
    world: World, request_type: str, actor: Person, target: str, *, raiser: Person | None
) -> Request:
    org = home_of(world, target)
    subject = actor if target == "self" else world.targets[target]
    return Request(
        request_type=request_type,
        subject=None if request_type == RequestType.PERSON_REGISTER else subject,
        organisation=org,
        ra=org.serving_ra,
        raised_by=raiser,
        raised_at=clock.now(),
        due_at=clock.now() + dt.timedelta(days=2),
    )


CASES = [(a, t) for a in REQUEST_ACTIONS for t in RequestType.values]


@pytest.mark.parametrize(
    ("action", "request_type"), CASES, ids=[f"{a.value}-{t}" for a, t in CASES]
)
def test_matrix(action: Action, request_type: str) -> None:
    world = build_world()
    someone_else = world.actors["no_right"]
    mismatches = []
    for actor_name in ACTORS:
        actor = world.actors[actor_name]
        raisers = [(False, someone_else if actor_name != "no_right" else None)]
        if action != Action.REQUEST_RAISE:
            raisers.append((True, actor))
        for target in TARGETS:
            for mine, raiser in raisers:
                request = request_for(world, request_type, actor, target, raiser=raiser)
                decision = decide(actor, action, request)
                want = expected(action, request_type, actor_name, target, mine=mine)
                if decision.allowed != want:
                    mismatches.append(
                        f"{actor_name:>18} -> {target:<17}{' (raised it)' if mine else ''} "
                        f"expected {'ALLOW' if want else 'DENY'} got {decision.allowed} "
                        f"({decision.reason or decision.rule})"
                    )
                if decision.allowed:
                    assert decision.rule
                else:
                    assert decision.reason
    assert not mismatches, "\n" + "\n".join(mismatches)


def test_every_workflow_action_has_a_rule_and_an_expectation() -> None:
    assert set(REQUEST_ACTIONS) == set(WHO)
    assert set(REQUEST_ACTIONS) <= set(NEEDS)


def test_anonymous_is_refused_every_request_action() -> None:
    from django.contrib.auth.models import AnonymousUser

    world = build_world()
    request = request_for(
        world, RequestType.CARD_ISSUE, world.actors["lsa"], "in_scope", raiser=None
    )
    for action in REQUEST_ACTIONS:
        assert not decide(AnonymousUser(), action, request).allowed  # type: ignore[arg-type]
        assert not decide(None, action, request).allowed


def test_a_closed_actor_is_refused_even_their_own_requests() -> None:
    world = build_world()
    actor = world.actors["ra_agent"]
    request = request_for(world, RequestType.CARD_ISSUE, actor, "in_scope", raiser=actor)
    Person.objects.filter(pk=actor.pk).update(status="closed")
    actor.refresh_from_db()
    for action in REQUEST_ACTIONS:
        assert not decide(actor, action, request).allowed


@pytest.mark.parametrize("action", [Action.REQUEST_VIEW, Action.REQUEST_CANCEL])
def test_visible_requests_match_the_decisions(action: Action) -> None:
    """The queue can never list a request the policy would not let the actor see."""
    world = build_world()
    raiser = world.actors["sponsor"]
    for name in TARGETS[:-1]:
        for request_type in (RequestType.CARD_ISSUE, RequestType.PERSON_REGISTER):
            request_for(world, request_type, raiser, name, raiser=raiser).save()
    for actor in world.actors.values():
        request_for(world, RequestType.CARD_ISSUE, actor, "self", raiser=raiser).save()
    rows = list(Request.objects.select_related("subject", "organisation", "ra"))
    for name, actor in world.actors.items():
        shown = set(
            visible(actor, Action.REQUEST_VIEW, Request.objects.all()).values_list("pk", flat=True)
        )
        allowed = {r.pk for r in rows if decide(actor, Action.REQUEST_VIEW, r).allowed}
        assert shown == allowed, name


DESK_CASES = [
    (Action.REQUEST_APPROVE, RequestType.CARD_REPLACE, True),
    (Action.REQUEST_APPROVE, RequestType.CARD_ISSUE, True),
    (Action.REQUEST_APPROVE, RequestType.POSITION_ADD, False),
    (Action.REQUEST_APPROVE, RequestType.PERSON_REGISTER, False),
    (Action.REQUEST_REJECT, RequestType.POSITION_ADD, True),
    (Action.REQUEST_REJECT, RequestType.RIGHT_GRANT, True),
    (Action.REQUEST_REASSIGN, RequestType.POSITION_ADD, True),
    (Action.REQUEST_COMMENT, RequestType.POSITION_ADD, True),
]


@pytest.mark.parametrize(("action", "request_type", "allowed"), DESK_CASES)
def test_the_service_desk_resolves_what_is_escalated_to_it(
    action: Action, request_type: str, allowed: bool
) -> None:
    """At the last level the desk rejects, reassigns, comments, and approves card requests
    (which only authorise the RA's workstation); directory changes go back to an RA Agent."""
    from cis.workflow.states import EscalationLevel

    world = build_world()
    desk = world.actors["service_desk"]
    raiser = world.actors["sponsor"]
    request = request_for(world, request_type, desk, "in_scope", raiser=raiser)
    request.escalation_level = EscalationLevel.RA_MANAGER
    assert not decide(desk, Action.REQUEST_REASSIGN, request).allowed
    if action != Action.REQUEST_COMMENT:
        assert not decide(desk, action, request).allowed
    request.escalation_level = EscalationLevel.SERVICE_DESK
    decision = decide(desk, action, request)
    assert decision.allowed == allowed, decision.reason
    if not allowed:
        assert "reassign" in decision.reason
    # Never about themselves, never what they raised.
    own = request_for(world, request_type, desk, "self", raiser=raiser)
    own.escalation_level = EscalationLevel.SERVICE_DESK
    if request_type != RequestType.PERSON_REGISTER and action != Action.REQUEST_COMMENT:
        assert not decide(desk, action, own).allowed
    theirs = request_for(world, request_type, desk, "in_scope", raiser=desk)
    theirs.escalation_level = EscalationLevel.SERVICE_DESK
    if action in (Action.REQUEST_APPROVE, Action.REQUEST_REJECT):
        assert not decide(desk, action, theirs).allowed
