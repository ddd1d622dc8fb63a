"""Sign-in sessions and security keys over the API: seen and ended by LSAs and up in scope (or
the holder), keys removed by the holder or an RA Agent, registered only with a card sign-in."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from cis.audit.models import AuditEvent
from cis.core import clock
from cis.people.models import Person
from cis.signin.constants import SESSION_REF_KEY
from cis.signin.models import SignInMethod, SignInSession, WebAuthnCredential

from .conftest import Caller, World, assert_error, unchanged_database

pytestmark = pytest.mark.django_db

V1 = "/api/v1"


def _session(person: Person, method: str = SignInMethod.SMARTCARD) -> SignInSession:
    return SignInSession.objects.create(
        person=person,
        method=method,
        acr="smartcard",
        auth_time=clock.now(),
        last_seen_at=clock.now(),
        expires_at=clock.now() + dt.timedelta(hours=8),
        workstation="PHARM-01",
    )


def _key(person: Person, name: str = "Blue key") -> WebAuthnCredential:
    ident = f"{name}-{person.user_id}"
    return WebAuthnCredential.objects.create(
        person=person,
        credential_id=ident.encode(),
        credential_id_b64=ident,
        public_key=b"-",
        name=name,
        created_at=clock.now(),
    )


def test_an_lsa_sees_and_ends_a_holders_sessions(world: World, call: Caller) -> None:
    live = _session(world.colleague)
    listed = call("lsa", "get", f"{V1}/people/{world.colleague.user_id}/sessions/")
    assert listed.status_code == 200, listed.json()
    assert [(s["ref"], s["workstation"]) for s in listed.json()] == [(str(live.ref), "PHARM-01")]
    ended = call("lsa", "post", f"{V1}/people/{world.colleague.user_id}/sessions/end/")
    assert ended.status_code == 200 and ended.json() == {"ended": 1}
    live.refresh_from_db()
    assert live.ended_at is not None and live.end_reason == "ended_by_admin"
    event = AuditEvent.objects.get(action="session.end")
    assert (event.actor_ref, event.channel) == (world.lsa.user_id, "api")
    assert call("lsa", "get", f"{V1}/people/{world.colleague.user_id}/sessions/").json() == []


def test_sessions_out_of_reach_read_as_absent(world: World, call: Caller) -> None:
    _session(world.outsider)
    with unchanged_database():
        for who in ("holder", "lsa", "manager2"):
            target = world.colleague if who == "manager2" else world.outsider
            path = f"{V1}/people/{target.user_id}"
            assert_error(call(who, "get", f"{path}/sessions/"), 404, "not_found")
            assert_error(call(who, "post", f"{path}/sessions/end/"), 404, "not_found")
    assert SignInSession.objects.filter(ended_at__isnull=True).count() == 1


def test_a_holder_sees_their_own_sessions(world: World, call: Caller) -> None:
    _session(world.holder)
    mine = call("holder", "get", f"{V1}/people/{world.holder.user_id}/sessions/")
    assert mine.status_code == 200 and len(mine.json()) == 1


def test_an_ra_agent_removes_a_holders_security_key(world: World, call: Caller) -> None:
    key = _key(world.colleague)
    keys = call("agent", "get", f"{V1}/people/{world.colleague.user_id}/authenticators/")
    assert [k["name"] for k in keys.json()] == ["Blue key"]
    path = f"{V1}/people/{world.colleague.user_id}/authenticators/{key.pk}/revoke/"
    with unchanged_database():
        assert_error(call("lsa", "post", path), 403, "not_permitted")
    removed = call("agent", "post", path)
    assert removed.status_code == 200, removed.json()
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert AuditEvent.objects.get(action="authenticator.revoke").actor_ref == world.agent.user_id
    assert (
        call("agent", "get", f"{V1}/people/{world.colleague.user_id}/authenticators/").json() == []
    )
    assert_error(call("agent", "post", path), 404, "not_found")


def test_a_holder_lists_their_keys_and_registers_only_when_signed_in_with_a_card(
    world: World,
) -> None:
    _key(world.holder)
    api = APIClient()
    api.force_login(world.holder)
    assert [k["name"] for k in api.get(f"{V1}/me/authenticators/").json()] == ["Blue key"]
    with unchanged_database():
        refused = api.post(f"{V1}/me/authenticators/options/", {}, format="json")
    assert_error(refused, 403, "not_permitted")
    session = api.session
    session[SESSION_REF_KEY] = str(_session(world.holder).ref)
    session.save()
    started = api.post(f"{V1}/me/authenticators/options/", {}, format="json")
    assert started.status_code == 201, started.json()
    body = started.json()
    assert body["options"]["user"]["name"] == world.holder.user_id
    assert body["options"]["authenticatorSelection"]["userVerification"] == "required"
    assert len(body["options"]["excludeCredentials"]) == 1  # the key already registered
    bad = api.post(
        f"{V1}/me/authenticators/",
        {"challenge_id": body["challenge_id"], "name": "Red", "credential": {"id": "x"}},
        format="json",
    )
    assert_error(bad, 400, "validation_failed")
    assert WebAuthnCredential.objects.filter(person=world.holder).count() == 1
