"""Security keys: register while signed in, then sign in with one (a software authenticator)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from cis.audit.models import AuditEvent
from cis.core.errors import NotPermitted
from cis.rights.models import Right
from cis.signin.models import EndReason, SignInMethod, SignInSession, WebAuthnCredential
from cis.signin.webauthn import authenticator_revoke
from tests.factories.directory import PersonFactory, RightGrantFactory
from tests.oidc.support import Holder, browser_signed_in

from .authenticator import SoftAuthenticator, Vendor

pytestmark = pytest.mark.django_db


def _register(browser: Client, key: SoftAuthenticator, name: str = "Blue key") -> Client:
    options = browser.post("/signin/authenticators/options").json()
    assert options["authenticatorSelection"]["userVerification"] == "required"
    response = browser.post(
        "/signin/authenticators/verify",
        json.dumps({"name": name, "credential": key.create(options)}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return browser


def _sign_in(
    key: SoftAuthenticator, browser: Client | None = None, **kw: int
) -> tuple[Client, object]:
    browser = browser or Client()
    options = browser.post("/signin/security-key/options").json()
    response = browser.post(
        "/signin/security-key/verify",
        json.dumps(key.get(options, **kw)),
        content_type="application/json",
    )
    return browser, response


def test_register_then_sign_in_with_a_security_key(asha: Holder) -> None:
    key = SoftAuthenticator()
    browser, _ = browser_signed_in(asha.person)
    _register(browser, key)
    stored = WebAuthnCredential.objects.get(person=asha.person)
    assert stored.name == "Blue key" and stored.user_verified
    assert AuditEvent.objects.filter(action="authenticator.register").count() == 1

    fresh, response = _sign_in(key)
    assert response.status_code == 200, response.content  # type: ignore[attr-defined]
    session = SignInSession.objects.filter(method=SignInMethod.WEBAUTHN).get()
    assert session.person == asha.person
    # Attestation "none": nothing proves hardware, so a software key.
    assert (session.acr, session.amr) == ("AAL2", ["swk", "user"])
    assert session.authenticator == stored
    assert int(fresh.session["_auth_user_id"]) == asha.person.pk


@pytest.fixture
def vendor(settings: Any, tmp_path: Path) -> Vendor:
    """A security-key maker the deployment trusts: its root and its model's AAGUID."""
    made = Vendor()
    roots = tmp_path / "attestation-roots.pem"
    roots.write_bytes(made.root_pem())
    settings.CIS_WEBAUTHN_ATTESTATION_ROOTS = str(roots)
    settings.CIS_WEBAUTHN_HARDWARE_AAGUIDS = frozenset({made.aaguid})
    return made


def _signed_in_with(key: SoftAuthenticator, asha: Holder) -> SignInSession:
    _register(browser_signed_in(asha.person)[0], key)
    assert _sign_in(key)[1].status_code == 200  # type: ignore[attr-defined]
    return SignInSession.objects.filter(method=SignInMethod.WEBAUTHN).get()


def test_an_attested_key_of_an_allowed_model_is_hardware_at_the_policy_level(
    asha: Holder, vendor: Vendor, settings: Any
) -> None:
    settings.CIS_WEBAUTHN_ACR = "AAL3"
    session = _signed_in_with(SoftAuthenticator(vendor=vendor), asha)
    assert (session.acr, session.amr) == ("AAL3", ["hwk", "user"])
    stored = WebAuthnCredential.objects.get()
    assert stored.hardware and stored.aaguid == vendor.aaguid
    event = AuditEvent.objects.get(action="authenticator.register")
    assert event.after["hardware"] is True


@pytest.mark.parametrize("case", ["no attestation", "unlisted model", "untrusted root"])
def test_anything_less_is_a_software_key_at_most_aal2(
    asha: Holder, vendor: Vendor, settings: Any, case: str
) -> None:
    settings.CIS_WEBAUTHN_ACR = "AAL3"
    if case == "no attestation":
        key = SoftAuthenticator()
    elif case == "unlisted model":
        key = SoftAuthenticator(vendor=Vendor())
        # The same root trusted, but this model is not on the list.
        settings.CIS_WEBAUTHN_HARDWARE_AAGUIDS = frozenset({vendor.aaguid})
        key.vendor.key, key.vendor.root = vendor.key, vendor.root  # type: ignore[union-attr]
    else:
        # Claims the allowed model, signed by a root nobody trusts: refused outright.
        impostor = Vendor(aaguid=vendor.aaguid)
        key = SoftAuthenticator(vendor=impostor)
        browser, _ = browser_signed_in(asha.person)
        options = browser.post("/signin/authenticators/options").json()
        refused = browser.post(
            "/signin/authenticators/verify",
            json.dumps({"name": "x", "credential": key.create(options)}),
            content_type="application/json",
        )
        assert refused.status_code == 400
        assert not WebAuthnCredential.objects.exists()
        return
    session = _signed_in_with(key, asha)
    assert (session.acr, session.amr) == ("AAL2", ["swk", "user"])
    assert not WebAuthnCredential.objects.get().hardware


