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

    def __str__(self) -> str:
        return f"Token {self.access_token_id} of session {self.session_id}"
