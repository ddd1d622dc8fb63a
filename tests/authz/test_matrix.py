"""The permission matrix: every action x every right x every kind of target, against DESIGN §2.

The expectations below are written from the design's table of rights, independently of the
policy's own tables, so that a change to either shows up here as a mismatch.
"""

from __future__ import annotations

from typing import Any

import pytest

from cis.authz.actions import Action
from cis.authz.policy import decide
from cis.authz.scoping import visible
from cis.authz.targets import NewAssignment, NewGrant
from cis.people.models import Person
from cis.rbac.models import Position, PositionAssignment
from cis.rights.models import Right, RightGrant

from .expect import ADMINS, RA_AGENTS, in_reach
from .world import ACTORS, TARGETS, World, build_world, new_position

pytestmark = pytest.mark.django_db

# DESIGN §2: who may take each action on someone (or something) in their scope.
WHO: dict[Action, set[str]] = {
    Action.PERSON_VIEW: ADMINS,
    Action.PERSON_SEARCH: ADMINS,
    Action.PERSON_CREATE: RA_AGENTS,
    Action.PERSON_UPDATE_DETAILS: RA_AGENTS,
    Action.PERSON_UPDATE_CONTACT: RA_AGENTS,
    Action.PERSON_CONFIRM_CONTACT: RA_AGENTS,
    Action.PERSON_VERIFY_IDENTITY: {"id_checker", *RA_AGENTS},
    Action.PERSON_CLOSE: RA_AGENTS,
    Action.PERSON_REOPEN: RA_AGENTS,
    Action.ORGANISATION_VIEW: ADMINS,
    Action.ORGANISATION_CREATE: {"ra_manager", "service_desk"},
    Action.ORGANISATION_UPDATE: {"ra_manager", "service_desk"},
    Action.ORGANISATION_CLOSE: {"ra_manager", "service_desk"},
    Action.ORGANISATION_REOPEN: {"ra_manager", "service_desk"},
    Action.ORGANISATION_MOVE: {"ra_manager", "service_desk"},
    Action.RA_MANAGE: {"service_desk"},
    Action.CATALOGUE_MANAGE: {"service_desk"},
    Action.CATALOGUE_VIEW: {*ACTORS},  # everyone: the catalogue is national, public data
    Action.POSITION_VIEW: ADMINS,
    Action.POSITION_CREATE: {"ra_agent_advanced", "ra_manager"},
    Action.POSITION_UPDATE: {"ra_agent_advanced", "ra_manager"},
    Action.POSITION_RETIRE: {"ra_agent_advanced", "ra_manager"},
    Action.ASSIGNMENT_VIEW: ADMINS,
    Action.ASSIGNMENT_CREATE: RA_AGENTS,
    Action.ASSIGNMENT_END: RA_AGENTS,
    Action.RIGHT_VIEW: ADMINS,
    Action.RIGHT_GRANT: {"ra_manager", "service_desk"},
    Action.RIGHT_REVOKE: {"ra_manager", "service_desk"},
    Action.AUDIT_VIEW: {"ra_manager", "service_desk"},
    Action.REPORT_VIEW: ADMINS,
    Action.APPROVAL_POLICY_MANAGE: {"service_desk"},
    Action.IMPORT_RUN: {"service_desk"},
}
# The card holder's own rights over their own record.
SELF_SERVICE = {
    Action.PERSON_VIEW,
    Action.PERSON_UPDATE_CONTACT,
    Action.ORGANISATION_VIEW,
    Action.POSITION_VIEW,
    Action.ASSIGNMENT_VIEW,
    Action.RIGHT_VIEW,
}
# Nothing changes a closed profile but reopening it.
BLOCKED_WHEN_CLOSED = {
    Action.PERSON_UPDATE_DETAILS,
    Action.PERSON_UPDATE_CONTACT,
    Action.PERSON_CONFIRM_CONTACT,
    Action.PERSON_VERIFY_IDENTITY,
    Action.PERSON_CLOSE,
    Action.ASSIGNMENT_CREATE,
    Action.RIGHT_GRANT,
}
NO_TARGET = {
    Action.PERSON_SEARCH,
    Action.RA_MANAGE,
    Action.CATALOGUE_VIEW,
    Action.CATALOGUE_MANAGE,
    Action.AUDIT_VIEW,
    Action.REPORT_VIEW,
    Action.APPROVAL_POLICY_MANAGE,
    Action.IMPORT_RUN,
}
ABOUT_AN_ORG = {
    Action.ORGANISATION_VIEW,
    Action.ORGANISATION_UPDATE,
    Action.ORGANISATION_CLOSE,
    Action.ORGANISATION_REOPEN,
    Action.ORGANISATION_MOVE,
    Action.POSITION_CREATE,
    Action.POSITION_VIEW,
    Action.POSITION_UPDATE,
    Action.POSITION_RETIRE,
}
ABOUT_AN_RA = {Action.PERSON_CREATE, Action.ORGANISATION_CREATE}


