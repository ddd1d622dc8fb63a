"""Smartcard sign-in: the challenge, the card's signature, and every check CIS makes after it."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.test import Client

from cis.audit import refusals
from cis.audit.models import AuditEvent
from cis.audit.verify import verify
from cis.core import clock
from cis.people.models import PersonStatus
from cis.pki.models import Certificate
from cis.pki.services import certificate_revoke
from cis.rbac.models import PositionAssignment
from cis.signin.constants import EXPIRED_ATTEMPT, GENERIC_FAILURE
from cis.signin.models import SignInMethod, SignInSession
from cis.smartcards.models import Smartcard
from cis.smartcards.states import CardStatus
from cis_agent import login
from cis_agent.errors import AgentError
from cis_card.base import Card
from cis_wire import messages
from tests.oidc.support import Holder

from .conftest import PASSCODE

pytestmark = pytest.mark.django_db


def _respond(
    http: httpx.Client, card: Card, challenge: dict[str, str], **override: str
) -> httpx.Response:
    cert = login.presented(card)
    message = messages.signin_message(
        challenge_id=challenge["challenge_id"], nonce=challenge["nonce"], chip_serial=card.serial()
    )
    with card.session(PASSCODE) as session:
        signature = session.sign(cert.key_id, message)
    body = {
        "challenge_id": challenge["challenge_id"],
        "chip_serial": card.serial(),
        "certificate": base64.b64encode(cert.der).decode(),
        "signature": base64.b64encode(signature).decode(),
        "workstation": "WS-TEST",
        **override,
    }
    return http.post("/signin/agent/respond", json=body)


def _challenge(http: httpx.Client) -> dict[str, str]:
    response = http.post("/signin/agent/challenge")
    assert response.status_code == 201
    data: dict[str, str] = response.json()
    return data


@pytest.mark.parametrize("kind", ["virtual", "pkcs11"])
def test_the_agent_signs_in_and_the_browser_takes_over(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client, kind: str
) -> None:
    card = make_card(asha.person, kind=kind)
    done = login.sign_in(card=card, http=http, passcode=PASSCODE, workstation="WS-1")
    assert done.user_id == asha.person.user_id
    session = SignInSession.objects.get(ref=done.session)
    assert session.method == SignInMethod.SMARTCARD
    assert (session.acr, session.amr) == ("AAL3", ["sc", "pin", "hwk"])
    assert session.card_serial == card.serial()
    assert session.certificate_serial == Certificate.objects.get(person=asha.person).serial_hex
    assert session.selected_assignment == asha.assignments[0]  # the only role: chosen already

    browser = Client()
    browser.get("/sign-in/")
    before = browser.session.session_key
    path = done.sign_in_url.removeprefix("http://testserver")
    assert browser.get(path).status_code == 200
    response = browser.post(path)
    assert response.status_code == 302
    assert browser.session.session_key != before  # a new session id at sign-in
    assert int(browser.session["_auth_user_id"]) == asha.person.pk
    assert verify().intact


def test_the_nonce_is_random_and_at_least_128_bits(db: None, http: httpx.Client) -> None:
    first, second = _challenge(http), _challenge(http)
    assert len(bytes.fromhex(first["nonce"])) * 8 >= 128
    assert first["nonce"] != second["nonce"]
    assert first["challenge_id"] != second["challenge_id"]


def test_a_used_challenge_cannot_be_replayed(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client
) -> None:
    card = make_card(asha.person)
    challenge = _challenge(http)
    assert _respond(http, card, challenge).status_code == 201
    replay = _respond(http, card, challenge)
    assert replay.status_code == 409
    assert replay.json()["message"] == EXPIRED_ATTEMPT
    assert SignInSession.objects.count() == 1


def test_an_expired_challenge_is_refused(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client
) -> None:
    card = make_card(asha.person)
    challenge = _challenge(http)
    clock.travel(dt.timedelta(seconds=61))
    response = _respond(http, card, challenge)
    assert response.status_code == 409
    assert response.json()["message"] == EXPIRED_ATTEMPT


def test_a_failed_answer_still_uses_up_the_challenge(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client
) -> None:
    card = make_card(asha.person)
    challenge = _challenge(http)
    bad = _respond(http, card, challenge, signature=base64.b64encode(b"0" * 70).decode())
    assert bad.status_code == 403
    assert _respond(http, card, challenge).status_code == 409


def test_a_failed_sign_in_is_audited_without_naming_anyone(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client
) -> None:
    card = make_card(asha.person)
    bad = _respond(http, card, _challenge(http), signature=base64.b64encode(b"0" * 70).decode())
    assert bad.status_code == 403
    event = AuditEvent.objects.get(action=refusals.SIGN_IN_FAILED)
    assert event.actor_ref == "anonymous"  # nobody proved who they are
    assert (event.target_type, event.target_ref) == ("smartcard", card.serial())
    assert event.after == {"refused": "smartcard", "reason": GENERIC_FAILURE}
    assert event.client_address
    assert verify().intact


def test_a_signature_over_another_nonce_is_refused(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client
) -> None:
    card = make_card(asha.person)
    first, second = _challenge(http), _challenge(http)
    cert = login.presented(card)
    with card.session(PASSCODE) as session:
        signature = session.sign(
            cert.key_id,
            messages.signin_message(
                challenge_id=first["challenge_id"], nonce=first["nonce"], chip_serial=card.serial()
            ),
        )
    response = http.post(
        "/signin/agent/respond",
        json={
            "challenge_id": second["challenge_id"],
            "chip_serial": card.serial(),
            "certificate": base64.b64encode(cert.der).decode(),
            "signature": base64.b64encode(signature).decode(),
        },
    )
    assert response.status_code == 403
    assert response.json()["message"] == GENERIC_FAILURE


def _self_signed(serial: int) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Asha Patel")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.DER)


def test_a_forged_certificate_reads_the_same_as_an_unknown_one(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client
) -> None:
    """Someone not signed in learns nothing: a copy of a real serial or a made-up one alike."""
    card = make_card(asha.person)
    real_serial = login.presented(card).certificate.serial_number
    answers = []
    for serial in (real_serial, 12345):
        key, der = _self_signed(serial)
        challenge = _challenge(http)
        message = messages.signin_message(
            challenge_id=challenge["challenge_id"],
            nonce=challenge["nonce"],
            chip_serial=card.serial(),
        )
        response = http.post(
            "/signin/agent/respond",
            json={
                "challenge_id": challenge["challenge_id"],
                "chip_serial": card.serial(),
                "certificate": base64.b64encode(der).decode(),
                "signature": base64.b64encode(
                    key.sign(message, ec.ECDSA(hashes.SHA256()))
                ).decode(),
            },
        )
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1] == (403, {"error": "not_permitted", "message": GENERIC_FAILURE})


def _refusal(http: httpx.Client, card: Card) -> str:
    with pytest.raises(AgentError) as caught:
        login.sign_in(card=card, http=http, passcode=PASSCODE)
    return caught.value.message


def test_a_locked_card_is_told_how_to_unlock(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client
) -> None:
    card = make_card(asha.person)
    Smartcard.objects.filter(chip_serial=card.serial()).update(status=CardStatus.LOCKED)
    message = _refusal(http, card)
    assert (
        "locked" in message and "unlock" in message and "Local Smartcard Administrator" in message
    )


def test_a_cancelled_card_is_refused(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client
) -> None:
    card = make_card(asha.person)
    Smartcard.objects.filter(chip_serial=card.serial()).update(
        status=CardStatus.CANCELLED, cancel_reason="lost"
    )
    assert "cancelled" in _refusal(http, card)


def test_a_revoked_certificate_is_refused(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client
) -> None:
    from cis.authz.policy import CONSOLE

    card = make_card(asha.person)
    cert = Certificate.objects.get(person=asha.person)
    certificate_revoke(actor=CONSOLE, certificate=cert, reason="key_compromise")
    assert "revoked" in _refusal(http, card)


def test_an_expired_certificate_is_told_to_renew(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client
) -> None:
    card = make_card(asha.person)
    cert = Certificate.objects.get(person=asha.person)
    clock.travel(cert.not_after - clock.now() + dt.timedelta(days=1))
    message = _refusal(http, card)
    assert "expired" in message and "renew" in message


def test_a_closed_profile_is_refused(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client
) -> None:
    card = make_card(asha.person)
    type(asha.person).objects.filter(pk=asha.person.pk).update(status=PersonStatus.CLOSED)
    assert "closed" in _refusal(http, card)


def test_no_active_position_is_refused(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client
) -> None:
    card = make_card(asha.person)
    PositionAssignment.objects.filter(person=asha.person).update(
        end_date=clock.today() - dt.timedelta(days=1)
    )
    message = _refusal(http, card)
    assert "active role" in message and "Sponsor" in message


def test_the_same_card_at_two_workstations_is_flagged(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client
) -> None:
    card = make_card(asha.person)
    first = login.sign_in(card=card, http=http, passcode=PASSCODE, workstation="WS-1")
    assert not first.shared_card_flagged
    second = login.sign_in(card=card, http=http, passcode=PASSCODE, workstation="WS-2")
    assert second.shared_card_flagged
    assert SignInSession.objects.filter(shared_card_flagged_at__isnull=False).count() == 2
    event = AuditEvent.objects.get(action="session.flag_shared_card")
    assert event.target_ref == asha.person.user_id
    assert event.after["card_serial"] == card.serial()
    both = {str(ref) for ref in SignInSession.objects.values_list("ref", flat=True)}
    assert set(event.after["sessions"]) == both  # as the ORM spells a UUID
    assert event.after["workstations"] == ["WS-1 127.0.0.1", "WS-2 127.0.0.1"]


def test_signing_in_again_at_the_same_workstation_is_not_flagged(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client
) -> None:
    card = make_card(asha.person)
    login.sign_in(card=card, http=http, passcode=PASSCODE, workstation="WS-1")
    again = login.sign_in(card=card, http=http, passcode=PASSCODE, workstation="WS-1")
    assert not again.shared_card_flagged


def test_a_wrong_passcode_never_reaches_the_server(
    asha: Holder, make_card: Callable[..., Card], http: httpx.Client
) -> None:
    from cis_card.base import WrongPasscode

    card = make_card(asha.person)
    with pytest.raises(WrongPasscode):
        login.sign_in(card=card, http=http, passcode="0000")
    assert SignInSession.objects.count() == 0
