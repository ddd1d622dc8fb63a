"""Every action in `cis.authz.actions` can be taken, through the portal and through the API, by
the people the policy allows: the issue's "done when", walked one action at a time.

`WAYS` names, for each action, the API route and the portal route that take it and a persona the
policy allows. A new action fails `test_every_action_has_a_way_through_the_api_and_the_portal`
until both are wired and written here. Each way is then tried for real: the persona sends the
request, and the test checks that the answer is not a refusal and that the policy was asked about
exactly this action for this persona and said yes (`decide`, or `visible` for the lists and
pages that show only what the persona may see).

A few steps run inside a card operation driven by the workstation agent: their API route is
called by `cis-agent` with a card in the reader, and `AGENT_JOURNEYS` names the end-to-end test
that takes each through that route. Their portal way (the card task the page hands to the agent)
is tried here like every other.
"""

from __future__ import annotations

import base64
import datetime as dt
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import get_resolver, resolve, reverse
from rest_framework.test import APIClient

from cis.authz import policy, scoping
from cis.authz.actions import RECORDED_ONLY, Action
from cis.authz.policy import CONSOLE
from cis.core import clock
from cis.oidc.clients import NewClient, oidc_client_register
from cis.people.models import Person
from cis.pki import hierarchy
from cis.pki.models import Certificate
from cis.pki.services import certificate_issue
from cis.signin.constants import SESSION_REF_KEY
from cis.signin.models import SignInMethod, SignInSession, WebAuthnCredential
from cis.smartcards.models import CardCertificate, Smartcard
from cis.smartcards.services.common import new_so_pin, seal_so_pin
from cis.smartcards.states import CardStatus
from cis.workflow.models import Request
from cis.workflow.services import request_raise
from tests.api.conftest import World
from tests.api.conftest import world as api_world  # noqa: F401 - the directory the API tests use
from tests.pki.conftest import make_csr

pytestmark = pytest.mark.django_db

BACKEND = "django.contrib.auth.backends.ModelBackend"


@dataclass
class Place:
    """The API tests' directory, plus cards, a request, sessions, keys and a client to act on."""

    w: World
    card: Smartcard  # the holder's active card, its certificate in the renewal window
    locked: Smartcard  # the colleague's locked card
    expired: Smartcard  # the colleague's card whose certificate has expired
    request: Request  # a card request the Sponsor raised about the holder
    client: NewClient  # an OIDC client
    keys: dict[str, WebAuthnCredential] = field(default_factory=dict)  # a key each, by persona


def _card(holder: Person, serial: str, status: str, days: int = 730) -> Smartcard:
    card = Smartcard(
        chip_serial=serial,
        holder=holder,
        status=status,
        issued_at=clock.now(),
        activated_at=clock.now(),
        locked_at=clock.now() if status == CardStatus.LOCKED else None,
    )
    card.save()
    card.so_pin_sealed = seal_so_pin(card, new_so_pin())
    card.save(update_fields=["so_pin_sealed"])
    certificate = certificate_issue(
        actor=CONSOLE, person=holder, csr_pem=make_csr(), validity_days=max(days, 1)
    )
    if days <= 0:  # expired: only the directory's record of its end matters to a renewal
        Certificate.objects.filter(pk=certificate.pk).update(
            not_after=clock.now() - dt.timedelta(days=1 - days)
        )
    CardCertificate.objects.create(card=card, certificate=certificate, installed_at=clock.now())
    return card


def _key(person: Person) -> WebAuthnCredential:
    ident = f"key-{person.user_id}"
    return WebAuthnCredential.objects.create(
        person=person,
        credential_id=ident.encode(),
        credential_id_b64=ident,
        public_key=b"not used here",
        name="Blue key",
        created_at=clock.now(),
    )


