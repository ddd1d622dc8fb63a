"""Audit events as sentences people read: "Daniel Okafor unlocked the smartcard ... of Jack".

One place for the wording, used by the audit viewer in the portal, the API, the CSV export and the
portal's `audit_sentence` filter. A sentence is built from the event alone, plus the names of the
people it mentions, looked up for a whole page of events in one query (`event_sentences`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cis.people.models import Person
from cis.rights.models import Right

from .models import AuditEvent

# What the actor did, by action; {target} is the thing acted on, {subject} the person it is about.
VERBS: dict[str, str] = {
    "person.create": "registered {target}",
    "person.update_details": "changed the personal details of {target}",
    "person.update_contact": "changed the contact details of {target}",
    "person.confirm_contact": "recorded contact details confirmed in person for {target}",
    "person.verify_identity": "verified the identity of {target}",
    "person.close": "closed the profile of {target}",
    "person.reopen": "reopened the profile of {target}",
    "organisation.create": "created the organisation {target}",
    "organisation.update": "changed the organisation {target}",
    "organisation.close": "closed the organisation {target}",
    "organisation.reopen": "reopened the organisation {target}",
    "organisation.move": "moved the organisation {target}",
    "ra.manage": "set up the Registration Authority {target}",
    "catalogue.manage": "loaded the role catalogue",
    "position.create": "created the position {target}",
    "position.update": "changed the position {target}",
    "position.retire": "retired the position {target}",
    "assignment.create": "gave {subject} the position {target}",
    "assignment.end": "ended the position {target} of {subject}",
    "right.grant": "granted the {right} right to {subject}",
    "right.revoke": "revoked the {right} right of {subject}",
    "request.raise": "raised {target}",
    "request.approve": "approved {target}",
    "request.reject": "rejected {target}",
    "request.cancel": "cancelled {target}",
    "request.escalate": "escalated {target}",
    "request.expire": "expired {target}",
    "request.fulfil": "completed {target}",
    "request.reassign": "reassigned {target}",
    "request.comment": "commented on {target}",
    "card.issue": "issued {target} to {subject}",
    "card.report_locked": "reported {target} of {subject} locked",
    "card.unlock_assisted": "unlocked {target} of {subject}, with the holder present",
    "card.unlock_self": "unlocked {target} of {subject} with a one-time code",
    "card.change_passcode": "changed the passcode of {target} of {subject}",
    "card.task": "handed a card task to the card agent for {target} of {subject}",
    "card.renew": "renewed the certificate on {target} of {subject}",
    "card.renew_expired": "renewed the expired certificate on {target} of {subject}",
    "card.report_loss": "reported {target} of {subject} lost, stolen or damaged",
    "card.cancel": "cancelled {target} of {subject}",
    "card.repair": "repaired {target} of {subject}",
    "card.clear": "cleared {target} of {subject} for reuse",
    "card.replace": "replaced {target} of {subject}",
    "card.certificate_found_on_card": "found the renewed certificate on {target} of {subject}",
    "certificate.issue": "issued {target} to {subject}",
    "certificate.revoke": "revoked {target} of {subject}",
    "session.start": "signed in",
    "session.select_role": "chose the role to work in",
    "session.end": "ended a sign-in session of {subject}",
    "session.flag_shared_card": "was flagged using one card at two workstations",
    "agent.sign_in": "signed the workstation agent in with {target}",
    "agent.sign_out": "signed the workstation agent out",
    "authenticator.register": "registered a security key for {subject}",
    "authenticator.revoke": "removed a security key of {subject}",
    "import.run": "imported the file {target}",
    "oidc_client.add": "registered the clinical system {target}",  # events before 0.2
    "oidc_client.manage": "changed the registration of the clinical system {target}",
    "pki.ca_create": "created the certificate authority {target}",
    "pki.ocsp_signer_issue": "issued a new OCSP responder certificate",
    # Refusals (cis.audit.refusals): what was refused is in the event's "after".
    "access.refused": "was refused permission on {target}",  # in words by _refused_words
    "sign_in.failed": "failed to sign in ({refused})",
    "code.failed": "gave a wrong one-time code for {target}",
}

# How far a multi-step card operation had got, when the event is one of its steps.
STEPS: dict[str, str] = {
    "started": " (started)",
    "code_sent": ": a one-time code was sent",
    "certificate_issued": ": a certificate was issued for the card",
    "completed": " (completed)",
    "abandoned": " (abandoned)",
    "found_on_card": ": the new certificate was found on the card at sign-in",
    "queued": ": the file was queued",
    "registered": ": registered",
    "settings_changed": ": its settings changed",
    "secret_rotated": ": a new client secret issued",
    "retired": ": retired",
}


# A refused action in words, "was refused permission to <verb> <target>": the verb by the
# action's second part, the thing by its first when the refusal names no target.
REFUSED_VERBS: dict[str, str] = {
    "view": "see",
    "search": "search",
    "create": "create",
    "update": "change",
    "update_details": "change the personal details of",
    "update_contact": "change the contact details of",
    "confirm_contact": "confirm the contact details of",
    "verify_identity": "verify the identity of",
    "close": "close",
    "reopen": "reopen",
    "move": "move",
    "manage": "manage",
    "run": "run",
    "retire": "retire",
    "end": "end",
    "grant": "grant",
    "revoke": "revoke",
    "raise": "raise",
    "approve": "approve",
    "reject": "reject",
    "cancel": "cancel",
    "escalate": "escalate",
    "expire": "expire",
    "fulfil": "complete",
    "comment": "comment on",
    "reassign": "reassign",
    "issue": "issue",
    "report_locked": "report locked",
    "unlock_assisted": "unlock",
    "unlock_self": "unlock with a one-time code",
    "change_passcode": "change the passcode of",
    "renew": "renew",
    "renew_expired": "renew the expired certificate on",
    "report_loss": "report lost",
    "repair": "repair",
    "clear": "clear",
    "replace": "replace",
    "task": "hand a card task to the agent for",
    "sign_in": "sign in",
    "sign_out": "sign out",
    "start": "start",
    "select_role": "choose the role of",
    "flag_shared_card": "flag",
    "register": "register",
    "ca_create": "create a certificate authority",
    "ocsp_signer_issue": "issue an OCSP responder certificate",
}
REFUSED_NOUNS: dict[str, str] = {
    "person": "people",
    "organisation": "organisations",
    "ra": "Registration Authorities",
    "catalogue": "the role catalogue",
    "import": "imports",
    "position": "positions",
    "assignment": "positions held",
    "right": "rights",
    "audit": "the audit trail",
    "report": "reports",
    "request": "requests",
    "approval_policy": "approval policies",
    "card": "smartcards",
    "agent": "the workstation agent",
    "session": "sign-in sessions",
    "authenticator": "security keys",
    "oidc_client": "clinical systems",
    "certificate": "certificates",
    "pki": "",
}


def _refused_words(action: str, target: str | None) -> str:
    """What was refused, in words: "permission to see Jack Pearson (500000000001)"."""
    noun, _, verb = action.partition(".")
    if verb not in REFUSED_VERBS or noun not in REFUSED_NOUNS:
        return f"permission for {action}" + (f" on {target}" if target else "")
    thing = target if target is not None else REFUSED_NOUNS[noun]
    return " ".join(part for part in ("permission to", REFUSED_VERBS[verb], thing) if part)


def _person(user_id: str, names: Mapping[str, str]) -> str:
    name = names.get(user_id)
    return f"{name} ({user_id})" if name else user_id


def _target(event: AuditEvent, names: Mapping[str, str]) -> str:
    snapshot: dict[str, Any] = {**(event.before or {}), **(event.after or {})}
    ref = event.target_ref
    match event.target_type:
        case "person":
            return _person(ref, names)
        case "smartcard":
            return f"the smartcard {ref}"
        case "certificate":
            return f"certificate {ref}"
        case "request":
            kind = snapshot.get("type", "")
            return f"request {ref}" + (f" ({str(kind).replace('_', ' ')})" if kind else "")
        case "organisation":
            name = snapshot.get("name")
            return f"{name} ({ref})" if name else ref
        case "assignment":
            name = snapshot.get("position_name")
            return f"'{name}'" if name else f"#{ref}"
        case "position":
            name = snapshot.get("name")
            return f"'{name}'" if name else f"#{ref}"
        case _:
            name = snapshot.get("name")
            return f"{name} ({ref})" if name else ref


def event_sentence(event: AuditEvent, names: Mapping[str, str] | None = None) -> str:
    """The event as one sentence. `names` maps user ids to names (see event_sentences); without
    it, people are named by their user id."""
    names = names or {}
    actor = event.actor_name or event.actor_ref
    subject = _person(event.subject_ref, names) if event.subject_ref else "someone"
    right_code = (event.after or {}).get("right") or (event.before or {}).get("right") or ""
    right = Right(right_code).label if right_code in Right.values else str(right_code)
    template = VERBS.get(event.action)
    refused = str((event.after or {}).get("refused", ""))
    if event.action == "access.refused":
        template = "was refused " + _refused_words(
            refused, _target(event, names) if event.target_type else None
        ).replace("{", "{{").replace("}", "}}")
    if template is None:
        did = f"did {event.action} on {event.target_type} {event.target_ref}"
    else:
        did = template.format(
            target=_target(event, names), subject=subject, right=right, refused=refused
        )
    step = STEPS.get(str((event.after or {}).get("step", "")), "")
    sentence = f"{actor} {did}{step}"
    if event.request_ref and event.target_type != "request":
        sentence += f", under {event.request_ref}"
    return sentence + "."


def _names_of(user_ids: Iterable[str]) -> dict[str, str]:
    rows = Person.objects.filter(user_id__in=sorted(set(user_ids))).values_list(
        "user_id", "given_name", "family_name"
    )
    return {user_id: f"{given} {family}" for user_id, given, family in rows}


def names_for(events: Iterable[AuditEvent]) -> dict[str, str]:
    """The names of the people these events are about, in one query."""
    refs = {e.subject_ref for e in events if e.subject_ref}
    refs |= {e.target_ref for e in events if e.target_type == "person"}
    return _names_of(refs)


# Who acted, when it was not a person (the audit trail stores these names with each event).
NOT_A_PERSON = {"console": "The server console operator", "system": "CIS"}


def card_history_sentences(events: Iterable[Any], holder: str) -> list[str]:
    """A card's own history lines (each with `kind`, an audit action; `actor_ref`; `detail`) as
    sentences in the audit trail's words, naming who acted with one query:
    "Priya Shah unlocked the card of Megan Holt, with the holder present." """
    events = list(events)
    names = _names_of(e.actor_ref for e in events)
    sentences = []
    for event in events:
        actor = names.get(event.actor_ref) or NOT_A_PERSON.get(event.actor_ref, event.actor_ref)
        template = VERBS.get(event.kind, "changed {target}")
        did = template.format(target="the card", subject=holder, right="")
        step = STEPS.get(str((event.detail or {}).get("step", "")), "")
        sentences.append(f"{actor} {did}{step}.")
    return sentences


def event_sentences(events: Iterable[AuditEvent]) -> list[str]:
    """Sentences for a page of events, naming their people with one query."""
    events = list(events)
    names = names_for(events)
    return [event_sentence(event, names) for event in events]


# The policy's rules (cis.authz Decision.rule, or a refusal's) in words, for the audit trail.
RULES: dict[str, str] = {
    "console-operator": "allowed by the server console",
    "everyone": "allowed by a right everyone signed in has",
    "self-service": "allowed as acting on their own account",
    "own-request": "allowed by having raised the request",
    "own-session": "allowed by their own sign-in",
    "service-desk-escalation": "allowed by an escalation to the service desk",
    "timeout": "done by the sign-in's time limit",
    "policy:card-removal": "done because the card left the reader",
    "card-in-use-at-two-workstations": "done because one card was in use at two workstations",
    "consequence:access-ended": "done because the person's access ended",
    "pki:ocsp-signer-rotation": "done by the scheduled renewal of the OCSP responder certificate",
    "refused": "refused by the policy",
    "wrong-code": "refused because the code did not match (the attempt counted)",
    "rate-limit:summary": "refused by the policy, more often than the trail records one by one",
}


def rule_words(rule: str) -> str:
    """Why an event happened, as words: "allowed by their RA Agent right" for a grant's rule
    ("in-scope:ra_agent:grant#4"), the rule's own words for the policy's fixed rules."""
    kind, _, rest = rule.partition(":")
    if kind in ("in-scope", "sponsor-assignable"):
        right_code = rest.partition(":")[0]
        right = Right(right_code).label if right_code in Right.values else "a CIS"
        words = f"allowed by their {right} right"
        return words + (", for an assignable position" if kind == "sponsor-assignable" else "")
    return RULES.get(rule, "allowed by a rule of the policy")