def expected(
    action: Action,
    actor: str,
    target: str,
    *,
    assignable: bool = False,
    granting: Right = Right.LSA,
) -> bool:
    if action in NO_TARGET:
        return actor in WHO[action]
    about_self = target == "self"
    if about_self and action in SELF_SERVICE:
        return True
    if action == Action.ORGANISATION_VIEW and target not in ("out_of_scope", "child_org"):
        return True  # every actor works at the head office, and may see their own organisation
    person_bound = action not in ABOUT_AN_ORG | ABOUT_AN_RA
    if about_self and person_bound:
        return False  # separation of duties: nothing else on one's own record
    if target == "closed_person" and action in BLOCKED_WHEN_CLOSED:
        return False
    who = set(WHO[action])
    if action in (Action.ASSIGNMENT_CREATE, Action.ASSIGNMENT_END) and assignable:
        who |= {"sponsor", "sponsor_children"}
    if action in (Action.RIGHT_GRANT, Action.RIGHT_REVOKE) and granting == Right.RA_MANAGER:
        who = {"service_desk"}
    if actor not in who:
        return False
    if action in ABOUT_AN_RA:
        # Everything but the out-of-scope target is served by the actors' RA.
        return actor == "service_desk" or target != "out_of_scope"
    by_person = action not in ABOUT_AN_ORG and action not in (
        Action.ASSIGNMENT_CREATE,
        Action.ASSIGNMENT_END,
        Action.ASSIGNMENT_VIEW,
    )
    return in_reach(actor, target, by_person=by_person)


def target_for(
    world: World, action: Action, actor: Person, target: str, *, assignable: bool, granting: Right
) -> Any:
    person = actor if target == "self" else world.targets[target]
    home = world.head_office if target == "self" else world.home[target]
    if action in NO_TARGET:
        return None
    if action in ABOUT_AN_RA:
        return home.serving_ra
    if action in (
        Action.ORGANISATION_VIEW,
        Action.ORGANISATION_UPDATE,
        Action.ORGANISATION_CLOSE,
        Action.ORGANISATION_REOPEN,
        Action.ORGANISATION_MOVE,
        Action.POSITION_CREATE,
    ):
        return home
    if action in (Action.POSITION_VIEW, Action.POSITION_UPDATE, Action.POSITION_RETIRE):
        if target == "self":
            return Position.objects.get(organisation=world.head_office, name="Staff")
        return world.assignment[target].position
    if action in (Action.ASSIGNMENT_VIEW, Action.ASSIGNMENT_END):
        if target == "self":
            assignment = PositionAssignment.objects.get(person=actor)
        else:
            assignment = world.assignment[target]
        if assignable:
            Position.objects.filter(pk=assignment.position_id).update(assignable=True)
            assignment.refresh_from_db()
        return assignment
    if action == Action.ASSIGNMENT_CREATE:
        return NewAssignment(person, new_position(home, assignable=assignable))
    if action == Action.RIGHT_GRANT:
        return NewGrant(person, granting, organisation=home)
    if action in (Action.RIGHT_VIEW, Action.RIGHT_REVOKE):
        if target == "self":
            return RightGrant(person=actor, right=granting, organisation=home)
        grant = world.grant_held[target]
        grant.right = granting
        return grant
    return person


