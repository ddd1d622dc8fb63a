"""The permission matrix for the CA's actions: every right x every kind of holder, on real rows.

Expectations come from DESIGN §2 (RA Agents issue and revoke for people in scope; holders see
their own certificates; administrators in scope see them), written here independently of the
policy's tables, and the list selector must agree with the decisions.
"""

from __future__ import annotations

from typing import Any

import pytest

from cis.authz.actions import Action
from cis.authz.policy import CONSOLE, decide
from cis.authz.scoping import visible
from cis.pki.hierarchy import ca_init
from cis.pki.models import Certificate
from cis.pki.services import certificate_issue
from tests.authz.expect import ADMINS, RA_AGENTS, in_reach
from tests.authz.world import ACTORS, TARGETS, World, build_world

from .conftest import make_csr

pytestmark = pytest.mark.django_db

WHO = {
    Action.CERTIFICATE_VIEW: ADMINS,
    Action.CERTIFICATE_ISSUE: RA_AGENTS,
    Action.CERTIFICATE_REVOKE: RA_AGENTS,
}


def expected(action: Action, actor: str, target: str) -> bool:
    if target == "self":
        return action == Action.CERTIFICATE_VIEW
    return actor in WHO[action] and in_reach(actor, target)


def _certificates(world: World) -> dict[tuple[str, str], Certificate]:
    """One certificate for every target, and one for every actor (the 'self' case)."""
    ca_init()
    # A closed profile cannot be issued to, so give its certificate before closing it.
    closed = world.targets["closed_person"]
    closed.status = "active"
    closed.save()
    made = {}
    for name, person in world.targets.items():
        made[("*", name)] = certificate_issue(actor=CONSOLE, person=person, csr_pem=make_csr())
    for name, person in world.actors.items():
        made[(name, "self")] = certificate_issue(actor=CONSOLE, person=person, csr_pem=make_csr())
    closed.status = "closed"
    closed.save()
    return made


@pytest.mark.parametrize("action", list(WHO))
def test_certificate_matrix(action: Action) -> None:
    world = build_world()
    certs = _certificates(world)
    mismatches = []
    for actor_name in ACTORS:
        actor = world.actors[actor_name]
        for target in TARGETS:
            cert = certs[(actor_name, "self") if target == "self" else ("*", target)]
            subject: Any = cert.person if action == Action.CERTIFICATE_ISSUE else cert
            if target == "self":
                subject = actor if action == Action.CERTIFICATE_ISSUE else cert
            decision = decide(actor, action, subject)
            want = expected(action, actor_name, target)
            if decision.allowed != want:
                mismatches.append(
                    f"{actor_name:>18} -> {target:<17} expected "
                    f"{'ALLOW' if want else 'DENY'} got {decision.allowed} ({decision.reason})"
                )
            if decision.allowed:
                assert decision.rule
            else:
                assert decision.reason
    assert not mismatches, "\n" + "\n".join(mismatches)


def test_visible_certificates_match_the_decisions() -> None:
    world = build_world()
    _certificates(world)
    everything = list(Certificate.objects.select_related("person"))
    for name, actor in world.actors.items():
        shown = set(visible(actor, Action.CERTIFICATE_VIEW, Certificate.objects.all()))
        allowed = {c for c in everything if decide(actor, Action.CERTIFICATE_VIEW, c).allowed}
        assert shown == allowed, name
    assert set(visible(CONSOLE, Action.CERTIFICATE_VIEW, Certificate.objects.all())) == set(
        everything
    )
    assert not visible(None, Action.CERTIFICATE_VIEW, Certificate.objects.all()).exists()
