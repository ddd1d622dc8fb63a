"""The card services' own rules: preconditions, secrets kept secret, and nothing half-done."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from django.conf import settings

from cis.audit.models import AuditEvent
from cis.audit.verify import verify
from cis.authz.policy import CONSOLE
from cis.core import clock
from cis.core.errors import Conflict, InvalidState, NotPermitted, ValidationFailed
from cis.people.models import PersonStatus
from cis.pki.models import Certificate
from cis.smartcards import envelope, services
from cis.smartcards.models import AgentToken, CardOperation, Smartcard, UnlockCode
from cis_wire.messages import login_message, renewal_message
from tests.authz.world import World, build_world
from tests.factories.directory import PersonFactory

from .conftest import CardInHand, csr_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(ca: object) -> World:
    return build_world()


def _agent(world: World) -> object:
    return world.actors["ra_agent"]


# -- issue --------------------------------------------------------------------------------------


def test_issue_needs_a_verified_identity_and_an_active_position(world: World) -> None:
    agent = _agent(world)
    unverified = world.targets["in_scope"]
    unverified.status = PersonStatus.RESTRICTED
    unverified.save()
    with pytest.raises(InvalidState, match="identity has not been verified"):
        services.card_issue(
            actor=agent, holder=unverified, chip_serial="CHIP0001", holder_present=True
        )
    ended = world.targets["ended_assignment"]
    registered_here = PersonFactory(registered_ra=world.ra)
    for holder in (ended, registered_here):
        with pytest.raises((InvalidState, NotPermitted)):
            services.card_issue(
                actor=agent, holder=holder, chip_serial="CHIP0002", holder_present=True
            )
    assert not Smartcard.objects.exists()


def test_issue_refuses_bad_serials_absent_holders_and_cards_already_issued(world: World) -> None:
    agent = _agent(world)
    holder = world.targets["in_scope"]
    with pytest.raises(ValidationFailed, match="not a chip serial"):
        services.card_issue(actor=agent, holder=holder, chip_serial="a b", holder_present=True)
    with pytest.raises(ValidationFailed, match="holder must be present"):
        services.card_issue(
            actor=agent, holder=holder, chip_serial="CHIP0003", holder_present=False
        )
    services.card_issue(actor=agent, holder=holder, chip_serial="CHIP0003", holder_present=True)
    with pytest.raises(Conflict, match="already issued"):
        services.card_issue(
            actor=agent,
            holder=world.targets["child_org"],
            chip_serial="CHIP0003",
            holder_present=True,
        )
    # The same holder again resumes the interrupted issue, with the same SO PIN.
    first = CardOperation.objects.get()
    again = services.card_issue(
        actor=agent, holder=holder, chip_serial="CHIP0003", holder_present=True
    )
    first.refresh_from_db()
    assert first.abandoned_at is not None
    assert again.so_pins == [again.new_so_pin]
    assert Smartcard.objects.count() == 1


def test_the_so_pin_is_kept_sealed_bound_to_its_card_and_never_audited(
    world: World, active_card: Callable[..., CardInHand]
) -> None:
    card = active_card(world.targets["in_scope"])
    other = active_card(world.targets["child_org"])
    assert card.so_pin not in card.row.so_pin_sealed
    released = services.card_unlock_assisted(
        actor=world.actors["lsa_children"], card=card.row, holder_present=True
    )
    assert released.so_pins == [card.so_pin]
    assert released.new_so_pin != card.so_pin
    # An envelope moved to another card's row does not open there.
    with pytest.raises(RuntimeError, match="does not belong"):
        envelope.unseal(
            card.row.so_pin_sealed,
            context=f"smartcard-so-pin:{other.row.chip_serial}:{other.row.issued_at.isoformat()}",
        )
    dump = json.dumps(list(AuditEvent.objects.values("before", "after")), default=str)
    assert card.so_pin not in dump
    assert released.new_so_pin not in dump
    assert verify().intact


def test_the_key_encryption_key_comes_from_the_environment_or_a_private_file() -> None:
    from django.test import override_settings

    with override_settings(CIS_CARD_KEK=""):
        sealed = envelope.seal("12345678", context="c")
        path = Path(settings.DATA_DIR) / "card-kek.key"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert envelope.unseal(sealed, context="c") == "12345678"
    import base64

    with (
        override_settings(CIS_CARD_KEK=base64.b64encode(os.urandom(32)).decode()),
        pytest.raises(RuntimeError, match="another key-encryption key"),
    ):
        envelope.unseal(sealed, context="c")


def test_unconfirmed_so_pins_are_all_offered_until_a_rotation_is_confirmed(
    world: World, active_card: Callable[..., CardInHand]
) -> None:
    card = active_card(world.targets["in_scope"])
    lsa = world.actors["lsa"]
    first = services.card_unlock_assisted(actor=lsa, card=card.row, holder_present=True)
    second = services.card_unlock_assisted(actor=lsa, card=card.row, holder_present=True)
    assert second.so_pins == [card.so_pin, first.new_so_pin]
    services.card_operation_complete(
        actor=lsa,
        operation_ref=second.operation.ref,
        chip_serial=card.row.chip_serial,
        so_pin_rotated=True,
    )
    card.row.refresh_from_db()
    assert not card.row.so_pin_rotation_due
    third = services.card_unlock_assisted(actor=lsa, card=card.row, holder_present=True)
    assert third.so_pins == [second.new_so_pin]
    with pytest.raises(InvalidState, match="replaced or stopped"):
        services.card_operation_complete(
            actor=lsa, operation_ref=first.operation.ref, chip_serial=card.row.chip_serial
        )


def test_an_operation_belongs_to_whoever_started_it_and_to_its_card(
    world: World, active_card: Callable[..., CardInHand]
) -> None:
    card = active_card(world.targets["in_scope"])
    released = services.card_unlock_assisted(
        actor=world.actors["lsa"], card=card.row, holder_present=True
    )
    with pytest.raises(NotPermitted, match="started by someone else"):
        services.card_operation_complete(
            actor=world.actors["sponsor"],
            operation_ref=released.operation.ref,
            chip_serial=card.row.chip_serial,
        )
    with pytest.raises(InvalidState, match="not the card this step started with"):
        services.card_operation_complete(
            actor=world.actors["lsa"],
            operation_ref=released.operation.ref,
            chip_serial="SOMEOTHERCARD",
        )
    card.row.refresh_from_db()
    assert card.row.status == "active"


# -- cancel -------------------------------------------------------------------------------------


def test_cancel_revokes_every_certificate_ends_sessions_and_is_never_undone(
    world: World, active_card: Callable[..., CardInHand]
) -> None:
    holder = world.targets["in_scope"]
    card = active_card(holder)
    challenge = services.agent_challenge_create().value
    token, row = services.agent_sign_in(
        chip_serial=card.row.chip_serial,
        certificate_der=card.certificate_der,
        challenge=challenge,
        signature=card.sign(login_message(challenge=challenge, chip_serial=card.row.chip_serial)),
    )
    assert services.agent_token_person(token) is not None
    with pytest.raises(ValidationFailed, match="lost, stolen"):
        services.card_report_lost(actor=holder, card=card.row, reason="left")
    services.card_cancel(actor=_agent(world), card=card.row, reason="lost")
    cert = Certificate.objects.get(pk=card.link.certificate_id)
    assert (cert.status, cert.revocation_reason) == ("revoked", "key_compromise")
    assert services.agent_token_person(token) is None
    row.refresh_from_db()
    assert row.revoked_at is not None
    with pytest.raises(InvalidState, match="never be undone"):
        services.card_cancel(actor=_agent(world), card=card.row, reason="faulty")
    for attempt in (
        lambda: services.card_unlock_assisted(
            actor=world.actors["lsa"], card=card.row, holder_present=True
        ),
        lambda: services.card_renew(actor=holder, card=card.row),
        lambda: services.card_report_locked(actor=holder, card=card.row),
        lambda: services.card_repair(actor=_agent(world), card=card.row, holder_present=True),
    ):
        with pytest.raises(InvalidState, match="cancelled"):
            attempt()


# -- self-unlock ---------------------------------------------------------------------------------


def test_self_unlock_needs_a_verified_contact_and_keeps_only_a_hash_of_the_code(
    world: World,
    active_card: Callable[..., CardInHand],
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    holder = world.targets["in_scope"]
    card = active_card(holder)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        sent = services.card_self_unlock_send_code(actor=holder, card=card.row, channel="email")
    from django.core import mail

    assert len(mail.outbox) == 1
    code = next(w for w in mail.outbox[0].body.split() if w.rstrip(".").isdigit()).rstrip(".")
    assert sent.sent_to.startswith(holder.email[0]) and "***@" in sent.sent_to
    stored = UnlockCode.objects.get()
    assert code not in stored.code_digest
    holder.email_verified_at = None
    holder.mobile_verified_at = None
    holder.save()
    with pytest.raises(InvalidState, match="no verified email or mobile"):
        services.card_self_unlock_send_code(actor=holder, card=card.row)
    released = services.card_self_unlock_verify(actor=holder, card=card.row, code=code)
    assert released.secret
    assert (
        released.operation.secret_digest and released.secret not in released.operation.secret_digest
    )
    with pytest.raises(NotPermitted):
        services.card_operation_complete(
            actor=None,
            operation_ref=released.operation.ref,
            chip_serial=card.row.chip_serial,
            secret="guess",
        )
    services.card_operation_complete(
        actor=None,
        operation_ref=released.operation.ref,
        chip_serial=card.row.chip_serial,
        so_pin_rotated=True,
        secret=released.secret,
    )


def test_a_presented_certificate_must_be_the_cards_own(
    world: World, active_card: Callable[..., CardInHand]
) -> None:
    card = active_card(world.targets["in_scope"])
    other = active_card(world.targets["child_org"])
    assert (
        services.card_presented(
            chip_serial=card.row.chip_serial, certificate_der=card.certificate_der
        )
        == card.row
    )
    with pytest.raises(NotPermitted):
        services.card_presented(
            chip_serial=card.row.chip_serial, certificate_der=other.certificate_der
        )
    with pytest.raises(ValidationFailed):
        services.card_presented(chip_serial=card.row.chip_serial, certificate_der=b"junk")


# -- renewal --------------------------------------------------------------------------------------


def test_renewal_needs_a_new_key_and_the_old_keys_signature(
    world: World, active_card: Callable[..., CardInHand]
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    holder = world.targets["in_scope"]
    card = active_card(holder)
    clock.travel(card.link.certificate.not_after - clock.now() - dt.timedelta(days=60))
    started = services.card_renew(actor=holder, card=card.row)
    new_key = ec.generate_private_key(ec.SECP256R1())
    csr = csr_for(new_key)
    from cryptography import x509

    csr_der = x509.load_pem_x509_csr(csr).public_bytes(serialization.Encoding.DER)
    message = renewal_message(
        challenge=started.operation.challenge, chip_serial=card.row.chip_serial, csr_der=csr_der
    )
    with pytest.raises(ValidationFailed, match="new key pair"):
        services.card_certificate_request(
            actor=holder,
            operation_ref=started.operation.ref,
            chip_serial=card.row.chip_serial,
            csr_pem=csr_for(card.key),
            renewal_proof=card.sign(message),
        )
    with pytest.raises(ValidationFailed, match="not signed with the card's current key"):
        services.card_certificate_request(
            actor=holder,
            operation_ref=started.operation.ref,
            chip_serial=card.row.chip_serial,
            csr_pem=csr,
            renewal_proof=new_key.sign(
                message,
                ec.ECDSA(
                    __import__(
                        "cryptography.hazmat.primitives.hashes", fromlist=["SHA256"]
                    ).SHA256()
                ),
            ),
        )
    link = services.card_certificate_request(
        actor=holder,
        operation_ref=started.operation.ref,
        chip_serial=card.row.chip_serial,
        csr_pem=csr,
        renewal_proof=card.sign(message),
    )
    old = Certificate.objects.get(pk=card.link.certificate_id)
    assert old.status == "valid", "not superseded until the new one is on the card"
    services.card_operation_complete(
        actor=holder,
        operation_ref=started.operation.ref,
        chip_serial=card.row.chip_serial,
        certificate_serial=link.certificate.serial_hex,
    )
    old.refresh_from_db()
    assert old.status == "superseded"
    assert old.superseded_by_id == link.certificate_id


def test_a_sign_in_challenge_works_once_and_only_for_its_card(
    world: World, active_card: Callable[..., CardInHand]
) -> None:
    card = active_card(world.targets["in_scope"])
    challenge = services.agent_challenge_create().value
    signed = card.sign(login_message(challenge=challenge, chip_serial=card.row.chip_serial))
    # The signed message names the chip: presented for another chip, the signature fails.
    with pytest.raises(NotPermitted, match="signature does not match"):
        services.agent_sign_in(
            chip_serial="OTHER",
            certificate_der=card.certificate_der,
            challenge=challenge,
            signature=signed,
        )
    with pytest.raises(NotPermitted, match="used or expired"):
        services.agent_sign_in(
            chip_serial=card.row.chip_serial,
            certificate_der=card.certificate_der,
            challenge=challenge,
            signature=signed,
        )
    fresh = services.agent_challenge_create().value
    with pytest.raises(NotPermitted, match="signature does not match"):
        services.agent_sign_in(
            chip_serial=card.row.chip_serial,
            certificate_der=card.certificate_der,
            challenge=fresh,
            signature=signed,
        )
    late = services.agent_challenge_create().value
    clock.travel(dt.timedelta(minutes=3))
    with pytest.raises(NotPermitted, match="used or expired"):
        services.agent_sign_in(
            chip_serial=card.row.chip_serial,
            certificate_der=card.certificate_der,
            challenge=late,
            signature=card.sign(login_message(challenge=late, chip_serial=card.row.chip_serial)),
        )
    assert not AgentToken.objects.exists()


def test_console_provisioning_writes_a_virtual_card_once(world: World, tmp_path: Path) -> None:
    from cis.smartcards.provisioning import ensure_virtual_card
    from cis_card.spec import open_card

    holder = world.targets["in_scope"]
    spec = ensure_virtual_card(holder=holder, path=tmp_path / "h.card", passcode="2468")
    again = ensure_virtual_card(holder=holder, path=tmp_path / "h.card", passcode="2468")
    assert spec == again
    card = open_card(spec)
    card.verify_passcode("2468")
    row = Smartcard.objects.get(chip_serial=card.serial())
    assert (row.holder, row.status, row.issued_by) == (holder, "active", None)
    assert AuditEvent.objects.filter(actor_ref="console", action="card.issue").exists()
    assert CONSOLE.audit_ref == "console"