@pytest.fixture
def place(api_world: World) -> Place:  # noqa: F811 - the fixture imported above
    w = api_world
    hierarchy.ca_init()
    request = request_raise(
        actor=w.sponsor, request_type="card_issue", payload={"user_id": w.holder.user_id}
    )
    _signed_in_with_card(w.colleague)
    Person.objects.filter(pk=w.colleague.pk).update(
        email="colin@example.nhs.uk", email_verified_at=clock.now()
    )
    return Place(
        w=w,
        card=_card(w.holder, "CARD-HANA", CardStatus.ACTIVE, days=30),
        locked=_card(w.colleague, "CARD-COLIN", CardStatus.LOCKED),
        expired=_card(w.colleague, "CARD-COLIN-OLD", CardStatus.ACTIVE, days=0),
        request=request,
        client=oidc_client_register(
            actor=CONSOLE, name="Synthetic EHR", redirect_uris=["https://ehr.example.org/cb"]
        ),
        keys={"holder": _key(w.holder), "colleague": _key(w.colleague)},
    )


def _signed_in_with_card(person: Person) -> SignInSession:
    return SignInSession.objects.create(
        person=person,
        method=SignInMethod.SMARTCARD,
        acr="smartcard",
        auth_time=clock.now(),
        last_seen_at=clock.now(),
        expires_at=clock.now() + dt.timedelta(hours=8),
    )


@dataclass(frozen=True)
class Way:
    """One request that takes an action: which route, how, by whom, with what."""

    route: str  # a URL name
    method: str
    who: str  # a persona of tests/api/conftest.py the policy allows
    args: Callable[[Place], dict[str, Any]] = lambda p: {}
    body: Callable[[Place], Any] = lambda p: None
    query: str = ""
    json: bool = False  # a portal POST that asks for JSON (the card-task button's script)
    card_session: bool = False  # the browser signed in with a smartcard, not just logged in


@dataclass(frozen=True)
class Ways:
    api: Way
    portal: Way


def _user(name: str) -> Callable[[Place], dict[str, Any]]:
    return lambda p: {"user_id": getattr(p.w, name).user_id}


def _org(code: str) -> Callable[[Place], dict[str, Any]]:
    return lambda p: {"ods_code": code}


def _chip(attr: str) -> Callable[[Place], dict[str, Any]]:
    return lambda p: {"chip_serial": getattr(p, attr).chip_serial}


def _req(p: Place) -> dict[str, Any]:
    return {"request_id": p.request.pk}


def _preq(p: Place) -> dict[str, Any]:
    return {"pk": p.request.pk}


def _position(p: Place) -> dict[str, Any]:
    return {"ods_code": "FBR01", "pk": p.w.pharmacist.pk}


def _task(kind: str, card: str = "", holder: str = "") -> Callable[[Place], dict[str, str]]:
    def body(p: Place) -> dict[str, str]:
        data = {"kind": kind}
        if card:
            data["card"] = getattr(p, card).chip_serial
        if holder:
            data["holder"] = getattr(p.w, holder).user_id
        return data

    return body


def _link(card: Smartcard) -> CardCertificate:
    return CardCertificate.objects.select_related("certificate").get(card=card)


def _serial(card: Smartcard) -> dict[str, str]:
    return {"serial": _link(card).certificate.serial_hex}


def _der(card: Smartcard) -> str:
    return base64.b64encode(bytes(_link(card).certificate.der)).decode()


PORTAL_TASK = "portal:card-task-start"

