"""Token introspection (RFC 7662) as a resource server meets it, over real HTTP with Authlib."""

from __future__ import annotations

import httpx
import pytest

from .rp import LOGOUT_URI, RelyingParty

pytestmark = pytest.mark.timeout(900)


def test_introspection_endpoint_is_discovered(rp: RelyingParty) -> None:
    document = httpx.get(f"{rp.op.url}/.well-known/openid-configuration", timeout=30).json()
    assert document["introspection_endpoint"] == f"{rp.op.url}/oidc/introspect"


def test_introspection_of_active_and_ended_tokens(
    rp: RelyingParty, registered_other: RelyingParty, holder: str
) -> None:
    """Active while the sign-in lasts, with who and how; afterwards only `active: false`."""
    url = f"{rp.op.url}/oidc/introspect"
    with rp.browser(holder) as browser:
        token = rp.code_flow(browser)
        with rp.client() as oauth:
            answer = oauth.introspect_token(url, token=token["access_token"]).json()
            assert answer["active"] is True
            assert answer["sub"] == holder
            assert answer["client_id"] == rp.client_id
            assert answer["iss"] == rp.issuer
            assert answer["acr"] == "AAL1"  # the demo's persona sign-in
            refresh = oauth.introspect_token(
                url, token=token["refresh_token"], token_type_hint="refresh_token"
            ).json()
            assert refresh["active"] is True
            assert refresh["token_type"] == "refresh_token"
        # Another clinical system learns nothing of this client's token.
        with registered_other.client() as other:
            assert other.introspect_token(url, token=token["access_token"]).json() == {
                "active": False
            }
        # Without the client's secret: refused, and nothing about the token.
        anonymous = httpx.post(url, data={"token": token["access_token"]}, timeout=30)
        assert anonymous.status_code == 401
        assert "active" not in anonymous.json()
        # The person signs out of CIS: the tokens are no longer active.
        out = browser.get(
            "/oidc/logout",
            params={"id_token_hint": token["id_token"], "post_logout_redirect_uri": LOGOUT_URI},
        )
        assert out.status_code == 302, out.text
    with rp.client() as oauth:
        for value in (token["access_token"], token["refresh_token"]):
            assert oauth.introspect_token(url, token=value).json() == {"active": False}
