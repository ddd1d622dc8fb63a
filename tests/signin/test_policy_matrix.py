"""The permission matrix for sign-in's actions: every right x every kind of person, decided.

Expectations come from DESIGN §2 and the issue, written here independently of the policy's
tables: administrators with LSA rights or above (and the service desk) see and end the sessions
of people in scope; only the holder registers a security key; an RA Agent may remove one; only
the service desk (or the console) registers clinical systems. Everyone may do the self-service
ones to themselves.
"""

from __future__ import annotations

import pytest

from cis.authz.actions import Action
from cis.authz.policy import CONSOLE, decide
from tests.authz.expect import LSA_AND_UP, RA_AGENTS, in_reach
from tests.authz.world import ACTORS, TARGETS, build_world

pytestmark = pytest.mark.django_db

# Administrators with LSA rights or above, and the service desk.
ADMINS_OF_SESSIONS = LSA_AND_UP | {"service_desk"}
WHO = {
    Action.SESSION_VIEW: ADMINS_OF_SESSIONS | {"id_checker"},
    Action.SESSION_END: ADMINS_OF_SESSIONS,
    Action.AUTHENTICATOR_REGISTER: set(),
    Action.AUTHENTICATOR_REVOKE: RA_AGENTS,
}
SELF = {
    Action.SESSION_VIEW,
    Action.SESSION_END,
    Action.AUTHENTICATOR_REGISTER,
    Action.AUTHENTICATOR_REVOKE,
}


def expected(action: Action, actor: str, target: str) -> bool:
    if target == "self":
        return action in SELF
    return actor in WHO[action] and in_reach(actor, target)


@pytest.mark.parametrize("action", list(WHO))
def test_signin_matrix(action: Action) -> None:
    world = build_world()
    mismatches = []
    for actor_name in ACTORS:
        actor = world.actors[actor_name]
        for target in TARGETS:
            subject = actor if target == "self" else world.targets[target]
            decision = decide(actor, action, subject)
            want = expected(action, actor_name, target)
            if decision.allowed != want:
                mismatches.append(
                    f"{actor_name:>18} -> {target:<17} expected {want} got {decision.allowed}"
                    f" ({decision.reason})"
                )
            assert decision.rule if decision.allowed else decision.reason
    assert not mismatches, "\n" + "\n".join(mismatches)


def test_only_the_service_desk_registers_clinical_systems() -> None:
    world = build_world()
    allowed = {n for n in ACTORS if decide(world.actors[n], Action.OIDC_CLIENT_MANAGE).allowed}
    assert allowed == {"service_desk"}
    assert decide(CONSOLE, Action.OIDC_CLIENT_MANAGE).allowed
    assert not decide(None, Action.OIDC_CLIENT_MANAGE).allowed
