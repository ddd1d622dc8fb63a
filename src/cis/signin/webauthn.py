"""Alternative authenticators: FIDO2 security keys and platform authenticators, via py_webauthn.

A holder registers one while signed in (with their smartcard); afterwards it signs them in on
its own, always with user verification (a PIN or biometric on the authenticator). How strong
that sign-in is depends on what the key proved when it was registered: only a key whose
attestation chains to a trusted vendor root (CIS_WEBAUTHN_ATTESTATION_ROOTS) and names an
allowed model (CIS_WEBAUTHN_HARDWARE_AAGUIDS) is hardware (amr "hwk", the policy's level
CIS_WEBAUTHN_ACR); any other, a software authenticator included, is "swk" and at most AAL2.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from django.conf import settings
from django.db import transaction
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import parse_attestation_object
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AttestationFormat,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from cis.audit import refusals
from cis.audit.trail import record
from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.core import clock, jsonbody, metrics
from cis.core.errors import InvalidState, NotPermitted, ValidationFailed
from cis.people.models import Person

from .challenge import challenge_consume, challenge_issue
from .constants import ACR_AAL2, ACR_ORDER, AMR_WEBAUTHN_SOFTWARE, AMR_WEBAUTHN_VERIFIED
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


def relying_party_for(*, host: str, scheme: str) -> RelyingParty:
    """This server as a WebAuthn relying party, as the browser (or API client) reached it."""
    rp_id = settings.CIS_WEBAUTHN_RP_ID or host.rsplit(":", 1)[0].strip("[]")
    return RelyingParty(rp_id=rp_id, origin=f"{scheme}://{host}")


@dataclass(frozen=True)
class Ceremony:
    challenge_id: str
    options_json: str


CARD_METHODS = frozenset({SignInMethod.SMARTCARD, SignInMethod.TLS_CLIENT_CERT})


def _require_card_session(actor: Person, session: SignInSession | None) -> None:
    """A security key is added only by someone signed in with their card in this session: a
    key (perhaps stolen) must never be able to mint more keys and outlive the card."""
    if (
        session is None
        or session.person_id != actor.pk
        or session.method not in CARD_METHODS
        or session.ended_at is not None
    ):
        raise NotPermitted(
            "Sign in with your smartcard to add a security key: a security key cannot add another."
        )


# Attestation formats whose certificate chain CIS checks against the configured roots (Apple's
# own root is built into py_webauthn).
CHAINED_FORMATS = (
    AttestationFormat.PACKED,
    AttestationFormat.FIDO_U2F,
    AttestationFormat.TPM,
    AttestationFormat.ANDROID_KEY,
)


def attestation_roots() -> dict[AttestationFormat, list[bytes]]:
    """The vendors' attestation roots (PEM), for each format whose chain is checked."""
    path = settings.CIS_WEBAUTHN_ATTESTATION_ROOTS
    if not path:
        return {}
    with open(path, "rb") as bundle:
        certificates = x509.load_pem_x509_certificates(bundle.read())
    pems = [c.public_bytes(Encoding.PEM) for c in certificates]
    return dict.fromkeys(CHAINED_FORMATS, pems) if pems else {}


def hardware(fmt: AttestationFormat, attestation_object: bytes, aaguid: str, roots: Any) -> bool:
    """Whether a verified registration proved a hardware authenticator of an allowed model.

    py_webauthn has already checked the attestation's signature and, where roots were given
    for its format, its chain to them. Without an x5c chain (attestation "none", or a
    self-attested key) or without roots to check it against, nothing says what made the key.
    """
    if aaguid.lower() not in settings.CIS_WEBAUTHN_HARDWARE_AAGUIDS:
        return False
    if fmt != AttestationFormat.APPLE and fmt not in roots:
        return False
    return bool(parse_attestation_object(attestation_object).att_stmt.x5c)


def assurance(credential: WebAuthnCredential) -> tuple[str, list[str]]:
    """acr and amr for a sign-in with this key: hardware at the policy's level, else swk."""
    if credential.hardware:
        return settings.CIS_WEBAUTHN_ACR, list(AMR_WEBAUTHN_VERIFIED)
    policy = settings.CIS_WEBAUTHN_ACR
    acr = policy if ACR_ORDER.get(policy, 0) <= ACR_ORDER[ACR_AAL2] else ACR_AAL2
    return acr, list(AMR_WEBAUTHN_SOFTWARE)


def registration_begin(
    *, actor: Person, rp: RelyingParty, session: SignInSession | None
) -> Ceremony:
    require(actor, Action.AUTHENTICATOR_REGISTER, actor)
    _require_card_session(actor, session)
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
        # The key's make and model, signed by its vendor: what decides "hwk" (see hardware()).
        attestation=AttestationConveyancePreference.DIRECT,
    )
    return Ceremony(challenge_id=str(issued.id), options_json=options_to_json(options))


@transaction.atomic
def authenticator_register(
    *,
    actor: Person,
    rp: RelyingParty,
    session: SignInSession | None,
    challenge_id: str,
    credential: dict[str, Any],
    name: str,
) -> WebAuthnCredential:
    decision = require(actor, Action.AUTHENTICATOR_REGISTER, actor)
    _require_card_session(actor, session)
    challenge = challenge_consume(
        challenge_id=challenge_id, purpose=ChallengePurpose.WEBAUTHN_REGISTER
    )
    if challenge.person_id != actor.pk:
        raise NotPermitted("This registration was started by someone else.")
    label = " ".join(name.split())[:60] or "Security key"
    roots = attestation_roots()
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=bytes.fromhex(challenge.nonce),
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
            require_user_verification=True,
            pem_root_certs_bytes_by_fmt=roots,
        )
    except WebAuthnException as exc:  # a wrong answer, or one not shaped like an answer at all
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
        hardware=hardware(verified.fmt, verified.attestation_object, str(verified.aaguid), roots),
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
        after={
            "authenticator": row.pk,
            "name": label,
            "aaguid": row.aaguid,
            "hardware": row.hardware,
        },
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


@metrics.counts_sign_ins("security_key")
@refusals.records_failed_sign_ins("security_key")
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
        except WebAuthnException:
            raise NotPermitted(FAILED) from None
        handle = credential.get("response", {}).get("userHandle")
        if handle and unb64url(str(handle)) != row.person.user_id.encode():
            raise NotPermitted(FAILED)
        row.sign_count = verified.new_sign_count
        row.last_used_at = clock.now()
        row.save(update_fields=["sign_count", "last_used_at"])
    acr, amr = assurance(row)
    return session_start(
        person=row.person,
        method=SignInMethod.WEBAUTHN,
        acr=acr,
        amr=amr,
        authenticator=row,
        workstation="browser (security key)",
        client_address=client_address,
    )


def parse_credential(body: bytes) -> dict[str, Any]:
    return jsonbody.load_object(body)
