"""Token introspection (RFC 7662): what a resource server learns of a token, and what not."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from django.http import HttpResponse
from django.test import Client

from cis.oidc.clients import NewClient
from cis.signin.services import sessions_end_for_card

from .flow import Attempt
from .support import Holder, browser_signed_in, new_client

pytestmark = pytest.mark.django_db

INACTIVE = {"active": False}


def _tokens(rp: NewClient, asha: Holder) -> dict[str, str]:
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    response = attempt.exchange(attempt.code(browser))
    assert response.status_code == 200, response.content
    tokens: dict[str, str] = response.json()
    return tokens


def _introspect(rp: NewClient, secret: str | None = None, **data: str) -> HttpResponse:
    basic = base64.b64encode(
        f"{rp.application.client_id}:{secret or rp.client_secret}".encode()
    ).decode()
    response: HttpResponse = Client().post(
        "/oidc/introspect", data=data, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    return response


def test_an_active_access_token_says_who_and_how(rp: NewClient, asha: Holder) -> None:
    tokens = _tokens(rp, asha)
    response = _introspect(rp, token=tokens["access_token"])
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    answer = response.json()
    assert answer["active"] is True
    assert answer["sub"] == asha.person.user_id
    assert answer["client_id"] == rp.application.client_id
    assert answer["token_type"] == "Bearer"
    assert set(answer["scope"].split()) >= {"openid"}
    assert answer["acr"] == "AAL3"
    assert answer["exp"] > answer["iat"]
    assert answer["iss"] == "http://testserver"


def test_a_refresh_token_is_described_too_with_or_without_the_hint(
    rp: NewClient, asha: Holder
) -> None:
    tokens = _tokens(rp, asha)
    for hint in ("refresh_token", "access_token", ""):
        data = {"token": tokens["refresh_token"], **({"token_type_hint": hint} if hint else {})}
        answer = _introspect(rp, **data).json()
        assert answer["active"] is True, hint
        assert answer["token_type"] == "refresh_token"
        assert answer["sub"] == asha.person.user_id


def test_tokens_of_an_ended_sign_in_are_inactive_and_say_nothing_more(
    rp: NewClient, asha: Holder
) -> None:
    tokens = _tokens(rp, asha)
    sessions_end_for_card("SC0001")
    for token in (tokens["access_token"], tokens["refresh_token"]):
        response = _introspect(rp, token=token)
        assert response.status_code == 200
        assert response.json() == INACTIVE


def test_unknown_expired_and_other_clients_tokens_are_just_inactive(
    rp: NewClient, asha: Holder, travel: Callable[[float], None]
) -> None:
    tokens = _tokens(rp, asha)
    other = new_client(name="Another system")
    # A client learns nothing about a token issued to another.
    assert _introspect(other, token=tokens["access_token"]).json() == INACTIVE
    assert _introspect(other, token=tokens["refresh_token"]).json() == INACTIVE
    assert _introspect(rp, token="not-a-token").json() == INACTIVE
    travel(16 * 60)  # past the access token's 15 minutes
    assert _introspect(rp, token=tokens["access_token"]).json() == INACTIVE


def test_the_client_must_authenticate(rp: NewClient, asha: Holder) -> None:
    tokens = _tokens(rp, asha)
    wrong = _introspect(rp, secret="wrong", token=tokens["access_token"])
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    anonymous = Client().post("/oidc/introspect", {"token": tokens["access_token"]})
    assert anonymous.status_code == 401
    assert "active" not in anonymous.json()


def test_only_post_and_the_token_is_required(rp: NewClient, asha: Holder) -> None:
    tokens = _tokens(rp, asha)
    assert Client().get("/oidc/introspect", {"token": tokens["access_token"]}).status_code == 405
    missing = _introspect(rp)
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"


def test_discovery_names_the_endpoint() -> None:
    document = Client().get("/.well-known/openid-configuration").json()
    assert document["introspection_endpoint"] == "http://testserver/oidc/introspect"
    assert "client_secret_basic" in document["introspection_endpoint_auth_methods_supported"]