WAYS: dict[Action, Ways] = {
    Action.PERSON_VIEW: Ways(
        Way("api-v1:person-detail", "get", "lsa", _user("colleague")),
        Way("portal:person-detail", "get", "lsa", _user("colleague")),
    ),
    Action.PERSON_SEARCH: Ways(
        Way("api-v1:person-list", "get", "lsa", query="q=Colin"),
        Way("portal:person-search", "get", "lsa", query="q=Colin"),
    ),
    Action.PERSON_CREATE: Ways(
        Way(
            "api-v1:person-list",
            "post",
            "agent",
            body=lambda p: {
                "given_name": "Nadia",
                "family_name": "Newcomer",
                "date_of_birth": "1990-02-03",
                "registered_ra": "RA1",
            },
        ),
        Way("portal:person-create", "get", "agent"),
    ),
    Action.PERSON_UPDATE_DETAILS: Ways(
        Way(
            "api-v1:person-detail",
            "patch",
            "agent",
            _user("colleague"),
            lambda p: {"given_name": "Col"},
        ),
        Way("portal:person-update", "get", "agent", _user("colleague")),
    ),
    Action.PERSON_UPDATE_CONTACT: Ways(
        Way(
            "api-v1:contact-verification-list",
            "post",
            "holder",
            body=lambda p: {"channel": "email", "value": "new.address@nhs.net"},
        ),
        Way("portal:change-email", "post", "holder", body=lambda p: {"email": "hana@nhs.net"}),
    ),
    Action.PERSON_CONFIRM_CONTACT: Ways(
        Way(
            "api-v1:person-contact-confirmed",
            "post",
            "agent",
            _user("colleague"),
            lambda p: {"channel": "mobile", "value": "07700 900 456"},
        ),
        Way("portal:person-contact-confirmed", "get", "agent", _user("colleague")),
    ),
    Action.PERSON_VERIFY_IDENTITY: Ways(
        Way(
            "api-v1:person-identity-checks",
            "post",
            "id_checker",
            _user("restricted"),
            lambda p: {"document_types": ["passport", "utility_bill", "birth_certificate"]},
        ),
        Way("portal:person-verify", "get", "id_checker", _user("restricted")),
    ),
    Action.PERSON_CLOSE: Ways(
        Way(
            "api-v1:person-close", "post", "agent", _user("colleague"), lambda p: {"reason": "Left"}
        ),
        Way("portal:person-close", "get", "agent", _user("colleague")),
    ),
    Action.PERSON_REOPEN: Ways(
        Way("api-v1:person-reopen", "post", "agent", _user("gone"), lambda p: {}),
        Way("portal:person-reopen", "get", "agent", _user("gone")),
    ),
    Action.ORGANISATION_VIEW: Ways(
        Way("api-v1:organisation-detail", "get", "lsa", _org("FBR01")),
        Way("portal:organisation-detail", "get", "lsa", _org("FBR01")),
    ),
    Action.ORGANISATION_CREATE: Ways(
        Way(
            "api-v1:organisation-list",
            "post",
            "manager",
            body=lambda p: {
                "ods_code": "FNW01",
                "name": "New Branch",
                "org_type": "community_pharmacy",
                "serving_ra": "RA1",
            },
        ),
        Way("portal:organisation-create", "get", "manager"),
    ),
    Action.ORGANISATION_UPDATE: Ways(
        Way(
            "api-v1:organisation-detail",
            "patch",
            "manager",
            _org("FBR01"),
            lambda p: {"address": "2 High St"},
        ),
        Way("portal:organisation-update", "get", "manager", _org("FBR01")),
    ),
    Action.ORGANISATION_CLOSE: Ways(
        Way("api-v1:organisation-close", "post", "manager", _org("FBR01"), lambda p: {}),
        Way("portal:organisation-close", "get", "manager", _org("FBR01")),
    ),
    Action.ORGANISATION_REOPEN: Ways(
        Way("api-v1:organisation-reopen", "post", "manager", _org("FCL01"), lambda p: {}),
        Way("portal:organisation-reopen", "get", "manager", _org("FCL01")),
    ),
    Action.ORGANISATION_MOVE: Ways(
        Way(
            "api-v1:organisation-move", "post", "manager", _org("FBR01"), lambda p: {"parent": None}
        ),
        Way("portal:organisation-move", "get", "manager", _org("FBR01")),
    ),
    Action.RA_MANAGE: Ways(
        Way("api-v1:ra-list", "post", "desk", body=lambda p: {"code": "RA-W", "name": "West RA"}),
        Way("portal:ra-create", "get", "desk"),
    ),
    Action.CATALOGUE_VIEW: Ways(
        Way("api-v1:catalogue-job-roles", "get", "holder"),
        Way("portal:catalogue", "get", "holder"),
    ),
    Action.CATALOGUE_MANAGE: Ways(
        Way(
            "api-v1:catalogue-job-roles",
            "post",
            "desk",
            body=lambda p: {"code": "R9001", "name": "Synthetic Role", "reason": "A test"},
        ),
        Way("portal:catalogue-entry-create", "get", "desk", lambda p: {"kind": "job-roles"}),
    ),
    Action.IMPORT_RUN: Ways(
        Way(
            "api-v1:import-list",
            "post",
            "desk",
            body=lambda p: {
                "kind": "ods",
                "filename": "etr.csv",
                "content": ",".join(["RZZ", "SYNTHETIC TRUST", "YZZ", "QZZ"] + [""] * 23),
                "ra": "RA1",
            },
        ),
        Way("portal:import-create", "get", "desk"),
    ),
    Action.POSITION_VIEW: Ways(
        Way("api-v1:position-detail", "get", "lsa", lambda p: {"position_id": p.w.pharmacist.pk}),
        Way("portal:position-detail", "get", "lsa", _position),
    ),
    Action.POSITION_CREATE: Ways(
        Way(
            "api-v1:position-list",
            "post",
            "advanced",
            body=lambda p: {"organisation": "FBR01", "name": "Dispenser", "job_roles": ["R8000"]},
        ),
        Way("portal:position-create", "get", "advanced", _org("FBR01")),
    ),
    Action.POSITION_UPDATE: Ways(
        Way(
            "api-v1:position-detail",
            "patch",
            "advanced",
            lambda p: {"position_id": p.w.pharmacist.pk},
            lambda p: {"name": "Lead pharmacist"},
        ),
        Way("portal:position-update", "get", "advanced", _position),
    ),
    Action.POSITION_RETIRE: Ways(
        Way(
            "api-v1:position-retire",
            "post",
            "advanced",
            lambda p: {"position_id": p.w.counter.pk},
            lambda p: {},
        ),
        Way("portal:position-retire", "get", "advanced", _position),
    ),
    Action.ASSIGNMENT_VIEW: Ways(
        Way(
            "api-v1:assignment-detail",
            "get",
            "lsa",
            lambda p: {"assignment_id": p.w.holder_assignment.pk},
        ),
        Way("portal:person-detail", "get", "lsa", _user("holder")),
    ),
    Action.ASSIGNMENT_CREATE: Ways(
        Way(
            "api-v1:assignment-list",
            "post",
            "agent",
            body=lambda p: {"person": p.w.colleague.user_id, "position": p.w.counter.pk},
        ),
        Way("portal:assignment-create", "get", "agent", _user("colleague")),
    ),
    Action.ASSIGNMENT_END: Ways(
        Way(
            "api-v1:assignment-end",
            "post",
            "agent",
            lambda p: {"assignment_id": p.w.holder_assignment.pk},
            lambda p: {},
        ),
        Way(
            "portal:assignment-end",
            "get",
            "agent",
            lambda p: {"user_id": p.w.holder.user_id, "pk": p.w.holder_assignment.pk},
        ),
    ),
    Action.RIGHT_VIEW: Ways(
        Way("api-v1:right-detail", "get", "lsa", lambda p: {"grant_id": p.w.lsa_grant.pk}),
        Way("portal:person-detail", "get", "manager", _user("lsa")),
    ),
    Action.RIGHT_GRANT: Ways(
        Way(
            "api-v1:right-list",
            "post",
            "manager",
            body=lambda p: {
                "person": p.w.colleague.user_id,
                "right": "lsa",
                "organisation": "FBR01",
            },
        ),
        Way("portal:right-grant", "get", "manager", _user("colleague")),
    ),
    Action.RIGHT_REVOKE: Ways(
        Way(
            "api-v1:right-revoke",
            "post",
            "manager",
            lambda p: {"grant_id": p.w.lsa_grant.pk},
            lambda p: {},
        ),
        Way(
            "portal:right-revoke",
            "get",
            "manager",
            lambda p: {"user_id": p.w.lsa.user_id, "pk": p.w.lsa_grant.pk},
        ),
    ),
    Action.AUDIT_VIEW: Ways(
        Way("api-v1:audit-list", "get", "manager"),
        Way("portal:audit", "get", "manager"),
    ),
    Action.REPORT_VIEW: Ways(
        Way("api-v1:report-list", "get", "lsa"),
        Way("portal:report-list", "get", "lsa"),
    ),
    Action.REQUEST_RAISE: Ways(
        Way(
            "api-v1:request-list",
            "post",
            "sponsor",
            body=lambda p: {
                "request_type": "card_issue",
                "payload": {"user_id": p.w.colleague.user_id},
            },
        ),
        Way("portal:request-raise", "get", "sponsor", lambda p: {"request_type": "card_issue"}),
    ),
    Action.REQUEST_VIEW: Ways(
        Way("api-v1:request-detail", "get", "agent", _req),
        Way("portal:request-detail", "get", "agent", _preq),
    ),
    Action.REQUEST_APPROVE: Ways(
        Way("api-v1:request-approve", "post", "agent", _req, lambda p: {}),
        Way("portal:request-approve", "get", "agent", _preq),
    ),
    Action.REQUEST_REJECT: Ways(
        Way("api-v1:request-reject", "post", "agent", _req, lambda p: {"reason": "Not needed"}),
        Way("portal:request-reject", "get", "agent", _preq),
    ),
    Action.REQUEST_CANCEL: Ways(
        Way("api-v1:request-cancel", "post", "agent", _req, lambda p: {"reason": "Not needed"}),
        Way("portal:request-cancel", "get", "agent", _preq),
    ),
    Action.REQUEST_ESCALATE: Ways(
        Way(
            "api-v1:request-escalate", "post", "lsa", _req, lambda p: {"reason": "Waiting too long"}
        ),
        Way("portal:request-escalate", "get", "lsa", _preq),
    ),
    Action.REQUEST_FULFIL: Ways(
        Way("api-v1:card-operation-complete", "post", "agent", lambda p: {"operation": "REF"}),
        Way(PORTAL_TASK, "post", "agent", body=_task("issue", holder="holder"), json=True),
    ),
    Action.REQUEST_COMMENT: Ways(
        Way("api-v1:request-comment", "post", "agent", _req, lambda p: {"text": "Seen the holder"}),
        Way("portal:request-comment", "get", "agent", _preq),
    ),
    Action.REQUEST_REASSIGN: Ways(
        Way(
            "api-v1:request-reassign",
            "post",
            "manager",
            _req,
            lambda p: {"agent": p.w.advanced.user_id},
        ),
        Way("portal:request-reassign", "get", "manager", _preq),
    ),
    Action.APPROVAL_POLICY_MANAGE: Ways(
        Way(
            "api-v1:approval-policy-detail",
            "put",
            "desk",
            lambda p: {"request_type": "card_issue"},
            lambda p: {"approvals_needed": 2, "approver_rights": ["ra_agent"]},
        ),
        Way(
            "portal:approval-policy-update", "get", "desk", lambda p: {"request_type": "card_issue"}
        ),
    ),
    Action.CARD_VIEW: Ways(
        Way("api-v1:card-detail", "get", "lsa", _chip("card")),
        Way("portal:card-detail", "get", "lsa", _chip("card")),
    ),
    Action.CARD_ISSUE: Ways(
        Way(
            "api-v1:card-issue",
            "post",
            "agent",
            body=lambda p: {
                "holder": p.w.colleague.user_id,
                "chip_serial": "BLANK-1",
                "holder_present": True,
            },
        ),
        Way(PORTAL_TASK, "post", "agent", body=_task("issue", holder="colleague"), json=True),
    ),
    Action.CARD_REPORT_LOCKED: Ways(
        Way("api-v1:card-report-locked", "post", "holder", _chip("card"), lambda p: {}),
        Way("portal:card-report-locked", "get", "holder", _chip("card")),
    ),
    Action.CARD_UNLOCK_ASSISTED: Ways(
        Way(
            "api-v1:card-unlock", "post", "lsa", _chip("locked"), lambda p: {"holder_present": True}
        ),
        Way(PORTAL_TASK, "post", "lsa", body=_task("unlock", card="locked"), json=True),
    ),
    Action.CARD_UNLOCK_SELF: Ways(
        Way(
            "api-v1:card-self-unlock-code",
            "post",
            "colleague",
            _chip("locked"),
            lambda p: {"certificate": _der(p.locked), "channel": "email"},
        ),
        Way("portal:card-self-unlock", "get", "colleague", _chip("locked")),
    ),
    Action.CARD_CHANGE_PASSCODE: Ways(
        Way("api-v1:card-task-claim", "post", "holder", lambda p: {"ref": "REF"}),
        Way(PORTAL_TASK, "post", "holder", body=_task("change_passcode", card="card"), json=True),
    ),
    Action.CARD_RENEW: Ways(
        Way("api-v1:card-renew", "post", "holder", _chip("card"), lambda p: {}),
        Way(PORTAL_TASK, "post", "holder", body=_task("renew", card="card"), json=True),
    ),
    Action.CARD_RENEW_EXPIRED: Ways(
        Way(
            "api-v1:card-renew",
            "post",
            "agent",
            _chip("expired"),
            lambda p: {"holder_present": True},
        ),
        Way(PORTAL_TASK, "post", "agent", body=_task("renew", card="expired"), json=True),
    ),
    Action.CARD_REPORT_LOSS: Ways(
        Way(
            "api-v1:card-report-lost", "post", "holder", _chip("card"), lambda p: {"reason": "lost"}
        ),
        Way("portal:card-report", "get", "holder", _chip("card")),
    ),
    Action.CARD_CANCEL: Ways(
        Way("api-v1:card-cancel", "post", "agent", _chip("card"), lambda p: {"reason": "left"}),
        Way("portal:card-cancel", "get", "agent", _chip("card")),
    ),
    Action.CARD_REPAIR: Ways(
        Way(
            "api-v1:card-repair", "post", "agent", _chip("card"), lambda p: {"holder_present": True}
        ),
        Way("portal:card-repair", "get", "agent", _chip("card")),
    ),
    Action.CARD_CLEAR: Ways(
        Way("api-v1:card-clear", "post", "agent", _chip("card"), lambda p: {}),
        Way("portal:card-clear", "get", "agent", _chip("card")),
    ),
    Action.CARD_REPLACE: Ways(
        Way(
            "api-v1:card-replace",
            "post",
            "agent",
            _chip("card"),
            lambda p: {"new_chip_serial": "BLANK-2", "reason": "damaged", "holder_present": True},
        ),
        Way(
            PORTAL_TASK,
            "post",
            "agent",
            body=lambda p: {**_task("replace", card="card")(p), "reason": "damaged"},
            json=True,
        ),
    ),
    # A task the portal hands to the agent, decided as the card action it carries: the agent
    # claims it over the API (the persona's own browser session), the portal starts it.
    Action.CARD_TASK: Ways(
        Way("api-v1:card-task-claim", "post", "holder", lambda p: {"ref": "REF"}),
        Way(PORTAL_TASK, "post", "holder", body=_task("renew", card="card"), json=True),
    ),
    Action.SESSION_VIEW: Ways(
        Way("api-v1:person-sessions", "get", "lsa", _user("colleague")),
        Way("signin:person-sessions", "get", "lsa", _user("colleague")),
    ),
    Action.SESSION_END: Ways(
        Way("api-v1:person-sessions-end", "post", "lsa", _user("colleague"), lambda p: {}),
        Way("signin:person-sessions", "post", "lsa", _user("colleague"), lambda p: {}),
    ),
    Action.AUTHENTICATOR_REGISTER: Ways(
        Way(
            "api-v1:authenticator-options",
            "post",
            "colleague",
            body=lambda p: {},
            card_session=True,
        ),
        Way("signin:authenticator-options", "post", "colleague", card_session=True),
    ),
    Action.AUTHENTICATOR_REVOKE: Ways(
        Way(
            "api-v1:person-authenticator-revoke",
            "post",
            "agent",
            lambda p: {"user_id": p.w.colleague.user_id, "key_id": p.keys["colleague"].pk},
            lambda p: {},
        ),
        Way(
            "signin:authenticators",
            "post",
            "holder",
            body=lambda p: {"remove": p.keys["holder"].pk},
        ),
    ),
    Action.OIDC_CLIENT_MANAGE: Ways(
        Way(
            "api-v1:oidc-client-list",
            "post",
            "desk",
            body=lambda p: {"name": "Another EHR", "redirect_uris": ["https://b.example.org/cb"]},
        ),
        Way("portal:oidc-client-register", "get", "desk"),
    ),
    Action.CERTIFICATE_VIEW: Ways(
        Way("api-v1:certificate-detail", "get", "lsa", lambda p: _serial(p.card)),
        Way("portal:certificate-detail", "get", "lsa", lambda p: _serial(p.card)),
    ),
    Action.CERTIFICATE_ISSUE: Ways(
        Way("api-v1:card-operation-certificate", "post", "agent", lambda p: {"operation": "REF"}),
        Way(PORTAL_TASK, "post", "agent", body=_task("issue", holder="colleague"), json=True),
    ),
    Action.CERTIFICATE_REVOKE: Ways(
        Way(
            "api-v1:certificate-revoke",
            "post",
            "agent",
            lambda p: _serial(p.card),
            lambda p: {"reason": "affiliationChanged"},
        ),
        Way("portal:certificate-revoke", "get", "agent", lambda p: _serial(p.card)),
    ),
}

