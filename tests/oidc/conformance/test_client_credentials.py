"""Client credentials with private_key_jwt (RFC 7523), over real HTTP with Authlib's own
PrivateKeyJWT client authentication, as a system client would call CIS."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey

from tests.live import LiveCis

pytestmark = pytest.mark.timeout(900)


def test_client_credentials_with_private_key_jwt(op: LiveCis, tmp_path: Path) -> None:
    key = ECKey.generate_key("P-256", parameters={"kid": "gateway-1"})
    jwks = tmp_path / "gateway-jwks.json"
    jwks.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    made = json.loads(
        op.cis("oidc", "add-system-client", "--name", "Gateway", "--jwks", str(jwks)).stdout
    )
    client_id = made["client_id"]
    token_url = f"{op.url}/oidc/token"
    with OAuth2Client(
        client_id=client_id,
        client_secret=key,
        token_endpoint_auth_method="private_key_jwt",
        timeout=30,
    ) as system:
        system.register_client_auth_method(PrivateKeyJWT(token_url, alg="ES256"))
        token = system.fetch_token(token_url, grant_type="client_credentials")
        assert token["scope"] == "system"
        described = system.introspect_token(
            f"{op.url}/oidc/introspect", token=token["access_token"]
        ).json()
    assert described["active"] is True
    assert described["sub"] == client_id
    # Without the key: a secret-less request is refused.
    refused = httpx.post(
        token_url, data={"grant_type": "client_credentials", "client_id": client_id}, timeout=30
    )
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
