"""The OpenID Foundation's RP-Initiated Logout OP plan (oidcc-rp-initiated-logout-certification-
test-plan), over real HTTP: GET and POST, no CSRF token but the confirmation form's own."""

from __future__ import annotations

import httpx
import pytest

from .rp import LOGOUT_URI, RelyingParty, answer

pytestmark = pytest.mark.timeout(900)


def _userinfo(rp: RelyingParty, access: str) -> int:
    bearer = {"Authorization": f"Bearer {access}"}
    return httpx.get(f"{rp.op.url}/oidc/userinfo", headers=bearer, timeout=30).status_code


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_oidcc_rp_initiated_logout(rp: RelyingParty, holder: str, method: str) -> None:
    """With a valid hint: back to the registered URI with the state, the CIS sign-in ended
    and the tokens it gave useless."""
    with rp.browser(holder) as browser:
        token = rp.code_flow(browser)
        params = {
            "id_token_hint": token["id_token"],
            "post_logout_redirect_uri": LOGOUT_URI,
            "state": "bye-123",
        }
        if method == "GET":
            out = browser.get("/oidc/logout", params=params)
        else:
            out = browser.post("/oidc/logout", data=params)
        assert out.status_code == 302, out.text
        assert out.headers["location"].startswith(LOGOUT_URI)
        assert answer(out.headers["location"])["state"] == "bye-123"
        assert _userinfo(rp, token["access_token"]) == 401
        # The browser is signed out of CIS too.
        assert browser.get("/api/v1/me/").status_code in (401, 403)


def test_oidcc_rp_initiated_logout_bad_post_logout_redirect_uri(
    rp: RelyingParty, holder: str
) -> None:
    with rp.browser(holder) as browser:
        token = rp.code_flow(browser)
        for uri in ("https://evil.example.com/", f"{LOGOUT_URI}?added=1", LOGOUT_URI + "/"):
            out = browser.get(
                "/oidc/logout",
                params={"id_token_hint": token["id_token"], "post_logout_redirect_uri": uri},
            )
            assert out.status_code == 400, (uri, out.status_code)
            assert "location" not in out.headers
        assert _userinfo(rp, token["access_token"]) == 200


def test_oidcc_rp_initiated_logout_modified_id_token_hint(rp: RelyingParty, holder: str) -> None:
    with rp.browser(holder) as browser:
        token = rp.code_flow(browser)
        header, payload, signature = token["id_token"].split(".")
        forged = f"{header}.{payload}.{signature[::-1]}"
        out = browser.get(
            "/oidc/logout",
            params={"id_token_hint": forged, "post_logout_redirect_uri": LOGOUT_URI},
        )
        assert out.status_code == 400
        assert "location" not in out.headers
        assert _userinfo(rp, token["access_token"]) == 200


@pytest.mark.parametrize("params", [{}, {"client_id": "registered"}])
def test_oidcc_rp_initiated_logout_no_id_token_hint_asks_first(
    rp: RelyingParty, holder: str, params: dict[str, str]
) -> None:
    """oidcc-rp-initiated-logout-no-params and -no-id-token-hint: without a hint CIS asks the
    person; their confirmation (a form with its CSRF token) signs them out."""
    if params:
        params = {"client_id": rp.client_id, "post_logout_redirect_uri": LOGOUT_URI}
    with rp.browser(holder) as browser:
        token = rp.code_flow(browser)
        asked = browser.get("/oidc/logout", params=params)
        assert asked.status_code == 200
        assert "Sign out of the Care Identity Service?" in asked.text
        assert _userinfo(rp, token["access_token"]) == 200
        form = {**params, "allow": "true"}
        forged = browser.post("/oidc/logout", data=form)
        assert forged.status_code == 403  # the confirmation without its CSRF token
        assert _userinfo(rp, token["access_token"]) == 200
        confirmed = browser.post(
            "/oidc/logout", data={**form, "csrfmiddlewaretoken": browser.cookies["csrftoken"]}
        )
        assert confirmed.status_code == 302
        assert _userinfo(rp, token["access_token"]) == 401


def test_oidcc_rp_initiated_logout_no_state(rp: RelyingParty, holder: str) -> None:
    with rp.browser(holder) as browser:
        token = rp.code_flow(browser)
        out = browser.get(
            "/oidc/logout",
            params={"id_token_hint": token["id_token"], "post_logout_redirect_uri": LOGOUT_URI},
        )
    assert out.status_code == 302
    assert out.headers["location"] == LOGOUT_URI