VARIANTS: list[tuple[Action, bool, Right]] = [(a, False, Right.LSA) for a in WHO]
VARIANTS += [
    (Action.ASSIGNMENT_CREATE, True, Right.LSA),
    (Action.ASSIGNMENT_END, True, Right.LSA),
    (Action.RIGHT_GRANT, False, Right.RA_MANAGER),
    (Action.RIGHT_REVOKE, False, Right.RA_MANAGER),
]


@pytest.mark.parametrize(
    ("action", "assignable", "granting"),
    VARIANTS,
    ids=[
        a.value + ("-assignable" if s else "") + ("-ra-manager" if g == Right.RA_MANAGER else "")
        for a, s, g in VARIANTS
    ],
)
def test_matrix(action: Action, assignable: bool, granting: Right) -> None:
    assert action in WHO, f"{action} has no expectation: add it to the matrix"
    world = build_world()
    mismatches = []
    cases = 0
    for actor_name in ACTORS:
        actor = world.actors[actor_name]
        for target in TARGETS:
            subject = target_for(
                world, action, actor, target, assignable=assignable, granting=granting
            )
            decision = decide(actor, action, subject)
            want = expected(action, actor_name, target, assignable=assignable, granting=granting)
            cases += 1
            if decision.allowed != want:
                mismatches.append(
                    f"{actor_name:>18} -> {target:<17} expected "
                    f"{'ALLOW' if want else 'DENY'} got {decision.allowed} ({decision.reason})"
                )
            if decision.allowed:
                assert decision.rule, "an allowed decision must name its rule"
            else:
                assert decision.reason, "a refusal must say why"
    assert cases == len(ACTORS) * len(TARGETS)
    assert not mismatches, "\n" + "\n".join(mismatches)


def test_the_directory_matrix_covers_the_directory_actions() -> None:
    directory = {
        a
        for a in Action
        if a.value.split(".")[0]
        in {
            "person",
            "organisation",
            "ra",
            "catalogue",
            "position",
            "assignment",
            "right",
            "audit",
            "approval_policy",
            "import",
        }
    }
    assert directory <= set(WHO)


def test_anonymous_is_refused_everything() -> None:
    from django.contrib.auth.models import AnonymousUser

    for action in Action:
        assert not decide(AnonymousUser(), action, None).allowed  # type: ignore[arg-type]
        assert not decide(None, action, None).allowed


@pytest.mark.parametrize("action", [Action.PERSON_SEARCH, Action.PERSON_VIEW])
def test_visible_people_match_the_decisions(action: Action) -> None:
    """A list can never show someone the policy would not let the actor see."""
    world = build_world()
    everyone = list(Person.objects.all())
    for name, actor in world.actors.items():
        shown = set(visible(actor, action, Person.objects.all()).values_list("pk", flat=True))
        allowed = {p.pk for p in everyone if decide(actor, Action.PERSON_VIEW, p).allowed}
        if action == Action.PERSON_SEARCH:
            # Search lists the people in one's scope; one's own record is reached by 'My details'.
            shown.discard(actor.pk)
            allowed.discard(actor.pk)
        assert shown == allowed, name


def test_visible_assignments_match_the_decisions() -> None:
    world = build_world()
    rows = list(PositionAssignment.objects.select_related("position"))
    for name, actor in world.actors.items():
        shown = set(
            visible(actor, Action.ASSIGNMENT_VIEW, PositionAssignment.objects.all()).values_list(
                "pk", flat=True
            )
        )
        allowed = {a.pk for a in rows if decide(actor, Action.ASSIGNMENT_VIEW, a).allowed}
        assert shown == allowed, name


def test_only_ra_managers_may_raise_requests_about_rights() -> None:
    from cis.authz.policy import CONSOLE, request_types_allowed
    from cis.workflow.states import RIGHT_TYPES, RequestType

    world = build_world()
    everything = list(RequestType.values)
    for name, actor in world.actors.items():
        allowed = set(request_types_allowed(actor, everything))
        assert allowed.isdisjoint(RIGHT_TYPES) == (name != "ra_manager"), name
        assert set(everything) - set(RIGHT_TYPES) <= allowed
    assert request_types_allowed(CONSOLE, everything) == everything
