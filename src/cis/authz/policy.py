"""decide(actor, action, target): allowed or not, by which rule, and why not."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from cis.audit import refusals
from cis.core.errors import NotPermitted
from cis.people.models import Person, PersonKind, PersonStatus
from cis.rights.models import Right, RightGrant
from cis.workflow.models import Request
from cis.workflow.states import CARD_TYPES, RIGHT_TYPES, EscalationLevel

from .actions import Action
from .scope import INCLUDES, GrantScope, effective_grants, grant_scope
from .targets import CardStep, Place, target_kind

ADMIN_VIEW = frozenset({Right.LSA, Right.ID_CHECKER, Right.SERVICE_DESK})

# Which rights (after INCLUDES) may take each action on a target in their scope.
NEEDS: dict[Action, frozenset[Right]] = {
    Action.PERSON_VIEW: ADMIN_VIEW,
    Action.PERSON_SEARCH: ADMIN_VIEW,
    Action.PERSON_CREATE: frozenset({Right.RA_AGENT}),
    Action.PERSON_UPDATE_DETAILS: frozenset({Right.RA_AGENT}),
    Action.PERSON_UPDATE_CONTACT: frozenset({Right.RA_AGENT}),
    # An RA Agent records an email or mobile that they saw confirmed face to face; never one's own.
    Action.PERSON_CONFIRM_CONTACT: frozenset({Right.RA_AGENT}),
    Action.PERSON_VERIFY_IDENTITY: frozenset({Right.ID_CHECKER}),
    Action.PERSON_CLOSE: frozenset({Right.RA_AGENT}),
    Action.PERSON_REOPEN: frozenset({Right.RA_AGENT}),
    Action.ORGANISATION_VIEW: ADMIN_VIEW,
    Action.ORGANISATION_CREATE: frozenset({Right.RA_MANAGER, Right.SERVICE_DESK}),
    Action.ORGANISATION_UPDATE: frozenset({Right.RA_MANAGER, Right.SERVICE_DESK}),
    Action.ORGANISATION_CLOSE: frozenset({Right.RA_MANAGER, Right.SERVICE_DESK}),
    Action.ORGANISATION_REOPEN: frozenset({Right.RA_MANAGER, Right.SERVICE_DESK}),
    Action.ORGANISATION_MOVE: frozenset({Right.RA_MANAGER, Right.SERVICE_DESK}),
    Action.RA_MANAGE: frozenset({Right.SERVICE_DESK}),
    Action.CATALOGUE_VIEW: frozenset(),  # EVERYONE below: the catalogue is national, public data
    Action.CATALOGUE_MANAGE: frozenset({Right.SERVICE_DESK}),
    # A national feed changes organisations and people across every RA: the service desk alone.
    Action.IMPORT_RUN: frozenset({Right.SERVICE_DESK}),
    Action.POSITION_VIEW: ADMIN_VIEW,
    Action.POSITION_CREATE: frozenset({Right.RA_AGENT_ADVANCED}),
    Action.POSITION_UPDATE: frozenset({Right.RA_AGENT_ADVANCED}),
    Action.POSITION_RETIRE: frozenset({Right.RA_AGENT_ADVANCED}),
    Action.ASSIGNMENT_VIEW: ADMIN_VIEW,
    Action.ASSIGNMENT_CREATE: frozenset({Right.RA_AGENT}),
    Action.ASSIGNMENT_END: frozenset({Right.RA_AGENT}),
    Action.RIGHT_VIEW: ADMIN_VIEW,
    Action.RIGHT_GRANT: frozenset({Right.RA_MANAGER, Right.SERVICE_DESK}),
    Action.RIGHT_REVOKE: frozenset({Right.RA_MANAGER, Right.SERVICE_DESK}),
    Action.AUDIT_VIEW: frozenset({Right.RA_MANAGER, Right.SERVICE_DESK}),
    # Reports cover whoever the viewer administers: never self-service (a holder has their own
    # pages), so a report's scope is exactly the people and organisations the grants reach.
    Action.REPORT_VIEW: ADMIN_VIEW,
    # Workflow: Sponsors raise, RA Agents decide, LSAs and up chase; rights types narrow further.
    Action.REQUEST_RAISE: frozenset({Right.SPONSOR}),
    Action.REQUEST_VIEW: ADMIN_VIEW,
    Action.REQUEST_APPROVE: frozenset({Right.RA_AGENT}),
    Action.REQUEST_REJECT: frozenset({Right.RA_AGENT}),
    Action.REQUEST_CANCEL: frozenset({Right.RA_AGENT}),
    Action.REQUEST_ESCALATE: frozenset({Right.LSA}),
    Action.REQUEST_EXPIRE: frozenset(),  # the scheduler alone (the console operator)
    Action.REQUEST_FULFIL: frozenset({Right.RA_AGENT}),
    Action.REQUEST_COMMENT: frozenset({Right.RA_AGENT, Right.SERVICE_DESK}),
    Action.REQUEST_REASSIGN: frozenset({Right.RA_MANAGER, Right.SERVICE_DESK}),
    Action.APPROVAL_POLICY_MANAGE: frozenset({Right.SERVICE_DESK}),
    # Smartcards: LSAs (and every right that carries LSA) unlock and renew in the window;
    # RA Agents issue, cancel, repair, clear, replace and renew after expiry (DESIGN §2, §5).
    Action.CARD_VIEW: frozenset({Right.LSA, Right.SERVICE_DESK}),
    Action.CARD_ISSUE: frozenset({Right.RA_AGENT}),
    Action.CARD_REPORT_LOCKED: frozenset({Right.LSA}),
    Action.CARD_UNLOCK_ASSISTED: frozenset({Right.LSA}),
    Action.CARD_UNLOCK_SELF: frozenset(),  # the holder alone, with a one-time code
    Action.CARD_CHANGE_PASSCODE: frozenset(),  # the holder alone, knowing the current one
    Action.CARD_RENEW: frozenset({Right.LSA}),
    Action.CARD_RENEW_EXPIRED: frozenset({Right.RA_AGENT}),
    Action.CARD_REPORT_LOSS: frozenset({Right.RA_AGENT}),
    Action.CARD_CANCEL: frozenset({Right.RA_AGENT}),
    Action.CARD_REPAIR: frozenset({Right.RA_AGENT}),
    Action.CARD_CLEAR: frozenset({Right.RA_AGENT}),
    Action.CARD_REPLACE: frozenset({Right.RA_AGENT}),
    # Decided only as a step of the card action it carries (targets.CardStep), never alone.
    Action.CARD_TASK: frozenset(),
    # Recorded, never decided (actions.RECORDED_ONLY): nobody holds a right to these.
    Action.AGENT_SIGN_IN: frozenset(),
    Action.AGENT_SIGN_OUT: frozenset(),
    # Sign-in: LSAs and up see and end the sessions of people in scope (a shared or lost card);
    # only the holder registers an authenticator; RA Agents remove one; the service desk
    # registers clinical systems as OIDC clients.
    Action.SESSION_VIEW: ADMIN_VIEW,
    Action.SESSION_END: frozenset({Right.LSA, Right.SERVICE_DESK}),
    Action.SESSION_START: frozenset(),
    Action.SESSION_SELECT_ROLE: frozenset(),
    Action.SESSION_FLAG_SHARED_CARD: frozenset(),
    Action.AUTHENTICATOR_REGISTER: frozenset(),
    Action.AUTHENTICATOR_REVOKE: frozenset({Right.RA_AGENT}),
    Action.OIDC_CLIENT_MANAGE: frozenset({Right.SERVICE_DESK}),
    # PKI: holders and admins in scope see certificates; RA Agents issue and revoke them.
    Action.CERTIFICATE_VIEW: ADMIN_VIEW,
    Action.CERTIFICATE_ISSUE: frozenset({Right.RA_AGENT}),
    Action.CERTIFICATE_REVOKE: frozenset({Right.RA_AGENT}),
    # The CA is made and kept by the server's console operator alone.
    Action.PKI_CA_CREATE: frozenset(),
    Action.PKI_OCSP_SIGNER_ISSUE: frozenset(),
    Action.ACCESS_REFUSED: frozenset(),  # recorded by cis.audit.refusals, never decided
    Action.SIGN_IN_FAILED: frozenset(),
    Action.CODE_FAILED: frozenset(),
}

# Actions every signed-in person with an open profile may take, whatever their rights.
EVERYONE = frozenset({Action.CATALOGUE_VIEW})

# Actions a person may take on their own record (DESIGN §2, card holder).
SELF_SERVICE = frozenset(
    {
        Action.PERSON_VIEW,
        Action.PERSON_UPDATE_CONTACT,
        Action.ORGANISATION_VIEW,
        Action.POSITION_VIEW,
        Action.ASSIGNMENT_VIEW,
        Action.RIGHT_VIEW,
        # Workflow: a holder sees the requests about them and can chase them.
        Action.REQUEST_VIEW,
        Action.REQUEST_ESCALATE,
        Action.REQUEST_COMMENT,
        # Smartcards: a holder sees their card, reports it locked, lost, stolen or damaged,
        # unlocks it with a one-time code and renews it in the window.
        Action.CARD_VIEW,
        Action.CARD_REPORT_LOCKED,
        Action.CARD_UNLOCK_SELF,
        Action.CARD_CHANGE_PASSCODE,
        Action.CARD_RENEW,
        Action.CARD_REPORT_LOSS,
        # Sign-in: a holder sees and ends their own sessions and manages their authenticators.
        Action.SESSION_VIEW,
        Action.SESSION_END,
        Action.AUTHENTICATOR_REGISTER,
        Action.AUTHENTICATOR_REVOKE,
        # PKI: a holder sees their own certificates.
        Action.CERTIFICATE_VIEW,
    }
)

# Actions that change a person and so cannot be taken on a closed profile.
CHANGES_PERSON = frozenset(
    {
        Action.PERSON_UPDATE_DETAILS,
        Action.PERSON_UPDATE_CONTACT,
        Action.PERSON_CONFIRM_CONTACT,
        Action.PERSON_VERIFY_IDENTITY,
        Action.PERSON_CLOSE,
        Action.ASSIGNMENT_CREATE,
        Action.RIGHT_GRANT,
    }
)

# An RA Manager appoints these in their area; only the service desk appoints RA Managers.
GRANTABLE_BY_RA_MANAGER = frozenset(
    {Right.LSA, Right.SPONSOR, Right.ID_CHECKER, Right.RA_AGENT, Right.RA_AGENT_ADVANCED}
)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


class ConsoleOperator:
    """Whoever runs `cis` on the server: trusted with the machine, allowed and audited as such."""

    audit_ref = "console"
    audit_name = "Server console operator"
    pk = None
    status = PersonStatus.ACTIVE

    def __str__(self) -> str:
        return self.audit_name


CONSOLE = ConsoleOperator()
Actor = Person | ConsoleOperator


def _deny(reason: str) -> Decision:
    return Decision(False, "", reason)


def _subject(target: Any) -> Person | None:
    """The person an action is about, for separation of duties and the closed-profile check."""
    return target_kind(target).subject(target)


def _is_self_service(actor: Person, action: Action, target: Any) -> bool:
    if action not in SELF_SERVICE:
        return False
    subject = _subject(target)
    if subject is not None:
        return subject == actor
    return target_kind(target).is_own(actor, target)


class _Facts:
    """What one decision reads from the database: each thing at most once, and only if needed."""

    def __init__(self, actor: Person, target: Any) -> None:
        self.actor = actor
        self.target = target

    @cached_property
    def grants(self) -> list[RightGrant]:
        return effective_grants(self.actor)

    @cached_property
    def place(self) -> Place:
        return target_kind(self.target).place(self.target)


def _covers(scope: GrantScope, target: Any, facts: _Facts) -> bool:
    if scope.national:
        return True
    if target is None:
        return True
    return target_kind(target).covered(scope, target, lambda: facts.place)


def _right_ok(actor_right: Right, action: Action, target: Any) -> bool:
    """Rank limits: what a right may grant, and Sponsors only on assignable positions."""
    if action in (Action.RIGHT_GRANT, Action.RIGHT_REVOKE):
        granted = Right(target.right)
        if actor_right == Right.SERVICE_DESK:
            return True
        return granted in GRANTABLE_BY_RA_MANAGER
    if isinstance(target, Request) and target.request_type in RIGHT_TYPES:
        return actor_right == Right.RA_MANAGER or action not in REQUEST_RIGHTS_MANAGER_ONLY
    return True


def decide(actor: Actor | None, action: Action, target: Any = None) -> Decision:
    if isinstance(actor, ConsoleOperator):
        return Decision(True, "console-operator")
    if not isinstance(actor, Person) or not actor.is_authenticated:
        return _deny("Sign in first.")
    if actor.status == PersonStatus.CLOSED:
        return _deny("This profile is closed.")
    if actor.access_ended:
        return _deny(f"This profile's access ended on {actor.access_ends_on:%d %B %Y}.")
    if action in EVERYONE:
        return Decision(True, "everyone")
    if isinstance(target, CardStep):
        return _card_step(actor, action, target)

    subject = _subject(target)
    if subject is not None and subject.status == PersonStatus.CLOSED and action in CHANGES_PERSON:
        return _deny(f"{subject.full_name}'s profile is closed; reopen it first.")

    facts = _Facts(actor, target)
    if isinstance(target, Request):
        ruled = _request_rule(actor, action, target, facts)
        if ruled is not None:
            return ruled
    if _is_self_service(actor, action, target):
        return Decision(True, "self-service")
    if subject is not None and subject.pk == actor.pk:
        return _deny("Nobody may take this action on their own record.")
    if action == Action.RIGHT_GRANT and subject is not None and subject.kind != PersonKind.PERSON:
        return _deny("RPA and temporary-access profiles cannot hold CIS rights.")

    needs = NEEDS[action]
    if isinstance(target, Request) and action in DECIDE_REQUEST and target.approver_rights:
        # The request type's approval policy names who may decide it (and those above them).
        needs = frozenset(Right(r) for r in target.approver_rights)
    sponsor_assignable = action in (Action.ASSIGNMENT_CREATE, Action.ASSIGNMENT_END) and (
        target_kind(target).sponsor_assignable(target)
    )
    held = rank_refused = False
    for grant in facts.grants:
        carried = INCLUDES[Right(grant.right)]
        qualifies = bool(carried & needs)
        via_sponsor = not qualifies and sponsor_assignable and Right.SPONSOR in carried
        if not (qualifies or via_sponsor):
            continue
        if not _right_ok(Right(grant.right), action, target):
            rank_refused = True
            continue
        held = True
        scope = grant_scope(grant)
        if _covers(scope, target, facts):
            prefix = "sponsor-assignable" if via_sponsor else "in-scope"
            return Decision(True, f"{prefix}:{scope.rule}")
    if held:
        return _deny("This is outside the organisations your rights cover.")
    if rank_refused:
        return _deny("Your right does not let you grant or revoke that right.")
    return _deny("You do not have a right that allows this.")


# What may be done as a step of a card action, and is then decided as that card action: the
# certificate a renewal issues and the ones it supersedes, those a cancellation revokes, the
# task the portal hands to the agent (DESIGN §5: they belong to the card action).
CARD_STEPS = frozenset({Action.CERTIFICATE_ISSUE, Action.CERTIFICATE_REVOKE, Action.CARD_TASK})


def _card_step(actor: Person, action: Action, step: CardStep) -> Decision:
    if action not in CARD_STEPS:
        return _deny(f"{action} is not a step of a card action.")
    if step.action in CARD_STEPS or not step.action.value.startswith("card."):
        return _deny(f"{step.action} is not a card action.")
    carried = decide(actor, step.action, step.person)
    if not carried.allowed:
        return carried
    return Decision(True, f"step-of:{step.action}:{carried.rule}")


def require(actor: Actor | None, action: Action, target: Any = None) -> Decision:
    """The decision, or NotPermitted; a refusal is logged and audited (cis.audit.refusals)."""
    decision = decide(actor, action, target)
    if not decision.allowed:
        _note_refusal(actor, action, target, decision)
        raise NotPermitted(decision.reason)
    return decision


def _note_refusal(actor: Actor | None, action: Action, target: Any, decision: Decision) -> None:
    signed_in = isinstance(actor, Person) and actor.is_authenticated
    target_type, target_ref = refusals.describe(target)
    subject = _subject(target)
    refusals.note(
        refusals.Refusal(
            kind=refusals.ACCESS_REFUSED,
            refused=str(action),
            reason=decision.reason,
            actor_ref=actor.user_id if signed_in and isinstance(actor, Person) else "",
            actor_name=actor.full_name if signed_in and isinstance(actor, Person) else "",
            target_type=target_type,
            target_ref=target_ref,
            subject_ref=subject.user_id if subject is not None else "",
        )
    )


def can(actor: Actor | None, action: Action, target: Any = None) -> bool:
    return decide(actor, action, target).allowed


# Workflow
# Whoever raised a request may follow, chase and withdraw it, but never decide it.
OWN_REQUEST = frozenset(
    {
        Action.REQUEST_VIEW,
        Action.REQUEST_CANCEL,
        Action.REQUEST_ESCALATE,
        Action.REQUEST_COMMENT,
    }
)
DECIDE_REQUEST = frozenset({Action.REQUEST_APPROVE, Action.REQUEST_REJECT})
# Requests about CIS rights are raised and decided by RA Managers alone.
REQUEST_RIGHTS_MANAGER_ONLY = frozenset(
    {Action.REQUEST_RAISE, Action.REQUEST_APPROVE, Action.REQUEST_REJECT}
)


def _request_rule(
    actor: Person, action: Action, request: Request, facts: _Facts
) -> Decision | None:
    """The rules only requests have: the raiser's own, and rights types for RA Managers."""
    if request.raised_by_id is not None and request.raised_by_id == actor.pk:
        if action in OWN_REQUEST:
            return Decision(True, "own-request")
        if action in DECIDE_REQUEST:
            return _deny("Nobody may approve or reject a request they raised.")
    if action in SERVICE_DESK_LEVEL and any(g.right == Right.SERVICE_DESK for g in facts.grants):
        return _service_desk_rule(actor, action, request)
    if action in REQUEST_RIGHTS_MANAGER_ONLY and not _type_allowed(
        request.request_type, facts.grants
    ):
        return _deny("Only an RA Manager may raise or decide a request about CIS rights.")
    return None


