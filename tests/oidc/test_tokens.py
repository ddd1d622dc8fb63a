"""OIDF Basic OP plan, token side: code reuse and expiry, refresh, userinfo, ID token, logout."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from django.test import Client
from joserfc import jwt
from joserfc.jwk import KeySet
from oauth2_provider.models import AccessToken, RefreshToken

from cis.oidc.clients import NewClient
from cis.signin.models import EndReason, SignInSession
from cis.signin.services import sessions_end_for_card, sessions_end_for_person

from .flow import Attempt, token_request
from .support import LOGOUT_URI, Holder, browser_signed_in, http

pytestmark = pytest.mark.django_db


def _tokens(rp: NewClient, browser: Client) -> dict[str, str]:
    attempt = Attempt(rp)
    response = attempt.exchange(attempt.code(browser))
    assert response.status_code == 200, response.content
    tokens: dict[str, str] = response.json()
    return tokens


def _userinfo(access_token: str) -> int:
    return Client().get("/oidc/userinfo", HTTP_AUTHORIZATION=f"Bearer {access_token}").status_code


def _claims(id_token: str) -> dict[str, object]:
    claims: dict[str, object] = json.loads(base64.urlsafe_b64decode(id_token.split(".")[1] + "=="))
    return claims


def test_code_reuse_at_once_is_refused_and_revokes_its_tokens(rp: NewClient, asha: Holder) -> None:
    """oidcc-codereuse: the second exchange fails and the first exchange's tokens die."""
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    code = attempt.code(browser)
    first = attempt.exchange(code)
    assert first.status_code == 200
    tokens = first.json()
    assert _userinfo(tokens["access_token"]) == 200
    second = attempt.exchange(code)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert _userinfo(tokens["access_token"]) == 401
    refreshed = token_request(
        rp, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 400


def test_code_reuse_after_30_seconds(
    rp: NewClient, asha: Holder, travel: Callable[[float], None]
) -> None:
    """oidcc-codereuse-30seconds."""
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    code = attempt.code(browser)
    tokens = attempt.exchange(code).json()
    travel(30)
    assert attempt.exchange(code).json()["error"] == "invalid_grant"
    assert _userinfo(tokens["access_token"]) == 401


def test_code_lives_at_most_60_seconds(
    rp: NewClient, asha: Holder, travel: Callable[[float], None]
) -> None:
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    code = attempt.code(browser)
    travel(61)
    response = attempt.exchange(code)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_is_bound_to_its_client(rp: NewClient, asha: Holder) -> None:
    from .support import new_client

    other = new_client(name="Another system")
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    code = attempt.code(browser)
    stolen = Attempt(other, verifier=attempt.verifier)
    assert stolen.exchange(code).status_code in (400, 401)
    assert attempt.exchange(code).status_code == 200  # the rightful client is unaffected


def test_code_needs_the_same_redirect_uri(rp: NewClient, asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    response = attempt.exchange(attempt.code(browser), redirect_uri="https://other.example/cb")
    assert response.status_code == 400


def test_wrong_client_secret_is_refused(rp: NewClient, asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    code = attempt.code(browser)
    forged = NewClient(application=rp.application, client_secret="not-the-secret")
    response = Attempt(forged, verifier=attempt.verifier).exchange(code)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_refresh_rotates_and_a_replayed_refresh_token_kills_the_family(
    rp: NewClient, asha: Holder
) -> None:
    """oidcc-refresh-token: a new pair each time; the old refresh token works no more."""
    browser, _ = browser_signed_in(asha.person)
    tokens = _tokens(rp, browser)
    response = token_request(
        rp, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert response.status_code == 200, response.content
    renewed = response.json()
    assert renewed["refresh_token"] != tokens["refresh_token"]
    assert renewed["access_token"] != tokens["access_token"]
    assert _claims(renewed["id_token"])["sub"] == asha.person.user_id
    assert _userinfo(renewed["access_token"]) == 200
    assert _userinfo(tokens["access_token"]) == 401
    replay = token_request(
        rp, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert replay.status_code == 400
    follow_on = token_request(
        rp, {"grant_type": "refresh_token", "refresh_token": renewed["refresh_token"]}
    )
    assert follow_on.status_code == 400  # reuse revoked the whole family


def test_refresh_keeps_the_selected_role_and_assurance(rp: NewClient, asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    tokens = _tokens(rp, browser)
    renewed = token_request(
        rp, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    ).json()
    claims = _claims(renewed["id_token"])
    assert claims["selected_roleid"] == str(asha.assignments[0].pk)
    assert claims["acr"] == "AAL3"


def test_userinfo_by_get_with_header(rp: NewClient, asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    tokens = _tokens(rp, browser)
    response = Client().get("/oidc/userinfo", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert response.status_code == 200
    assert response.json()["sub"] == asha.person.user_id


def test_userinfo_by_post_with_header(rp: NewClient, asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    tokens = _tokens(rp, browser)
    response = Client().post(
        "/oidc/userinfo", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}"
    )
    assert response.status_code == 200
    assert response.json()["sub"] == asha.person.user_id


def test_userinfo_by_post_with_token_in_body(rp: NewClient, asha: Holder) -> None:
    """oidcc-userinfo-post-body."""
    browser, _ = browser_signed_in(asha.person)
    tokens = _tokens(rp, browser)
    response = Client().post("/oidc/userinfo", {"access_token": tokens["access_token"]})
    assert response.status_code == 200
    assert response.json()["sub"] == asha.person.user_id


def test_userinfo_refuses_a_token_in_the_url(rp: NewClient, asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    tokens = _tokens(rp, browser)
    response = Client().get("/oidc/userinfo?" + urlencode({"access_token": tokens["access_token"]}))
    assert response.status_code == 400


def test_userinfo_without_a_token_is_401(db: None) -> None:
    response = Client().get("/oidc/userinfo")
    assert response.status_code == 401


def test_id_token_is_signed_and_an_unsigned_copy_is_rejected(rp: NewClient, asha: Holder) -> None:
    """oidcc-idtoken-unsigned: alg none is never issued, and never accepted back."""
    browser, _ = browser_signed_in(asha.person)
    tokens = _tokens(rp, browser)
    header = json.loads(base64.urlsafe_b64decode(tokens["id_token"].split(".")[0] + "=="))
    assert header["alg"] == "ES256"
    claims = _claims(tokens["id_token"])

    def b64(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    jwks = KeySet.import_key_set(http().get("/oidc/jwks").json())
    with pytest.raises(Exception):  # noqa: B017, PT011 - any refusal will do
        jwt.decode(unsigned, jwks, algorithms=["ES256"])
    # Presented back to CIS as an id_token_hint, it is refused too.
    response = browser.get(
        "/oidc/logout?"
        + urlencode({"id_token_hint": unsigned, "post_logout_redirect_uri": LOGOUT_URI})
    )
    assert response.status_code == 400
    assert SignInSession.objects.get(person=asha.person).ended_at is None


def test_rp_initiated_logout_ends_the_session_and_the_tokens(rp: NewClient, asha: Holder) -> None:
    browser, session = browser_signed_in(asha.person)
    tokens = _tokens(rp, browser)
    response = browser.get(
        "/oidc/logout?"
        + urlencode(
            {
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": LOGOUT_URI,
                "state": "bye",
            }
        )
    )
    assert response.status_code == 302
    assert response["Location"] == LOGOUT_URI + "?state=bye"
    session.refresh_from_db()
    assert session.end_reason == EndReason.RP_LOGOUT
    assert _userinfo(tokens["access_token"]) == 401
    assert browser.get("/signin/role/").status_code == 302  # signed out of CIS too


def test_logout_to_an_unregistered_uri_is_refused(rp: NewClient, asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    tokens = _tokens(rp, browser)
    response = browser.get(
        "/oidc/logout?"
        + urlencode(
            {
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": "https://evil.example/",
            }
        )
    )
    assert response.status_code == 400


def test_tokens_die_with_the_card(rp: NewClient, asha: Holder) -> None:
    browser, session = browser_signed_in(asha.person)
    tokens = _tokens(rp, browser)
    assert sessions_end_for_card(session.card_serial) == 1
    assert _userinfo(tokens["access_token"]) == 401
    refreshed = token_request(
        rp, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 400
    assert browser.get("/signin/role/").status_code == 302  # the browser is signed out


def test_no_code_for_a_closed_profile(rp: NewClient, asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    sessions_end_for_person(asha.person)
    response = Attempt(rp).authorize(browser)
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/")


def test_revocation_endpoint(rp: NewClient, asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    tokens = _tokens(rp, browser)
    basic = base64.b64encode(f"{rp.application.client_id}:{rp.client_secret}".encode()).decode()
    response = Client().post(
        "/oidc/revoke",
        {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 200
    assert RefreshToken.objects.filter(revoked__isnull=True).count() == 0
    assert AccessToken.objects.count() == 0