# Steps of a card operation the agent drives with a card in the reader: their API route is taken
# end to end by these tests (cis-agent against virtual cards and SoftHSM2 tokens over the API).
AGENT_JOURNEYS: dict[Action, str] = {
    Action.CARD_TASK: "tests/agent/test_serve.py::"
    "test_a_holder_renews_in_the_window_through_a_task",
    Action.CARD_CHANGE_PASSCODE: "tests/agent/test_end_to_end.py::"
    "test_change_passcode_then_three_wrong_passcodes_lock_the_card_and_cis_shows_it",
    Action.CERTIFICATE_ISSUE: "tests/agent/test_end_to_end.py::"
    "test_an_ra_agent_issues_a_card_the_holder_signs_in_with_it",
    Action.REQUEST_FULFIL: "tests/workflow/test_fulfilment.py",
}

# A certificate is issued only onto a card, and a card request is fulfilled only by the card
# operation that carries it out: each is taken inside that operation, under its decision.
CARRIED_BY: dict[Action, Action] = {
    Action.CERTIFICATE_ISSUE: Action.CARD_ISSUE,
    Action.REQUEST_FULFIL: Action.CARD_ISSUE,
}


def test_every_action_has_a_way_through_the_api_and_the_portal() -> None:
    missing = sorted(set(Action) - set(WAYS) - RECORDED_ONLY)
    assert not missing, f"wire these actions to an API route and a portal page: {missing}"
    for action, ways in WAYS.items():
        assert ways.api.route.startswith("api-v1:"), f"{action}: {ways.api.route}"
        assert ways.portal.route.startswith(("portal:", "signin:")), (
            f"{action}: {ways.portal.route}"
        )


