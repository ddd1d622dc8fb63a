"""The OpenID Foundation's Basic OP plan (oidcc-basic-certification-test-plan), as it applies.

Each test is named after the plan's test module it follows. Those that do not apply to CIS
are listed, with why, in the README ("OpenID Connect conformance").
"""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest

from tests.live import LiveCis

from .rp import REDIRECT_URI, RelyingParty, answer

pytestmark = pytest.mark.timeout(900)


def test_oidcc_server(rp: RelyingParty, holder: str) -> None:
    """The code flow with PKCE; the ID token verifies; userinfo names the same subject."""
    with rp.browser(holder) as browser:
        token = rp.code_flow(browser)
    claims = rp.id_token_claims(token["id_token"])
    assert claims["sub"] == holder
    assert claims["nonce"] == rp.nonce
    assert claims["header"]["alg"] == "ES256"
    info = httpx.get(
        f"{rp.op.url}/oidc/userinfo",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=30,
    )
    assert info.status_code == 200
    assert info.json()["sub"] == holder


def test_oidcc_ensure_post_request_succeeds(rp: RelyingParty, holder: str) -> None:
    """POST to the authorization endpoint, form-encoded, from another site: no CSRF token."""
    with rp.browser(holder) as browser, rp.client() as oauth:
        url, verifier = rp.authorization_url(oauth)
        path, query = url.split("?", 1)
        back = browser.post(
            path, content=query, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert back.status_code == 302, back.text
        got = answer(back.headers["location"])
        assert got["iss"] == rp.issuer
        token = oauth.fetch_token(
            f"{rp.op.url}/oidc/token", code=got["code"], code_verifier=verifier,
            redirect_uri=REDIRECT_URI,
        )  # fmt: skip
    assert rp.id_token_claims(token["id_token"])["sub"] == holder


@pytest.mark.parametrize("how", ["get-header", "post-header", "post-body"])
def test_oidcc_userinfo(rp: RelyingParty, holder: str, how: str) -> None:
    """oidcc-userinfo-get, -post-header, -post-body: all three ways, no CSRF token."""
    with rp.browser(holder) as browser:
        access = rp.code_flow(browser)["access_token"]
        url = f"{rp.op.url}/oidc/userinfo"
        bearer = {"Authorization": f"Bearer {access}"}
        if how == "get-header":
            info = httpx.get(url, headers=bearer, timeout=30)
        elif how == "post-header":
            # From the browser that holds CIS's cookies, as a page's script might.
            info = browser.post(url, headers=bearer)
        else:
            info = browser.post(url, data={"access_token": access})
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == holder
    assert info.json()["family_name"]


def test_userinfo_refuses_the_token_in_the_url(rp: RelyingParty, holder: str) -> None:
    with rp.browser(holder) as browser:
        access = rp.code_flow(browser)["access_token"]
    refused = httpx.get(f"{rp.op.url}/oidc/userinfo", params={"access_token": access}, timeout=30)
    assert refused.status_code == 400


def test_oidcc_prompt_none_not_logged_in(rp: RelyingParty) -> None:
    with rp.op.client() as anonymous, rp.client() as oauth:
        url, _ = rp.authorization_url(oauth, prompt="none")
        back = anonymous.get(url)
    assert back.status_code == 302
    got = answer(back.headers["location"])
    assert got["error"] == "login_required"
    assert got["state"] == rp.state
    assert got["iss"] == rp.issuer  # RFC 9207 on the toolkit's own error too


def test_oidcc_prompt_none_logged_in(rp: RelyingParty, holder: str) -> None:
    with rp.browser(holder) as browser:
        token = rp.code_flow(browser, prompt="none")
    assert rp.id_token_claims(token["id_token"])["sub"] == holder


def test_errors_the_toolkit_finds_carry_iss(rp: RelyingParty, holder: str) -> None:
    """invalid_scope (from django-oauth-toolkit) is redirected with iss, as CIS's own errors."""
    with rp.browser(holder) as browser, rp.client(scope="openid no-such-scope") as oauth:
        url, _ = rp.authorization_url(oauth)
        back = browser.get(url)
    got = answer(back.headers["location"])
    assert got["error"] == "invalid_scope"
    assert got["iss"] == rp.issuer
    assert got["state"] == rp.state


@pytest.mark.parametrize(
    ("parameter", "error"),
    [("request", "invalid_request_object"), ("request_uri", "request_uri_not_supported")],
)
def test_oidcc_unsigned_request_object_rejected_as_unsupported(
    rp: RelyingParty, holder: str, parameter: str, error: str
) -> None:
    """oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported and
    oidcc-request-uri-*: an unsigned (`alg: none`) request object is refused as invalid, a
    request_uri to fetch as unsupported; never silently ignored."""
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(json.dumps({"client_id": rp.client_id}).encode())
    value = (
        f"{header}.{body.rstrip(b'=').decode()}."
        if parameter == "request"
        else ("https://rp.example.nhs.uk/request.jwt")
    )
    with rp.browser(holder) as browser, rp.client() as oauth:
        url, _ = rp.authorization_url(oauth, **{parameter: value})
        back = browser.get(url)
    got = answer(back.headers["location"])
    assert got["error"] == error
    assert got["iss"] == rp.issuer


def test_oidcc_id_token_hint(rp: RelyingParty, holder: str, op: LiveCis) -> None:
    """A hint naming the person signed in succeeds with prompt=none; a forged, unsigned or
    another person's hint does not yield a code."""
    with rp.browser(holder) as browser:
        first = rp.code_flow(browser)["id_token"]
        again = rp.code_flow(browser, prompt="none", id_token_hint=first)
        assert rp.id_token_claims(again["id_token"])["sub"] == holder

        header, payload, signature = first.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        unsigned_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=")
        unsigned = f"{unsigned_header.decode()}.{payload}."
        claims["sub"] = "555555555555"
        tampered_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
        tampered = f"{header}.{tampered_payload.decode()}.{signature}"
        for bad in (unsigned, tampered, "not-a-token"):
            with rp.client() as oauth:
                url, _ = rp.authorization_url(oauth, prompt="none", id_token_hint=bad)
                got = answer(browser.get(url).headers["location"])
            assert "code" not in got
            assert got["error"] == "invalid_request"
            assert got["iss"] == rp.issuer

        other = op.persona("Margaret Whitfield")["user_id"]
    with rp.browser(other) as someone_else, rp.client() as oauth:
        url, _ = rp.authorization_url(oauth, prompt="none", id_token_hint=first)
        got = answer(someone_else.get(url).headers["location"])
    assert "code" not in got
    assert got["error"] == "login_required"


def test_an_id_token_hint_for_another_client_is_refused(
    rp: RelyingParty, holder: str, registered_other: RelyingParty
) -> None:
    other = registered_other.fresh()
    with rp.browser(holder) as browser:
        theirs = other.code_flow(browser)["id_token"]
        with rp.client() as oauth:
            url, _ = rp.authorization_url(oauth, prompt="none", id_token_hint=theirs)
            got = answer(browser.get(url).headers["location"])
    assert got["error"] == "invalid_request"


def test_acr_values_above_the_sign_in_step_up_or_refuse(rp: RelyingParty, holder: str) -> None:
    """The demo's persona sign-in is AAL1: asking for AAL3 sends the person to sign in again
    (with prompt=none: login_required); asking for what the sign-in met gets a code."""
    with rp.browser(holder) as browser:
        token = rp.code_flow(browser, acr_values="AAL1")
        assert rp.id_token_claims(token["id_token"])["acr"] == "AAL1"
        with rp.client() as oauth:
            url, _ = rp.authorization_url(oauth, prompt="none", acr_values="AAL3")
            got = answer(browser.get(url).headers["location"])
            assert got["error"] == "login_required"
            assert got["iss"] == rp.issuer
            url, _ = rp.authorization_url(oauth, acr_values="AAL3")
            step_up = browser.get(url)
        assert step_up.status_code == 302
        assert step_up.headers["location"].startswith("/sign-in/")
        # The step-up signed the weaker session out of this browser.
        assert browser.get("/api/v1/me/").status_code in (401, 403)


def test_oidcc_prompt_select_account_asks_for_the_role(rp: RelyingParty, holder: str) -> None:
    with rp.browser(holder) as browser, rp.client() as oauth:
        url, _ = rp.authorization_url(oauth, prompt="select_account")
        ask = browser.get(url)
        assert ask.status_code == 302
        assert ask.headers["location"].startswith("/signin/role/")
        url, _ = rp.authorization_url(oauth, prompt="none select_account")
        got = answer(browser.get(url).headers["location"])
    assert got["error"] == "invalid_request"


@pytest.mark.parametrize("extra", [{"ui_locales": "cy-GB en-GB"}, {"claims_locales": "en"},
                                   {"display": "page"}, {"login_hint": "someone"},
                                   {"unknown_parameter": "ignored"}])  # fmt: skip
def test_oidcc_optional_parameters_succeed(
    rp: RelyingParty, holder: str, extra: dict[str, str]
) -> None:
    """oidcc-ui-locales, -claims-locales, -display-page, -login-hint,
    -ensure-request-with-unknown-parameter-succeeds."""
    with rp.browser(holder) as browser:
        token = rp.code_flow(browser, **extra)
    assert rp.id_token_claims(token["id_token"])["sub"] == holder


@pytest.mark.parametrize("grant", ["password", "implicit",
                                   "urn:ietf:params:oauth:grant-type:device_code",
                                   "device_code", ""])  # fmt: skip
def test_only_supported_grant_types_are_accepted(rp: RelyingParty, grant: str) -> None:
    """Unsupported grants are refused with the OAuth error, before any client check or hashing."""
    answer_ = httpx.post(
        f"{rp.op.url}/oidc/token",
        data={"grant_type": grant, "username": "x", "password": "y"},
        auth=(rp.client_id, rp.client_secret),
        timeout=30,
    )
    assert answer_.status_code == 400, answer_.text
    expected = "invalid_request" if not grant else "unsupported_grant_type"
    assert answer_.json()["error"] == expected


def test_oidcc_codereuse(rp: RelyingParty, holder: str) -> None:
    with rp.browser(holder) as browser, rp.client() as oauth:
        url, verifier = rp.authorization_url(oauth)
        code = answer(browser.get(url).headers["location"])["code"]
        data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                "redirect_uri": REDIRECT_URI}  # fmt: skip
        auth = (rp.client_id, rp.client_secret)
        first = httpx.post(f"{rp.op.url}/oidc/token", data=data, auth=auth, timeout=30)
        assert first.status_code == 200
        second = httpx.post(f"{rp.op.url}/oidc/token", data=data, auth=auth, timeout=30)
        assert second.status_code == 400
        assert second.json()["error"] == "invalid_grant"
        # The first exchange's access token was revoked with it.
        bearer = {"Authorization": f"Bearer {first.json()['access_token']}"}
        revoked = httpx.get(f"{rp.op.url}/oidc/userinfo", headers=bearer, timeout=30)
        assert revoked.status_code == 401