# What the service desk does with a request escalated to it (DESIGN §5: the last level).
SERVICE_DESK_LEVEL = frozenset(
    {Action.REQUEST_APPROVE, Action.REQUEST_REJECT, Action.REQUEST_REASSIGN}
)


def _service_desk_rule(actor: Person, action: Action, request: Request) -> Decision | None:
    """The service desk decides only what has reached it, and only what it can change itself.

    Approving a card request authorises the RA's workstation to issue the card; every other
    approval changes the directory through an RA Agent's right, so the desk hands those back to
    an RA Agent (reassign) instead.
    """
    if request.subject_id is not None and request.subject_id == actor.pk:
        return None  # the general rule refuses acting on oneself
    if request.escalation_level < EscalationLevel.SERVICE_DESK:
        if action == Action.REQUEST_REASSIGN:
            return _deny("The service desk takes a request only once it is escalated to it.")
        return None  # whatever else the desk's grants allow
    if action == Action.REQUEST_APPROVE and request.request_type not in CARD_TYPES:
        return _deny(
            "The service desk cannot make this change itself: reassign the request to an RA "
            "Agent, who approves it."
        )
    return Decision(True, "service-desk-escalation")


def _type_allowed(request_type: str, grants: Any) -> bool:
    return request_type not in RIGHT_TYPES or any(g.right == Right.RA_MANAGER for g in grants)


def request_types_allowed(actor: Actor, request_types: Any) -> list[str]:
    """Of these request types, the ones the actor may raise at all (before any target)."""
    if isinstance(actor, ConsoleOperator):
        return list(request_types)
    if not isinstance(actor, Person):
        return []
    grants = effective_grants(actor)
    return [t for t in request_types if _type_allowed(t, grants)]