def test_registration_asks_for_direct_attestation(asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    options = browser.post("/signin/authenticators/options").json()
    assert options["attestation"] == "direct"


def test_a_software_key_follows_a_lower_policy_level(asha: Holder, settings: Any) -> None:
    settings.CIS_WEBAUTHN_ACR = "AAL1"
    session = _signed_in_with(SoftAuthenticator(), asha)
    assert (session.acr, session.amr) == ("AAL1", ["swk", "user"])


def test_an_authenticator_without_user_verification_is_refused(asha: Holder) -> None:
    key = SoftAuthenticator(user_verifying=False)
    browser, _ = browser_signed_in(asha.person)
    options = browser.post("/signin/authenticators/options").json()
    response = browser.post(
        "/signin/authenticators/verify",
        json.dumps({"name": "x", "credential": key.create(options)}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not WebAuthnCredential.objects.exists()


def test_a_replayed_assertion_is_refused(asha: Holder) -> None:
    key = SoftAuthenticator()
    _register(browser_signed_in(asha.person)[0], key)
    browser = Client()
    options = browser.post("/signin/security-key/options").json()
    assertion = key.get(options)
    first = browser.post(
        "/signin/security-key/verify", json.dumps(assertion), content_type="application/json"
    )
    assert first.status_code == 200
    again = Client()
    again.post("/signin/security-key/options")
    replay = again.post(
        "/signin/security-key/verify", json.dumps(assertion), content_type="application/json"
    )
    assert replay.status_code in (403, 409)
    assert SignInSession.objects.filter(method=SignInMethod.WEBAUTHN).count() == 1


def test_a_cloned_key_is_caught_by_its_counter(asha: Holder) -> None:
    key = SoftAuthenticator()
    _register(browser_signed_in(asha.person)[0], key)
    assert _sign_in(key, counter_step=5)[1].status_code == 200  # type: ignore[attr-defined]
    key.sign_count = 2  # a copy that has signed fewer times than the original
    assert _sign_in(key)[1].status_code == 403  # type: ignore[attr-defined]


def test_an_unknown_key_learns_nothing(asha: Holder) -> None:
    stranger = SoftAuthenticator()
    stranger.user_handle = asha.person.user_id.encode()
    _, response = _sign_in(stranger)
    assert response.status_code == 403  # type: ignore[attr-defined]
    assert "security key" in response.json()["message"]  # type: ignore[attr-defined]


def test_a_key_for_another_site_is_refused(asha: Holder) -> None:
    key = SoftAuthenticator()
    _register(browser_signed_in(asha.person)[0], key)
    key.origin = "https://phishing.example"
    assert _sign_in(key)[1].status_code == 403  # type: ignore[attr-defined]


def test_removing_a_key_ends_its_sessions(asha: Holder) -> None:
    key = SoftAuthenticator()
    holder_browser, _ = browser_signed_in(asha.person)
    _register(holder_browser, key)
    key_browser, _ = _sign_in(key)
    stored = WebAuthnCredential.objects.get()
    holder_browser.post("/signin/authenticators/", {"remove": str(stored.pk)})
    stored.refresh_from_db()
    assert stored.revoked_at is not None
    session = SignInSession.objects.get(method=SignInMethod.WEBAUTHN)
    assert session.end_reason == EndReason.AUTHENTICATOR_REMOVED
    assert _sign_in(key)[1].status_code == 403  # type: ignore[attr-defined]


def test_only_the_holder_registers_and_an_ra_agent_may_remove(asha: Holder) -> None:
    key = SoftAuthenticator()
    _register(browser_signed_in(asha.person)[0], key)
    stored = WebAuthnCredential.objects.get()
    org = asha.assignments[0].position.organisation
    lsa = PersonFactory()
    RightGrantFactory(person=lsa, right=Right.LSA, organisation=org)
    with pytest.raises(NotPermitted):
        authenticator_revoke(actor=lsa, credential=stored)
    agent = PersonFactory()
    RightGrantFactory(person=agent, right=Right.RA_AGENT, organisation=org)
    authenticator_revoke(actor=agent, credential=stored)
    stored.refresh_from_db()
    assert stored.revoked_at is not None


def test_registration_needs_signing_in(db: None) -> None:
    assert Client().post("/signin/authenticators/options").status_code == 302


def test_a_security_key_session_cannot_register_another_key(asha: Holder) -> None:
    """A stolen key must not mint more keys: adding one needs a card sign-in in this session."""
    key = SoftAuthenticator()
    _register(browser_signed_in(asha.person)[0], key)
    signed_in_with_key, response = _sign_in(key)
    assert response.status_code == 200  # type: ignore[attr-defined]
    refused = signed_in_with_key.post("/signin/authenticators/options")
    assert refused.status_code == 403
    assert "Sign in with your smartcard" in refused.json()["message"]
    second = SoftAuthenticator()
    options = browser_signed_in(asha.person)[0].post("/signin/authenticators/options").json()
    forged = signed_in_with_key.post(
        "/signin/authenticators/verify",
        json.dumps({"name": "Second", "credential": second.create(options)}),
        content_type="application/json",
    )
    assert forged.status_code == 403
    assert WebAuthnCredential.objects.filter(person=asha.person).count() == 1