def test_oidcc_max_age_1(rp: RelyingParty, holder: str) -> None:
    """A sign-in older than max_age: login_required with prompt=none, else sign in again."""
    with rp.browser(holder) as browser, rp.client() as oauth:
        rp.code_flow(browser)  # the demo's sign-in session starts at its first authorization
        time.sleep(2)  # the sign-in must be older than max_age; nothing is timed
        url, _ = rp.authorization_url(oauth, max_age="1", prompt="none")
        got = answer(browser.get(url).headers["location"])
        assert got["error"] == "login_required"
        assert got["iss"] == rp.issuer
        url, _ = rp.authorization_url(oauth, max_age="1")
        again = browser.get(url)
    assert again.status_code == 302
    assert again.headers["location"].startswith("/sign-in/")


def test_oidcc_max_age_10000(rp: RelyingParty, holder: str) -> None:
    with rp.browser(holder) as browser:
        token = rp.code_flow(browser, max_age="10000")
    claims = rp.id_token_claims(token["id_token"])
    assert claims["auth_time"] <= claims["iat"]


def test_oidcc_prompt_login(rp: RelyingParty, holder: str) -> None:
    """prompt=login signs the browser out and sends the person to sign in again."""
    with rp.browser(holder) as browser, rp.client() as oauth:
        rp.code_flow(browser)
        url, _ = rp.authorization_url(oauth, prompt="login")
        again = browser.get(url)
        assert again.status_code == 302
        assert again.headers["location"].startswith("/sign-in/")
        assert browser.get("/api/v1/me/").status_code in (401, 403)


