"""OIDF Basic OP plan, authorization: response types, redirect URIs, PKCE, prompt, max_age."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from django.test import Client

from cis.oidc.clients import NewClient
from cis.signin.models import SignInSession

from .flow import Attempt
from .support import REDIRECT_URI, Holder, browser_signed_in, holder, query

pytestmark = pytest.mark.django_db


def _error_at_redirect(response: object, error: str, state: str) -> None:
    assert response.status_code == 302, response.content  # type: ignore[attr-defined]
    location = response["Location"]  # type: ignore[index]
    assert location.startswith(REDIRECT_URI + "?")
    answer = query(location)
    assert answer["error"] == error
    assert answer["state"] == state
    assert "code" not in answer


def test_response_type_missing_is_an_error(rp: NewClient, asha: Holder) -> None:
    """oidcc-response-type-missing: an error, at the client or on screen, never a code."""
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    response = attempt.authorize(browser, response_type=None)
    if response.status_code == 302:
        assert "code=" not in response["Location"]
        assert query(response["Location"])["error"] in (
            "invalid_request",
            "unsupported_response_type",
        )
    else:
        assert response.status_code == 400


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token", "id_token token"])
def test_only_the_code_flow_is_offered(rp: NewClient, asha: Holder, response_type: str) -> None:
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    response = attempt.authorize(browser, response_type=response_type)
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        location = response["Location"]
        assert "access_token" not in location and "id_token=" not in location
        assert "code=" not in location


@pytest.mark.parametrize(
    "variant",
    [
        "https://attacker.example/callback",
        REDIRECT_URI + "/",  # trailing slash
        REDIRECT_URI.replace("callback", "Callback"),  # case of the path
        REDIRECT_URI.replace("prescribing", "PRESCRIBING"),  # case of the host
        REDIRECT_URI + "?extra=1",  # extra query
        REDIRECT_URI + "#fragment",  # fragment
        "http://prescribing.example.nhs.uk/callback",  # scheme
    ],
)
def test_unregistered_redirect_uris_are_never_followed(
    rp: NewClient, asha: Holder, variant: str
) -> None:
    """oidcc-ensure-registered-redirect-uri and its variants: shown an error, not redirected."""
    browser, _ = browser_signed_in(asha.person)
    response = Attempt(rp).authorize(browser, redirect_uri=variant)
    assert response.status_code == 400
    assert b"could not continue" in response.content


def test_missing_redirect_uri_is_refused(rp: NewClient, asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    response = Attempt(rp).authorize(browser, redirect_uri=None)
    assert response.status_code == 400


def test_unknown_client_is_refused(rp: NewClient, asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    response = Attempt(rp).authorize(browser, client_id="nobody")
    assert response.status_code == 400


def test_pkce_is_required(rp: NewClient, asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    response = attempt.authorize(browser, code_challenge=None, code_challenge_method=None)
    _error_at_redirect(response, "invalid_request", attempt.state)


def test_pkce_plain_is_refused(rp: NewClient, asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    response = attempt.authorize(
        browser, code_challenge=attempt.verifier, code_challenge_method="plain"
    )
    _error_at_redirect(response, "invalid_request", attempt.state)


def test_pkce_wrong_or_missing_verifier_gets_no_tokens(rp: NewClient, asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    response = attempt.exchange(attempt.code(browser), verifier="x" * 64)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    response = attempt.exchange(attempt.code(browser), verifier=None)
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_request", "invalid_grant")


def test_pkce_right_verifier_gets_tokens(rp: NewClient, asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    response = attempt.exchange(attempt.code(browser))
    assert response.status_code == 200
    assert {"access_token", "id_token", "refresh_token"} <= set(response.json())


def test_authorization_response_names_the_issuer(rp: NewClient, asha: Holder) -> None:
    """RFC 9207: iss in the authorization response, so a client can detect mix-up."""
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    response = attempt.authorize(browser)
    assert query(response["Location"])["iss"] == "http://testserver"


def test_prompt_none_when_not_signed_in(rp: NewClient) -> None:
    """oidcc-prompt-none-not-logged-in: login_required at the client, with state."""
    attempt = Attempt(rp)
    response = attempt.authorize(Client(), prompt="none")
    _error_at_redirect(response, "login_required", attempt.state)


def test_prompt_none_when_signed_in_issues_a_code(rp: NewClient, asha: Holder) -> None:
    """oidcc-prompt-none-logged-in."""
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    assert attempt.code(browser, prompt="none")


def test_not_signed_in_goes_to_sign_in_and_comes_back(rp: NewClient, asha: Holder) -> None:
    browser = Client()
    attempt = Attempt(rp)
    response = attempt.authorize(browser)
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/")
    # The agent signs in; its one-time link, opened in this browser, returns to the request.
    browser, _ = browser_signed_in(asha.person, browser)
    follow = browser.get("/")  # any page: the hand-off already redirected
    assert follow.status_code in (200, 302)


def test_sign_in_link_returns_to_the_pending_authorization(rp: NewClient, asha: Holder) -> None:
    from cis.signin.services import session_ticket_issue

    from .support import smartcard_session

    browser = Client()
    attempt = Attempt(rp)
    attempt.authorize(browser)
    secret = session_ticket_issue(session=smartcard_session(asha.person))
    response = browser.post(f"/signin/ticket/{secret}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/oidc/authorize?")
    assert browser.get(response["Location"])["Location"].startswith(REDIRECT_URI + "?code=")


def test_prompt_login_forces_a_new_sign_in(rp: NewClient, asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    response = Attempt(rp).authorize(browser, prompt="login")
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/")
    assert "prompt" not in response["Location"]


def test_max_age_within_the_limit_issues_a_code(
    rp: NewClient, asha: Holder, travel: Callable[[float], None]
) -> None:
    browser, session = browser_signed_in(asha.person)
    travel(5)
    attempt = Attempt(rp)
    token = attempt.exchange(attempt.code(browser, max_age="3600")).json()
    import base64
    import json

    claims = json.loads(base64.urlsafe_b64decode(token["id_token"].split(".")[1] + "=="))
    assert claims["auth_time"] == int(session.auth_time.timestamp())


def test_max_age_exceeded_requires_signing_in_again(
    rp: NewClient, asha: Holder, travel: Callable[[float], None]
) -> None:
    """oidcc-max-age-1: after a second the person must authenticate again."""
    browser, _ = browser_signed_in(asha.person)
    travel(2)
    response = Attempt(rp).authorize(browser, max_age="1")
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/")
    attempt = Attempt(rp)
    browser, _ = browser_signed_in(asha.person)
    travel(2)
    response = attempt.authorize(browser, max_age="1", prompt="none")
    _error_at_redirect(response, "login_required", attempt.state)


def test_holder_with_two_roles_chooses_one(rp: NewClient) -> None:
    two = holder(positions=2)
    browser, _ = browser_signed_in(two.person)
    attempt = Attempt(rp)
    response = attempt.authorize(browser)
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/role/?")
    page = browser.get(response["Location"])
    assert page.status_code == 200
    assert b"Choose the role you are working in" in page.content
    chosen = two.assignments[1]
    done = browser.post(
        "/signin/role/",
        {"assignment": str(chosen.pk), "next": query(response["Location"])["next"]},
    )
    assert done.status_code == 302
    callback = browser.get(done["Location"])
    code = query(callback["Location"])["code"]
    token = attempt.exchange(code).json()
    import base64
    import json

    claims = json.loads(base64.urlsafe_b64decode(token["id_token"].split(".")[1] + "=="))
    assert claims["selected_roleid"] == str(chosen.pk)
    assert len(claims["nhsid_nrbac_roles"]) == 2


def test_prompt_none_without_a_role_needs_interaction(rp: NewClient) -> None:
    two = holder(positions=2)
    browser, _ = browser_signed_in(two.person)
    attempt = Attempt(rp)
    response = attempt.authorize(browser, prompt="none")
    _error_at_redirect(response, "interaction_required", attempt.state)


def test_cannot_choose_someone_elses_role(rp: NewClient) -> None:
    two = holder(positions=2)
    other = holder()
    browser, _ = browser_signed_in(two.person)
    response = browser.post("/signin/role/", {"assignment": str(other.assignments[0].pk)})
    assert response.status_code == 400
    assert SignInSession.objects.get(person=two.person).selected_assignment_id is None


def test_authorize_url_is_not_an_open_redirect_for_unknown_clients(asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    params = {"response_type": "code", "client_id": "x", "redirect_uri": "https://evil.example/"}
    response = browser.get("/oidc/authorize?" + urlencode(params))
    assert response.status_code == 400
