"""Alternative authenticators: FIDO2 security keys and platform authenticators, via py_webauthn.

A holder registers one while signed in (with their smartcard); afterwards it signs them in on
its own at the assurance level the deployment's policy gives it (CIS_WEBAUTHN_ACR, AAL2 by
default), always with user verification (a PIN or biometric on the authenticator).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from cis.audit.trail import record
from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.core import clock
from cis.core.errors import InvalidState, NotPermitted, ValidationFailed
from cis.people.models import Person

from .challenge import challenge_consume, challenge_issue
from .constants import AMR_WEBAUTHN_VERIFIED
from .models import ChallengePurpose, SignInMethod, SignInSession, WebAuthnCredential
from .services import session_start, sessions_end_for_authenticator

FAILED = (
    "We could not sign you in with this security key. Try again, or sign in with your smartcard."
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class RelyingParty:
    rp_id: str
    origin: str


@dataclass(frozen=True)
class Ceremony:
    challenge_id: str
    options_json: str


def registration_begin(*, actor: Person, rp: RelyingParty) -> Ceremony:
    require(actor, Action.AUTHENTICATOR_REGISTER, actor)
    issued = challenge_issue(purpose=ChallengePurpose.WEBAUTHN_REGISTER, person=actor)
    existing = [
        PublicKeyCredentialDescriptor(id=bytes(c.credential_id))
        for c in WebAuthnCredential.objects.filter(person=actor, revoked_at__isnull=True)
    ]
    options = generate_registration_options(
        rp_id=rp.rp_id,
        rp_name=settings.CIS_WEBAUTHN_RP_NAME,
        user_name=actor.user_id,
        user_id=actor.user_id.encode(),
        user_display_name=actor.full_name,
        challenge=bytes.fromhex(issued.nonce),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=existing,
    )
    return Ceremony(challenge_id=str(issued.id), options_json=options_to_json(options))


@transaction.atomic
def authenticator_register(
    *, actor: Person, rp: RelyingParty, challenge_id: str, credential: dict[str, Any], name: str
) -> WebAuthnCredential:
    decision = require(actor, Action.AUTHENTICATOR_REGISTER, actor)
    challenge = challenge_consume(
        challenge_id=challenge_id, purpose=ChallengePurpose.WEBAUTHN_REGISTER
    )
    if challenge.person_id != actor.pk:
        raise NotPermitted("This registration was started by someone else.")
    label = " ".join(name.split())[:60] or "Security key"
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=bytes.fromhex(challenge.nonce),
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
            require_user_verification=True,
        )
    except InvalidRegistrationResponse as exc:
        raise ValidationFailed(f"The security key's answer was not valid: {exc}") from None
    ident = b64url(verified.credential_id)
    if WebAuthnCredential.objects.filter(credential_id_b64=ident).exists():
        raise InvalidState("This security key is already registered.")
    row = WebAuthnCredential.objects.create(
        person=actor,
        credential_id=verified.credential_id,
        credential_id_b64=ident,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=str(verified.aaguid),
        name=label,
        user_verified=verified.user_verified,
        transports=list(credential.get("response", {}).get("transports", []) or []),
        created_at=clock.now(),
    )
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.AUTHENTICATOR_REGISTER,
        target_type="person",
        target_ref=actor.user_id,
        after={"authenticator": row.pk, "name": label, "aaguid": row.aaguid},
    )
    return row


@transaction.atomic
def authenticator_revoke(*, actor: Actor, credential: WebAuthnCredential) -> None:
    decision = require(actor, Action.AUTHENTICATOR_REVOKE, credential.person)
    row = WebAuthnCredential.objects.select_for_update().get(pk=credential.pk)
    if row.revoked_at is not None:
        return
    row.revoked_at = clock.now()
    row.save(update_fields=["revoked_at"])
    sessions_end_for_authenticator(row)
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.AUTHENTICATOR_REVOKE,
        target_type="person",
        target_ref=row.person.user_id,
        before={"authenticator": row.pk, "name": row.name},
        after={"revoked_at": row.revoked_at},
    )


def signin_begin(*, rp: RelyingParty, client_address: str = "") -> Ceremony:
    issued = challenge_issue(
        purpose=ChallengePurpose.WEBAUTHN_SIGNIN, client_address=client_address
    )
    options = generate_authentication_options(
        rp_id=rp.rp_id,
        challenge=bytes.fromhex(issued.nonce),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return Ceremony(challenge_id=str(issued.id), options_json=options_to_json(options))


def webauthn_sign_in(
    *, rp: RelyingParty, challenge_id: str, credential: dict[str, Any], client_address: str = ""
) -> SignInSession:
    """A discoverable-credential assertion: a new session at the policy's assurance level."""
    challenge = challenge_consume(
        challenge_id=challenge_id, purpose=ChallengePurpose.WEBAUTHN_SIGNIN
    )
    ident = str(credential.get("rawId") or credential.get("id") or "")
    with transaction.atomic():
        row = (
            WebAuthnCredential.objects.select_for_update()
            .select_related("person")
            .filter(credential_id_b64=ident.rstrip("="), revoked_at__isnull=True)
            .first()
        )
        if row is None:
            raise NotPermitted(FAILED)
        try:
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=bytes.fromhex(challenge.nonce),
                expected_rp_id=rp.rp_id,
                expected_origin=rp.origin,
                credential_public_key=bytes(row.public_key),
                credential_current_sign_count=row.sign_count,
                require_user_verification=True,
            )
        except InvalidAuthenticationResponse:
            raise NotPermitted(FAILED) from None
        handle = credential.get("response", {}).get("userHandle")
        if handle and unb64url(str(handle)) != row.person.user_id.encode():
            raise NotPermitted(FAILED)
        row.sign_count = verified.new_sign_count
        row.last_used_at = clock.now()
        row.save(update_fields=["sign_count", "last_used_at"])
    return session_start(
        person=row.person,
        method=SignInMethod.WEBAUTHN,
        acr=settings.CIS_WEBAUTHN_ACR,
        amr=list(AMR_WEBAUTHN_VERIFIED),
        authenticator=row,
        workstation="browser (security key)",
        client_address=client_address,
    )


def parse_credential(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise ValidationFailed("The request body is not JSON.") from None
    if not isinstance(data, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    return data
