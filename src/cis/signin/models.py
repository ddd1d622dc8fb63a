"""Sign-in state: one-time challenges, sessions, browser hand-off tickets, authenticators."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from cis.rbac.models import PositionAssignment


class SignInMethod(models.TextChoices):
    SMARTCARD = "smartcard", "Smartcard and passcode"
    TLS_CLIENT_CERT = "tls_client_cert", "Smartcard through a TLS client certificate"
    WEBAUTHN = "webauthn", "Security key or platform authenticator"
    DEMO = "demo", "Demo persona (no authentication)"


class ChallengePurpose(models.TextChoices):
    SMARTCARD = "smartcard", "Smartcard"
    WEBAUTHN_SIGNIN = "webauthn_signin", "WebAuthn sign-in"
    WEBAUTHN_REGISTER = "webauthn_register", "WebAuthn registration"


class LoginChallenge(models.Model):
    """A server nonce for one login attempt: single use, short-lived, never reissued."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    purpose = models.CharField(max_length=20, choices=ChallengePurpose.choices)
    nonce = models.CharField(max_length=64)  # 32 random bytes, hex
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    client_address = models.CharField(max_length=45, blank=True)
    # For WebAuthn registration: who is registering (signed in already).
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} challenge {self.id}"


class EndReason(models.TextChoices):
    SIGNED_OUT = "signed_out", "Signed out"
    IDLE = "idle", "Idle timeout"
    ABSOLUTE = "absolute", "Session lifetime reached"
    CARD_CANCELLED = "card_cancelled", "Card cancelled"
    CARD_REMOVED = "card_removed", "Card removed from the reader"
    CERTIFICATE_REVOKED = "certificate_revoked", "Certificate revoked"
    PERSON_CLOSED = "person_closed", "Profile closed"
    AUTHENTICATOR_REMOVED = "authenticator_removed", "Authenticator removed"
    ENDED_BY_ADMIN = "ended_by_admin", "Ended by an administrator"
    RP_LOGOUT = "rp_logout", "Signed out from a clinical system"


class SignInSession(models.Model):
    """Who signed in, with which card or authenticator, in which role, from where, how strongly."""

    ref = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signin_sessions"
    )
    method = models.CharField(max_length=20, choices=SignInMethod.choices)
    card_serial = models.CharField(max_length=64, blank=True, db_index=True)
    # The smartcards app's id for the card (kept as a number so sign-in never locks card rows).
    card_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    certificate_serial = models.CharField(max_length=64, blank=True, db_index=True)
    authenticator = models.ForeignKey(
        "signin.WebAuthnCredential",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sessions",
    )
    selected_assignment = models.ForeignKey(
        PositionAssignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    selected_at = models.DateTimeField(null=True, blank=True)
    workstation = models.CharField(max_length=100, blank=True)
    client_address = models.CharField(max_length=45, blank=True)
    acr = models.CharField(max_length=40)
    amr = models.JSONField(default=list)
    auth_time = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True, db_index=True)
    end_reason = models.CharField(max_length=24, choices=EndReason.choices, blank=True)
    django_session_key = models.CharField(max_length=40, blank=True)
    agent_token_digest = models.CharField(max_length=64, blank=True, db_index=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Set when the same card was found in use at another workstation at the same time.
    shared_card_flagged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-auth_time"]
        indexes = [models.Index(fields=["person", "ended_at"])]

    def __str__(self) -> str:
        return f"Session {self.ref} of {self.person_id}"

    @property
    def is_live(self) -> bool:
        return self.ended_at is None


class SignInTicket(models.Model):
    """A one-time link that hands a session made by the agent over to the browser (60 seconds)."""

    digest = models.CharField(max_length=64, unique=True)
    session = models.ForeignKey(SignInSession, on_delete=models.CASCADE, related_name="tickets")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    next_url = models.CharField(max_length=2000, blank=True)

    def __str__(self) -> str:
        return f"Sign-in link for session {self.session_id}"


class WebAuthnCredential(models.Model):
    """A FIDO2 security key or platform authenticator a holder registered for sign-in."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webauthn_credentials"
    )
    credential_id = models.BinaryField()
    credential_id_b64 = models.CharField(max_length=1400, unique=True)
    public_key = models.BinaryField()
    sign_count = models.BigIntegerField(default=0)
    aaguid = models.CharField(max_length=36, blank=True)
    # Proven hardware at registration: attestation from a trusted root, an allowed AAGUID.
    hardware = models.BooleanField(default=False)
    name = models.CharField(max_length=60)
    user_verified = models.BooleanField(default=False)
    transports = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.person_id})"


class BackchannelLogout(models.Model):
    """A clinical system to be told, by a signed logout token, when this sign-in session ends.

    OpenID Connect Back-Channel Logout 1.0: one row per (session, client), made when CIS gives
    that client a code for the session (if the client registered a back-channel logout URI).
    The session's end, whatever ends it, marks its rows due in the same transaction (`_end` in
    services.py); the `backchannel-logout` job claims due rows one at a time under a row lock,
    sends each token, and marks it sent in the transaction that claimed it: each relying party
    is told once per session, and a failed delivery is retried with a growing delay.
    """

    session = models.ForeignKey(
        SignInSession, on_delete=models.CASCADE, related_name="backchannel_logouts"
    )
    client_id = models.CharField(max_length=100)
    # The issuer the client's ID tokens named (the logout token must name the same).
    issuer = models.CharField(max_length=300)
    created_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "client_id"], name="signin_backchannel_once_per_client"
            )
        ]
        indexes = [models.Index(fields=["sent_at", "due_at"], name="signin_backchannel_due_idx")]

    def __str__(self) -> str:
        return f"Logout of session {self.session_id} for {self.client_id}"
