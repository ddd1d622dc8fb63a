"""The permission matrix for every card action, and the services refusing the same cases.

Expectations come from DESIGN §2 and §5, written independently of the policy's tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from cis.audit.models import AuditEvent
from cis.authz.actions import Action
from cis.authz.policy import decide
from cis.authz.targets import CardStep
from cis.core import clock
from cis.core.errors import NotPermitted
from cis.smartcards import selectors, services
from cis.smartcards.models import Smartcard
from tests.authz.expect import LSA_AND_UP, RA_AGENTS, in_reach
from tests.authz.world import ACTORS, TARGETS, World, build_world

from .conftest import CardInHand

pytestmark = pytest.mark.django_db

# DESIGN §2 and §5: who may take each card action on a holder in their scope ...
CARD_WHO: dict[Action, set[str]] = {
    Action.CARD_VIEW: LSA_AND_UP | {"service_desk"},
    Action.CARD_ISSUE: RA_AGENTS,
    Action.CARD_REPORT_LOCKED: LSA_AND_UP,
    Action.CARD_UNLOCK_ASSISTED: LSA_AND_UP,
    Action.CARD_UNLOCK_SELF: set(),
    Action.CARD_CHANGE_PASSCODE: set(),
    Action.CARD_RENEW: LSA_AND_UP,
    Action.CARD_RENEW_EXPIRED: RA_AGENTS,
    Action.CARD_REPORT_LOSS: RA_AGENTS,
    Action.CARD_CANCEL: RA_AGENTS,
    Action.CARD_REPAIR: RA_AGENTS,
    Action.CARD_CLEAR: RA_AGENTS,
    Action.CARD_REPLACE: RA_AGENTS,
    # Decided only as a step of another card action (authz.targets.CardStep), never alone.
    Action.CARD_TASK: set(),
}
# ... and which a holder takes on their own card.
CARD_SELF_SERVICE = {
    Action.CARD_VIEW,
    Action.CARD_REPORT_LOCKED,
    Action.CARD_UNLOCK_SELF,
    Action.CARD_CHANGE_PASSCODE,
    Action.CARD_RENEW,
    Action.CARD_REPORT_LOSS,
}
# What is done as a step of a card action: allowed exactly when the card action is.
CARD_STEP_ACTIONS = (Action.CARD_TASK, Action.CERTIFICATE_ISSUE, Action.CERTIFICATE_REVOKE)


def expected(action: Action, actor: str, target: str) -> bool:
    if target == "self":
        return action in CARD_SELF_SERVICE
    return actor in CARD_WHO[action] and in_reach(actor, target)


def test_every_card_action_has_an_expectation() -> None:
    card_actions = {a for a in Action if a.value.startswith("card.")}
    assert card_actions == set(CARD_WHO)


@pytest.mark.parametrize("action", sorted(CARD_WHO), ids=lambda a: a.value)
def test_card_matrix(action: Action) -> None:
    world = build_world()
    mismatches = []
    for actor_name in ACTORS:
        actor = world.actors[actor_name]
        for target in TARGETS:
            holder = actor if target == "self" else world.targets[target]
            decision = decide(actor, action, holder)
            want = expected(action, actor_name, target)
            if decision.allowed != want:
                mismatches.append(
                    f"{actor_name:>18} -> {target:<17} expected {'ALLOW' if want else 'DENY'} "
                    f"got {decision.allowed} ({decision.reason})"
                )
            assert decision.rule if decision.allowed else decision.reason
    assert not mismatches, "\n" + "\n".join(mismatches)


@pytest.mark.parametrize("step", CARD_STEP_ACTIONS, ids=lambda a: a.value)
def test_a_card_step_is_allowed_exactly_when_its_card_action_is(step: Action) -> None:
    world = build_world()
    mismatches = []
    for card_action in sorted(set(CARD_WHO) - {Action.CARD_TASK}):
        for actor_name in ACTORS:
            actor = world.actors[actor_name]
            for target in TARGETS:
                holder = actor if target == "self" else world.targets[target]
                decision = decide(actor, step, CardStep(card_action, holder))
                if decision.allowed != decide(actor, card_action, holder).allowed:
                    mismatches.append(f"{card_action} {actor_name} -> {target}")
                if decision.allowed:
                    assert decision.rule.startswith(f"step-of:{card_action}:")
    assert not mismatches, "\n" + "\n".join(mismatches)
    nested = CardStep(Action.CARD_TASK, world.targets["in_scope"])
    assert not decide(world.actors["ra_agent"], step, nested).allowed
    not_a_card_action = CardStep(Action.PERSON_VIEW, world.targets["in_scope"])
    assert not decide(world.actors["ra_agent"], step, not_a_card_action).allowed


def test_only_steps_are_decided_as_card_steps() -> None:
    world = build_world()
    step = CardStep(Action.CARD_CANCEL, world.targets["in_scope"])
    assert decide(world.actors["ra_agent"], Action.CERTIFICATE_REVOKE, step).allowed
    assert not decide(world.actors["ra_agent"], Action.PERSON_CLOSE, step).allowed


def test_anonymous_may_take_no_card_action() -> None:
    from django.contrib.auth.models import AnonymousUser

    for action in CARD_WHO:
        assert not decide(AnonymousUser(), action, None).allowed  # type: ignore[arg-type]


# -- the lists show exactly what the policy allows ---------------------------------------------


def _cards_for_world(world: World, active_card: Callable[..., CardInHand]) -> dict[str, Smartcard]:
    cards = {name: active_card(person).row for name, person in world.targets.items()}
    for name, actor in world.actors.items():
        cards[f"actor:{name}"] = active_card(actor).row
    return cards


def test_locked_and_expiring_lists_match_the_decisions(
    active_card: Callable[..., CardInHand],
) -> None:
    world = build_world()
    cards = _cards_for_world(world, active_card)
    Smartcard.objects.update(status="locked")
    for name, actor in world.actors.items():
        shown = {c.pk for c in selectors.locked_cards(actor=actor)}
        allowed = {
            c.pk
            for c in cards.values()
            if c.holder_id != actor.pk and decide(actor, Action.CARD_UNLOCK_ASSISTED, c.holder)
        }
        assert shown == allowed, name
        expiring = {
            e.card.pk for e in selectors.expiring_certificates(actor=actor, within_days=800)
        }
        renewable = {
            c.pk
            for c in cards.values()
            if c.holder_id != actor.pk and decide(actor, Action.CARD_RENEW, c.holder)
        }
        assert expiring == renewable, name


# -- every service refuses what the policy refuses, and changes nothing --------------------------


def _service_calls(card: CardInHand) -> dict[str, Callable[[Any], object]]:
    row = card.row
    return {
        "issue": lambda actor: services.card_issue(
            actor=actor, holder=row.holder, chip_serial="NEWCHIP01", holder_present=True
        ),
        "report_locked": lambda actor: services.card_report_locked(actor=actor, card=row),
        "unlock_assisted": lambda actor: services.card_unlock_assisted(
            actor=actor, card=row, holder_present=True
        ),
        "self_unlock": lambda actor: services.card_self_unlock_send_code(actor=actor, card=row),
        "renew": lambda actor: services.card_renew(actor=actor, card=row, holder_present=True),
        "report_lost": lambda actor: services.card_report_lost(
            actor=actor, card=row, reason="lost"
        ),
        "cancel": lambda actor: services.card_cancel(actor=actor, card=row, reason="left"),
        "repair": lambda actor: services.card_repair(actor=actor, card=row, holder_present=True),
        "clear": lambda actor: services.card_clear(actor=actor, card=row),
        "replace": lambda actor: services.card_replace(
            actor=actor,
            card=row,
            new_chip_serial="NEWCHIP02",
            reason="damaged",
            holder_present=True,
        ),
        "view": lambda actor: selectors.cards_of(actor=actor, holder=row.holder),
    }


ALLOWED_AS = {
    "issue": "ra_agent",
    "report_locked": "lsa",
    "unlock_assisted": "lsa",
    "self_unlock": None,
    "renew": "lsa",
    "report_lost": "ra_agent",
    "cancel": "ra_agent",
    "repair": "ra_agent",
    "clear": "ra_agent",
    "replace": "ra_agent",
    "view": "lsa",
}
SELF_SERVICE_CALLS = {"report_locked", "self_unlock", "renew", "report_lost", "view"}


@pytest.mark.parametrize("call", sorted(ALLOWED_AS))
@pytest.mark.parametrize("who", ["no_right", "out_of_scope", "self", "in_scope"])
def test_services_enforce_the_policy(
    call: str, who: str, active_card: Callable[..., CardInHand]
) -> None:
    world = build_world()
    right_holder = world.actors[ALLOWED_AS[call] or "no_right"]
    actor, holder = {
        "no_right": (world.actors["no_right"], world.targets["in_scope"]),
        "out_of_scope": (right_holder, world.targets["out_of_scope"]),
        "self": (right_holder, right_holder),
        "in_scope": (right_holder, world.targets["in_scope"]),
    }[who]
    card = active_card(holder)
    if call == "renew":
        clock.travel(card.link.certificate.not_after - clock.now() - dt.timedelta(days=5))
    events_before = AuditEvent.objects.count()
    status_before = card.row.status
    allowed = (who == "self" and call in SELF_SERVICE_CALLS) or (
        who == "in_scope" and ALLOWED_AS[call] is not None
    )
    run = _service_calls(card)[call]
    if allowed:
        run(actor)
        return
    with pytest.raises(NotPermitted):
        run(actor)
    assert AuditEvent.objects.count() == events_before
    card.row.refresh_from_db()
    assert card.row.status == status_before
    assert card.row.so_pin_unconfirmed == []