def test_oidcc_claims_essential(rp: RelyingParty, holder: str) -> None:
    """Claims asked for by name (Core §5.5), beyond the scopes: released where asked."""
    asked = {
        "userinfo": {"nhsid_nrbac_roles": {"essential": True}},
        "id_token": {"nhsid_user_orgs": None},
    }
    with rp.browser(holder) as browser:
        token = rp.code_flow(browser, claims=json.dumps(asked))
    claims = rp.id_token_claims(token["id_token"])
    assert claims["nhsid_user_orgs"], claims
    assert "nhsid_nrbac_roles" not in claims
    info = httpx.get(
        f"{rp.op.url}/oidc/userinfo",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=30,
    ).json()
    assert info["nhsid_nrbac_roles"] and "nhsid_user_orgs" not in info


def test_oidcc_claims_acr_essential_above_the_sign_in(rp: RelyingParty, holder: str) -> None:
    """An essential acr the sign-in does not meet: with prompt=none, login_required."""
    asked = {"id_token": {"acr": {"essential": True, "values": ["AAL3"]}}}
    with rp.browser(holder) as browser, rp.client() as oauth:
        url, _ = rp.authorization_url(oauth, prompt="none", claims=json.dumps(asked))
        got = answer(browser.get(url).headers["location"])
    assert got["error"] == "login_required"
