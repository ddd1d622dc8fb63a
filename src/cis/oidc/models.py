"""What the toolkit does not keep: which sign-in each code and token came from, and code reuse."""

from __future__ import annotations

from django.db import models

from cis.signin.models import SignInSession


class CodeIssue(models.Model):
    """An authorization code, kept (as a digest) after use so that a replay can be recognised.

    The toolkit deletes a code once exchanged; RFC 6749 §4.1.2 asks that a second exchange
    revoke the tokens the first produced, which needs this record of the code's lineage.
    """

    digest = models.CharField(max_length=64, unique=True)
    client_id = models.CharField(max_length=100)
    session = models.ForeignKey(
        SignInSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)
    token_family = models.UUIDField(null=True, blank=True)
    replayed_at = models.DateTimeField(null=True, blank=True)
    # The authorization request's `claims` parameter (Core §5.5), for every token of the lineage:
    # refreshed ID tokens and userinfo release what it asked for, as the first exchange did.
    claims = models.JSONField(null=True, blank=True)
    # RFC 9449 §5: a public client's refresh tokens are bound to the DPoP key (its RFC 7638
    # thumbprint) that the first exchange proved; each refresh must prove the same key.
    dpop_jkt = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["created_at"]),
            # A refresh finds its code by the refresh-token family: without this, a scan.
            models.Index(fields=["token_family"], name="oidc_codeissue_family_idx"),
        ]

    def __str__(self) -> str:
        return f"Code for {self.client_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class TokenLink(models.Model):
    """An access token's sign-in session and the code it descends from (through refreshes)."""

    access_token = models.OneToOneField(
        "oauth2_provider.AccessToken", on_delete=models.CASCADE, related_name="cis_link"
    )
    code_issue = models.ForeignKey(
        CodeIssue, null=True, blank=True, on_delete=models.SET_NULL, related_name="tokens"
    )
    session = models.ForeignKey(
        SignInSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # RFC 9449: the thumbprint (RFC 7638) of the DPoP key this token is bound to (its cnf.jkt);
    # empty for a bearer token.
    dpop_jkt = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"Token {self.access_token_id} of session {self.session_id}"


class RetiredClient(models.Model):
    """A clinical system's client that the service desk retired: gone from the toolkit's table
    (with its tokens and grants), remembered here so its id is never mistaken for a live one."""

    client_id = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=255)
    redirect_uris = models.TextField(blank=True)
    registered_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField()
    retired_by_ref = models.CharField(max_length=40)
    retired_by_name = models.CharField(max_length=200)
    reason = models.CharField(max_length=500)

    class Meta:
        ordering = ["-retired_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id}, retired)"


class ClientRegistration(models.Model):
    """A client's registration metadata that the toolkit's Application has no field for."""

    application = models.OneToOneField(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="cis_registration"
    )
    # OpenID Connect Back-Channel Logout 1.0 §2.2.
    backchannel_logout_uri = models.CharField(max_length=2000, blank=True)
    backchannel_logout_session_required = models.BooleanField(default=False)
    # private_key_jwt (RFC 7523): the public keys (a JWK set) the client signs assertions with.
    jwks = models.JSONField(null=True, blank=True)
    # RFC 9126 §6: this client's authorization requests must come through PAR.
    require_pushed_authorization_requests = models.BooleanField(default=False)
    # RFC 9101 §10.5: this client's authorization requests must be signed request objects.
    require_signed_request_object = models.BooleanField(default=False)
    # RFC 9449 §5.2: this client always uses DPoP; a token request without a proof is refused.
    dpop_bound_access_tokens = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"Registration of client {self.application_id}"


class ClientAssertionUse(models.Model):
    """A client assertion (RFC 7523) already used: its `jti` is never accepted twice while it
    could still be valid (RFC 7523 §3 item 7)."""

    digest = models.CharField(max_length=64, unique=True)  # of client id and jti
    client_id = models.CharField(max_length=100)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"Assertion of {self.client_id} until {self.expires_at:%H:%M:%S}"


class PushedRequest(models.Model):
    """An authorization request a client pushed (RFC 9126), named by the request_uri it was
    given. Usable by /oidc/authorize until PUSHED_REQUEST_SECONDS after the push; once a browser
    arrives with it, for as long as a sign-in may take (PUSHED_REQUEST_SIGN_IN_SECONDS); spent
    for good by the authorization response (a code or an error), so never used twice."""

    digest = models.CharField(max_length=64, unique=True)  # of the request_uri, never kept
    client_id = models.CharField(max_length=100)
    params = models.JSONField()
    signed = models.BooleanField(default=False)  # pushed as a signed request object
    expires_at = models.DateTimeField(db_index=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Pushed request of {self.client_id} until {self.expires_at:%H:%M:%S}"


class DPoPProofUse(models.Model):
    """A DPoP proof already used (RFC 9449 §11.1): its `jti` is never accepted twice for the same
    key while the proof's iat is still inside the window CIS accepts."""

    digest = models.CharField(max_length=64, unique=True)  # of the key's thumbprint and the jti
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"DPoP proof until {self.expires_at:%H:%M:%S}"
