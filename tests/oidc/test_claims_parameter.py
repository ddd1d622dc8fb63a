"""The `claims` request parameter (OpenID Connect Core §5.5): claims asked for by name."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client

from cis.oidc.clients import NewClient

from .flow import Attempt, token_request
from .support import Holder, browser_signed_in, query

pytestmark = pytest.mark.django_db

ASKED = {
    "id_token": {"given_name": None, "nhsid_useruid": {"essential": True}, "unknown": None},
    "userinfo": {"family_name": None, "nhsid_nrbac_roles": {"essential": True}},
}


def _payload(jwt: str) -> dict[str, object]:
    claims: dict[str, object] = json.loads(base64.urlsafe_b64decode(jwt.split(".")[1] + "=="))
    return claims


def _userinfo(access_token: str) -> dict[str, object]:
    answer = Client().get("/oidc/userinfo", HTTP_AUTHORIZATION=f"Bearer {access_token}")
    assert answer.status_code == 200
    found: dict[str, object] = answer.json()
    return found


def test_claims_asked_for_are_released_where_asked_and_only_there(
    rp: NewClient, asha: Holder
) -> None:
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    code = attempt.code(browser, scope="openid", claims=json.dumps(ASKED))
    tokens = attempt.exchange(code).json()
    id_token = _payload(tokens["id_token"])
    assert id_token["given_name"] == asha.person.given_name
    assert id_token["nhsid_useruid"] == asha.person.user_id
    assert "family_name" not in id_token and "unknown" not in id_token
    assert "nhsid_nrbac_roles" not in id_token
    info = _userinfo(tokens["access_token"])
    assert info["family_name"] == asha.person.family_name
    roles = info["nhsid_nrbac_roles"]
    assert isinstance(roles, list) and len(roles) == 1
    assert "given_name" not in info and "name" not in info

    # A refresh keeps what the authorization request asked for.
    refreshed = token_request(
        rp, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    ).json()
    assert _payload(refreshed["id_token"])["given_name"] == asha.person.given_name
    assert _userinfo(refreshed["access_token"])["family_name"] == asha.person.family_name


def test_without_the_parameter_only_the_scopes_decide(rp: NewClient, asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    attempt = Attempt(rp)
    tokens = attempt.exchange(attempt.code(browser, scope="openid")).json()
    assert "given_name" not in _payload(tokens["id_token"])
    assert set(_userinfo(tokens["access_token"])) == {"sub"}


@pytest.mark.parametrize("bad", ["not json", "[]", '{"id_token": 3}', '{"access": {}}'])
def test_a_malformed_claims_parameter_is_invalid_request(
    rp: NewClient, asha: Holder, bad: str
) -> None:
    browser, _ = browser_signed_in(asha.person)
    response = Attempt(rp).authorize(browser, claims=bad)
    assert response.status_code == 302
    assert query(response["Location"])["error"] == "invalid_request"


def test_an_acr_asked_in_the_claims_parameter_is_met_like_acr_values(
    rp: NewClient, asha: Holder
) -> None:
    browser, _ = browser_signed_in(asha.person)  # a card sign-in: AAL3
    met = {"id_token": {"acr": {"essential": True, "values": ["AAL3"]}}}
    tokens = Attempt(rp)
    code = tokens.code(browser, claims=json.dumps(met))
    assert _payload(tokens.exchange(code).json()["id_token"])["acr"] == "AAL3"


def test_discovery_says_claims_and_locales() -> None:
    document = Client().get("/.well-known/openid-configuration").json()
    assert document["claims_parameter_supported"] is True
    assert document["ui_locales_supported"] == ["en-GB"]
