"""Sign-in constants: assurance levels, authentication method references, message framing."""

from __future__ import annotations

# NIST SP 800-63B authenticator assurance, as CIS2 states it in `acr`.
ACR_AAL3 = "AAL3"
ACR_AAL2 = "AAL2"
ACR_AAL1 = "AAL1"
ACR_ORDER = {ACR_AAL1: 1, ACR_AAL2: 2, ACR_AAL3: 3}

# RFC 8176 authentication method reference values.
AMR_SMARTCARD = ["sc", "pin", "hwk"]
AMR_TLS_CLIENT_CERT = ["sc", "pin", "hwk", "mtls"]
AMR_WEBAUTHN_VERIFIED = ["hwk", "user"]
AMR_WEBAUTHN_PRESENCE = ["hwk"]
# A security key whose hardware CIS could not confirm (no trusted attestation): software key.
AMR_WEBAUTHN_SOFTWARE = ["swk", "user"]
AMR_DEMO = ["demo"]

# What a card signs is defined once, in cis_wire.messages.signin_message.
NONCE_BYTES = 32  # 256 bits, above the 128 the design asks for
TICKET_SECONDS = 60

# Keys kept in the Django session.
SESSION_REF_KEY = "cis_signin_session"
NEXT_KEY = "cis_signin_next"
WEBAUTHN_CHALLENGE_KEY = "cis_webauthn_challenge"

# Only touch last_seen when it is older than this, so busy pages do not write on every request.
TOUCH_EVERY_SECONDS = 60

# For anyone not yet signed in: what to do, without saying whether an account exists.
GENERIC_FAILURE = (
    "We could not sign you in with this card. Check the card is in the reader and try again; "
    "if it keeps happening, ask your Local Smartcard Administrator or Registration Authority."
)
EXPIRED_ATTEMPT = "This sign-in attempt has expired or was already used: start again."

# Set by the TLS-terminating proxy to SUCCESS when the client certificate verified.
TLS_VERIFY_HEADER = "X-SSL-Client-Verify"
