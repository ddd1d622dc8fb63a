"""POST /oidc/token: codes and refresh tokens exchanged for tokens (rules in validator.py)."""

from __future__ import annotations

from oauth2_provider.views import RevokeTokenView as ToolkitRevokeTokenView
from oauth2_provider.views import TokenView as ToolkitTokenView


class TokenView(ToolkitTokenView):  # type: ignore[misc]  # the toolkit ships no type hints
    """The toolkit's token endpoint; CisValidator decides grants, PKCE, reuse and lineage."""


class RevokeTokenView(ToolkitRevokeTokenView):  # type: ignore[misc]
    """RFC 7009 revocation, for relying parties signing a person out."""