def test_the_agent_journeys_named_exist() -> None:
    root = Path(__file__).resolve().parents[2]
    for action, journey in AGENT_JOURNEYS.items():
        file, _, name = journey.partition("::")
        text = (root / file).read_text()
        assert not name or f"def {name}(" in text, f"{action}: no test {journey}"
        assert WAYS[action].api.route in (
            f"api-v1:{n}"
            for n in ("card-task-claim", "card-operation-certificate", "card-operation-complete")
        )


@dataclass(frozen=True)
class Asked:
    actor: int | None
    action: Action
    allowed: bool


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[Asked]:
    """Every question put to the policy while a request is served: decide() and visible()."""
    seen: list[Asked] = []
    # Every view module first, so that none imports decide() or visible() while they are wrapped.
    assert get_resolver().url_patterns
    real_decide, real_visible = policy.decide, scoping.visible

    def decide(actor: Any, action: Action, target: Any = None) -> policy.Decision:
        decision = real_decide(actor, action, target)
        seen.append(Asked(getattr(actor, "pk", None), action, decision.allowed))
        return decision

    def visible(actor: Any, action: Action, queryset: Any) -> Any:
        seen.append(Asked(getattr(actor, "pk", None), action, True))
        return real_visible(actor, action, queryset)

    for module in list(sys.modules.values()):
        if not getattr(module, "__name__", "").startswith("cis."):
            continue
        for name, value in list(vars(module).items()):
            if value is real_decide:
                monkeypatch.setattr(module, name, decide)
            elif value is real_visible:
                monkeypatch.setattr(module, name, visible)
    return seen


