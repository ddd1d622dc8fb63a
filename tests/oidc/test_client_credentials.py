"""Client credentials (RFC 6749 §4.4) with private_key_jwt client authentication (RFC 7523)."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from cis.authz.policy import CONSOLE
from cis.core.errors import NotPermitted, ValidationFailed
from cis.oidc.clients import NewClient, oidc_system_client_add
from cis.oidc.constants import JWT_BEARER
from cis.rights.models import Right
from tests.factories.directory import PersonFactory, RightGrantFactory

pytestmark = pytest.mark.django_db
TOKEN_URL = "http://testserver/oidc/token"


@pytest.fixture
def key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "system-1"})


@pytest.fixture
def system(key: ECKey) -> str:
    made = oidc_system_client_add(
        actor=CONSOLE, name="Dispensing gateway", jwks={"keys": [key.as_dict(private=False)]}
    )
    return str(made.client_id)


def _assertion(client_id: str, key: Any, alg: str = "ES256", **changes: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
        **changes,
    }
    return jwt.encode({"alg": alg, "kid": "system-1"}, claims, key, algorithms=[alg])


def _token(assertion: str, **data: str) -> HttpResponse:
    response: HttpResponse = Client().post(
        "/oidc/token",
        {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": assertion,
            **data,
        },
    )
    return response


def test_a_system_client_gets_its_own_token_with_its_key(system: str, key: ECKey) -> None:
    response = _token(_assertion(system, key))
    assert response.status_code == 200, response.content
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "system"
    assert "refresh_token" not in token and "id_token" not in token
    # No person behind it: userinfo has nobody to describe.
    bearer = f"Bearer {token['access_token']}"
    assert Client().get("/oidc/userinfo", HTTP_AUTHORIZATION=bearer).status_code == 401
    # A resource server introspects it (authenticating the same way).
    described = (
        Client()
        .post(
            "/oidc/introspect",
            {
                "token": token["access_token"],
                "client_assertion_type": JWT_BEARER,
                "client_assertion": _assertion(system, key, aud="http://testserver"),
            },
        )
        .json()
    )
    assert described["active"] is True
    assert described["sub"] == described["client_id"] == system
    assert described["scope"] == "system"


def test_a_used_assertion_is_refused(system: str, key: ECKey) -> None:
    assertion = _assertion(system, key)
    assert _token(assertion).status_code == 200
    again = _token(assertion)
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "case", ["other key", "hs256", "expired", "too long", "other audience", "other subject"]
)
def test_assertions_that_prove_nothing_are_refused(system: str, key: ECKey, case: str) -> None:
    now = int(time.time())
    if case == "other key":
        assertion = _assertion(system, ECKey.generate_key("P-256"))
    elif case == "hs256":
        assertion = _assertion(system, OctKey.generate_key(256), alg="HS256")
    elif case == "expired":
        assertion = _assertion(system, key, exp=now - 5)
    elif case == "too long":
        assertion = _assertion(system, key, exp=now + 2 * 3600)
    elif case == "other audience":
        assertion = _assertion(system, key, aud="https://elsewhere.example.com/token")
    else:
        assertion = _assertion(system, key, sub="someone-else")
    response = _token(assertion)
    assert response.status_code == 401, case
    assert response.json()["error"] == "invalid_client"


def test_only_the_system_scope(system: str, key: ECKey) -> None:
    response = _token(_assertion(system, key), scope="openid profile")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_a_clinical_systems_client_cannot_use_client_credentials(rp: NewClient) -> None:
    basic = base64.b64encode(f"{rp.application.client_id}:{rp.client_secret}".encode()).decode()
    response = Client().post(
        "/oidc/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("unauthorized_client", "invalid_client")
    assert "access_token" not in response.json()


def test_an_rs256_key_works_too() -> None:
    rsa = RSAKey.generate_key(2048, parameters={"kid": "system-1"})
    client_id = oidc_system_client_add(
        actor=CONSOLE, name="Records feed", jwks={"keys": [rsa.as_dict(private=False)]}
    ).client_id
    assert _token(_assertion(client_id, rsa, alg="RS256")).status_code == 200


@pytest.mark.parametrize("jwks", [{}, {"keys": []}, "x", "private", "shared"])
def test_registration_takes_only_public_keys(key: ECKey, jwks: Any) -> None:
    if jwks == "private":
        jwks = {"keys": [key.as_dict(private=True)]}
    elif jwks == "shared":
        jwks = {"keys": [OctKey.generate_key(256).as_dict()]}
    with pytest.raises(ValidationFailed):
        oidc_system_client_add(actor=CONSOLE, name="Bad", jwks=jwks)


def test_discovery_names_the_grant_and_the_method() -> None:
    document = Client().get("/.well-known/openid-configuration").json()
    assert "client_credentials" in document["grant_types_supported"]
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]
    assert "HS256" not in document["token_endpoint_auth_signing_alg_values_supported"]


def test_only_the_service_desk_registers_system_clients(key: ECKey) -> None:
    manager = PersonFactory()
    RightGrantFactory(person=manager, right=Right.RA_MANAGER)
    with pytest.raises(NotPermitted):
        oidc_system_client_add(
            actor=manager, name="Gateway", jwks={"keys": [key.as_dict(private=False)]}
        )
