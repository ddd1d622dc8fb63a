"""Sign-in: smartcard challenge-response, sign-in sessions, role selection and WebAuthn."""