def _url(place: Place, way: Way) -> str:
    url = reverse(way.route, kwargs=way.args(place))
    return f"{url}?{way.query}" if way.query else url


def _with_card(client: Client, place: Place, way: Way) -> None:
    if way.card_session:
        session = client.session
        session[SESSION_REF_KEY] = str(_signed_in_with_card(getattr(place.w, way.who)).ref)
        session.save()


def _send_api(place: Place, way: Way, url: str) -> tuple[int, Any]:
    api = APIClient()
    api.force_login(getattr(place.w, way.who))
    _with_card(api, place, way)
    response = getattr(api, way.method)(url, way.body(place), format="json")
    return response.status_code, response.content[:400]


def _send_portal(place: Place, way: Way, url: str) -> tuple[int, Any]:
    browser = Client()
    browser.force_login(getattr(place.w, way.who), backend=BACKEND)
    _with_card(browser, place, way)
    headers = {"Accept": "application/json"} if way.json else {}
    if way.method == "get":
        response = browser.get(url, headers=headers)
    else:
        response = browser.post(url, way.body(place) or {}, headers=headers)
    return response.status_code, response.content[:400]


CASES = [
    (action, interface)
    for action in Action
    if action not in RECORDED_ONLY
    for interface in ("api", "portal")
    if not (interface == "api" and action in AGENT_JOURNEYS)
]


@pytest.mark.parametrize(("action", "interface"), CASES, ids=[f"{a.value}-{i}" for a, i in CASES])
def test_the_people_the_policy_allows_take_the_action(
    place: Place, asked: list[Asked], action: Action, interface: str
) -> None:
    ways = WAYS[action]
    way = ways.api if interface == "api" else ways.portal
    url = _url(place, way)
    assert resolve(url.split("?")[0]).url_name == way.route.split(":")[1]
    status, content = (_send_api if interface == "api" else _send_portal)(place, way, url)
    assert status < 400, f"{way.who} {way.method.upper()} {url}: {status} {content!r}"
    persona = getattr(place.w, way.who)
    taken = CARRIED_BY.get(action, action)
    mine = [a for a in asked if a.actor == persona.pk and a.action == taken]
    assert mine, f"{url} never asked the policy about {taken} for {way.who}: {asked}"
    assert any(a.allowed for a in mine), f"the policy refused {way.who} {taken}"
