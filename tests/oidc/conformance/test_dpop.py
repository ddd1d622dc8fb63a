"""DPoP (RFC 9449), over real HTTP against `cis serve`: the client (Authlib for the protocol,
joserfc to sign its proofs) binds its tokens to a key of its own, proves that key at userinfo,
and each broken or replayed proof, and each bound token used without one, is refused."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from tests.live import LiveCis

from .rp import REDIRECT_URI, RelyingParty

pytestmark = pytest.mark.timeout(900)

ALGS = "ES256 RS256 PS256"


def ath(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class Prover:
    """The client's DPoP key, and the proofs it signs with it (RFC 9449 §4.2)."""

    key: Any = field(default_factory=lambda: ECKey.generate_key("P-256"))
    alg: str = "ES256"

    @property
    def jkt(self) -> str:
        return str(self.key.thumbprint())  # RFC 7638

    def proof(
        self, method: str, url: str, *, access_token: str | None = None, **changes: Any
    ) -> str:
        header = {"typ": "dpop+jwt", "alg": self.alg, "jwk": self.key.as_dict(private=False)}
        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": method,
            "htu": url,
            "iat": int(time.time()),
        }
        if access_token is not None:
            claims["ath"] = ath(access_token)
        claims.update(changes)
        return jwt.encode(header, claims, self.key, algorithms=[self.alg])


def token_url(rp: RelyingParty) -> str:
    return f"{rp.op.url}/oidc/token"


def userinfo_url(rp: RelyingParty) -> str:
    return f"{rp.op.url}/oidc/userinfo"


def exchange(
    rp: RelyingParty, code: str, verifier: str, proof: str | None, *, public: bool = False
) -> httpx.Response:
    """The token request as the client sends it, with its DPoP header (if any)."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": REDIRECT_URI,
    }
    return _token_request(rp, data, proof, public=public)


def refresh(
    rp: RelyingParty, refresh_token: str, proof: str | None, *, public: bool = False
) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return _token_request(rp, data, proof, public=public)


def _token_request(
    rp: RelyingParty, data: dict[str, str], proof: str | None, *, public: bool
) -> httpx.Response:
    headers = {"DPoP": proof} if proof is not None else {}
    if public:  # no secret: the client names itself
        return httpx.post(
            token_url(rp), data={**data, "client_id": rp.client_id}, headers=headers, timeout=30
        )
    return httpx.post(
        token_url(rp), data=data, headers=headers, auth=(rp.client_id, rp.client_secret), timeout=30
    )


def bound_tokens(
    rp: RelyingParty, browser: httpx.Client, prover: Prover, *, public: bool = False
) -> dict[str, Any]:
    """Sign in and exchange the code with a proof of the prover's key: DPoP-bound tokens."""
    with rp.client() as oauth:
        code, verifier = rp.authorize(oauth, browser)
    answer = exchange(rp, code, verifier, prover.proof("POST", token_url(rp)), public=public)
    assert answer.status_code == 200, answer.text
    token: dict[str, Any] = answer.json()
    return token


def userinfo(rp: RelyingParty, access_token: str, proof: str | None) -> httpx.Response:
    headers = {"Authorization": f"DPoP {access_token}"}
    if proof is not None:
        headers["DPoP"] = proof
    return httpx.get(userinfo_url(rp), headers=headers, timeout=30)


def refused_proof(response: httpx.Response, status: int = 400) -> str:
    """The answer to a refused proof: invalid_dpop_proof (RFC 9449 §5, §7.1); its description."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == "invalid_dpop_proof", body
    assert "access_token" not in body
    return str(body.get("error_description", ""))


@pytest.fixture(scope="module")
def dpop_required(op: LiveCis) -> RelyingParty:
    """A client registered with dpop_bound_access_tokens (RFC 9449 §5.2)."""
    return RelyingParty.register(op, "--dpop-bound-access-tokens")


@pytest.fixture(scope="module")
def public_client(op: LiveCis) -> RelyingParty:
    """A public client (no secret: a native app, say). CIS's registration makes only
    confidential clients, so one is turned public in the toolkit's table, as the toolkit's own
    admin would make it; RFC 9449 §5 binds such a client's refresh tokens to its DPoP key."""
    rp = RelyingParty.register(op)
    op.shell(
        "from oauth2_provider.models import Application\n"
        f"Application.objects.filter(client_id={rp.client_id!r}).update("
        "client_type=Application.CLIENT_PUBLIC, client_secret='')\n"
    )
    return RelyingParty(op, rp.client_id, "")


def test_discovery_names_the_dpop_algorithms(op: LiveCis) -> None:
    document = httpx.get(f"{op.url}/.well-known/openid-configuration", timeout=30).json()
    assert document["dpop_signing_alg_values_supported"] == ALGS.split()


def test_bound_token_with_cnf_jkt_used_at_userinfo(rp: RelyingParty, holder: str) -> None:
    prover = Prover()
    with rp.browser(holder) as browser:
        token = bound_tokens(rp, browser, prover)
    assert token["token_type"] == "DPoP"
    with rp.client() as oauth:
        described = oauth.introspect_token(
            f"{rp.op.url}/oidc/introspect", token=token["access_token"]
        ).json()
    assert described["active"] is True
    assert described["token_type"] == "DPoP"
    assert described["cnf"] == {"jkt": prover.jkt}
    # At userinfo: the DPoP scheme, with a proof of the same key for this request and token.
    proof = prover.proof("GET", userinfo_url(rp), access_token=token["access_token"])
    answer = userinfo(rp, token["access_token"], proof)
    assert answer.status_code == 200, answer.text
    assert answer.json()["sub"] == holder
    # By POST too, with a proof made for POST.
    posted = httpx.post(
        userinfo_url(rp),
        headers={
            "Authorization": f"DPoP {token['access_token']}",
            "DPoP": prover.proof("POST", userinfo_url(rp), access_token=token["access_token"]),
        },
        timeout=30,
    )
    assert posted.status_code == 200, posted.text
    # The same proof a second time is a replay (§11.1).
    assert "used already" in refused_proof(userinfo(rp, token["access_token"], proof), 401)


def test_a_bound_token_is_refused_as_a_bearer_token(rp: RelyingParty, holder: str) -> None:
    with rp.browser(holder) as browser:
        token = bound_tokens(rp, browser, Prover())
    answer = httpx.get(
        userinfo_url(rp), headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=30
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_token"
    challenge = answer.headers["www-authenticate"]
    assert challenge.startswith("DPoP ")
    assert 'error="invalid_token"' in challenge
    assert f'algs="{ALGS}"' in challenge
    # Nor in the form body, the other place a bearer token may be sent.
    in_body = httpx.post(userinfo_url(rp), data={"access_token": token["access_token"]}, timeout=30)
    assert in_body.status_code == 401


def test_userinfo_refuses_a_wrong_ath_a_missing_proof_and_another_key(
    rp: RelyingParty, holder: str
) -> None:
    prover = Prover()
    with rp.browser(holder) as browser:
        token = bound_tokens(rp, browser, prover)
    access = token["access_token"]
    wrong_ath = prover.proof("GET", userinfo_url(rp), access_token=access + "x")
    description = refused_proof(userinfo(rp, access, wrong_ath), 401)
    assert "ath" in description
    without_ath = prover.proof("GET", userinfo_url(rp))
    refused_proof(userinfo(rp, access, without_ath), 401)
    missing = userinfo(rp, access, None)
    refused_proof(missing, 401)
    assert 'error="invalid_dpop_proof"' in missing.headers["www-authenticate"]
    # A valid proof, but of a key the token is not bound to.
    other = Prover().proof("GET", userinfo_url(rp), access_token=access)
    stolen = userinfo(rp, access, other)
    assert stolen.status_code == 401
    assert stolen.json()["error"] == "invalid_token"
    assert stolen.headers["www-authenticate"].startswith("DPoP ")
    # The rightful holder still can.
    fine = prover.proof("GET", userinfo_url(rp), access_token=access)
    assert userinfo(rp, access, fine).status_code == 200


def test_an_unbound_token_is_not_taken_with_the_dpop_scheme(rp: RelyingParty, holder: str) -> None:
    with rp.browser(holder) as browser:
        token = rp.code_flow(browser)
    assert token["token_type"] == "Bearer"
    proof = Prover().proof("GET", userinfo_url(rp), access_token=token["access_token"])
    assert userinfo(rp, token["access_token"], proof).status_code == 401
    bearer = httpx.get(
        userinfo_url(rp), headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=30
    )
    assert bearer.status_code == 200


@pytest.mark.parametrize(
    ("spoil", "said"),
    [
        ("replayed jti", "used already"),
        ("wrong htm", "htm"),
        ("wrong htu", "htu"),
        ("stale iat", "iat"),
        ("future iat", "iat"),
        ("alg none", "alg"),
        ("HS256", "alg"),
        ("wrong typ", "typ"),
        ("private key in jwk", "private key"),
        ("no jti", "jti"),
        ("two proofs", "exactly one"),
    ],
)
def test_bad_proofs_at_the_token_endpoint_are_refused(
    rp: RelyingParty, holder: str, spoil: str, said: str
) -> None:
    prover = Prover()
    url = token_url(rp)
    now = int(time.time())
    with rp.browser(holder) as browser, rp.client() as oauth:
        code, verifier = rp.authorize(oauth, browser)
    good = prover.proof("POST", url)
    if spoil == "replayed jti":
        # The proof is spent by its first use, even one that got no token.
        assert exchange(rp, "not-a-code", verifier, good).json()["error"] == "invalid_grant"
        proof = good
    elif spoil == "wrong htm":
        proof = prover.proof("GET", url)
    elif spoil == "wrong htu":
        proof = prover.proof("POST", f"{rp.op.url}/oidc/userinfo")
    elif spoil == "stale iat":
        proof = prover.proof("POST", url, iat=now - 600)
    elif spoil == "future iat":
        proof = prover.proof("POST", url, iat=now + 600)
    elif spoil == "alg none":
        header = {"typ": "dpop+jwt", "alg": "none", "jwk": prover.key.as_dict(private=False)}
        claims = {"jti": "n", "htm": "POST", "htu": url, "iat": now}
        proof = jwt.encode(header, claims, None, algorithms=["none"])
    elif spoil == "HS256":
        secret = OctKey.generate_key(256)
        header = {"typ": "dpop+jwt", "alg": "HS256", "jwk": secret.as_dict()}
        claims = {"jti": "h", "htm": "POST", "htu": url, "iat": now}
        proof = jwt.encode(header, claims, secret, algorithms=["HS256"])
    elif spoil == "wrong typ":
        header = {"typ": "JWT", "alg": "ES256", "jwk": prover.key.as_dict(private=False)}
        claims = {"jti": "t", "htm": "POST", "htu": url, "iat": now}
        proof = jwt.encode(header, claims, prover.key)
    elif spoil == "private key in jwk":
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": prover.key.as_dict(private=True)}
        claims = {"jti": "p", "htm": "POST", "htu": url, "iat": now}
        proof = jwt.encode(header, claims, prover.key)
    elif spoil == "no jti":
        proof = prover.proof("POST", url, jti=None)
    else:
        proof = f"{good}, {prover.proof('POST', url)}"
    assert said in refused_proof(exchange(rp, code, verifier, proof))
    # The code was not spent by the refusal: with a good proof it still gives bound tokens.
    fresh = exchange(rp, code, verifier, prover.proof("POST", url))
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["token_type"] == "DPoP"


def test_an_rsa_key_binds_as_well(rp: RelyingParty, holder: str) -> None:
    prover = Prover(RSAKey.generate_key(2048), "PS256")
    with rp.browser(holder) as browser:
        token = bound_tokens(rp, browser, prover)
    proof = prover.proof("GET", userinfo_url(rp), access_token=token["access_token"])
    assert userinfo(rp, token["access_token"], proof).status_code == 200


def test_a_client_that_requires_dpop_is_refused_without_a_proof(
    dpop_required: RelyingParty, holder: str
) -> None:
    rp = dpop_required.fresh()
    prover = Prover()
    with rp.browser(holder) as browser, rp.client() as oauth:
        code, verifier = rp.authorize(oauth, browser)
        description = refused_proof(exchange(rp, code, verifier, None))
        assert "must send a DPoP proof" in description
        token = exchange(rp, code, verifier, prover.proof("POST", token_url(rp)))
    assert token.status_code == 200, token.text
    assert token.json()["token_type"] == "DPoP"
    # Its refresh needs a proof too (a confidential client may prove a new key, RFC 9449 §5).
    refused_proof(refresh(rp, token.json()["refresh_token"], None))
    renewed = refresh(rp, token.json()["refresh_token"], Prover().proof("POST", token_url(rp)))
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["token_type"] == "DPoP"


def test_a_public_clients_refresh_needs_the_same_key(
    public_client: RelyingParty, holder: str
) -> None:
    rp = public_client.fresh()
    prover = Prover()
    with rp.browser(holder) as browser:
        token = bound_tokens(rp, browser, prover, public=True)
    refresh_token = token["refresh_token"]
    url = token_url(rp)
    other_key = refresh(rp, refresh_token, Prover().proof("POST", url), public=True)
    assert "same key" in refused_proof(other_key)
    refused_proof(refresh(rp, refresh_token, None, public=True))
    renewed = refresh(rp, refresh_token, prover.proof("POST", url), public=True)
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["token_type"] == "DPoP"
    access = renewed.json()["access_token"]
    proof = prover.proof("GET", userinfo_url(rp), access_token=access)
    assert userinfo(rp, access, proof).status_code == 200


@pytest.fixture(scope="module")
def nonce_op(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCis]:
    """An installation that requires server nonces in DPoP proofs (CIS_OIDC_DPOP_NONCE=1);
    empty, since a system client (client credentials) needs nobody signed in."""
    live = LiveCis(
        tmp_path_factory.mktemp("cis-dpop-nonce"), extra_env={"CIS_OIDC_DPOP_NONCE": "1"}
    )
    try:
        live.migrate()
        live.start()
        yield live
    finally:
        live.close()


def test_a_server_nonce_is_required_when_configured(nonce_op: LiveCis, tmp_path: Path) -> None:
    key = ECKey.generate_key("P-256", parameters={"kid": "gateway-1"})
    jwks = tmp_path / "gateway-jwks.json"
    jwks.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    made = nonce_op.cis("oidc", "add-system-client", "--name", "Gateway", "--jwks", str(jwks))
    url = f"{nonce_op.url}/oidc/token"
    prover = Prover()
    with OAuth2Client(
        client_id=json.loads(made.stdout)["client_id"],
        client_secret=key,
        token_endpoint_auth_method="private_key_jwt",
        timeout=30,
    ) as system:
        system.register_client_auth_method(PrivateKeyJWT(url, alg="ES256"))
        auth = system.client_auth("private_key_jwt")
        data = {"grant_type": "client_credentials"}
        first = system.post(url, data=data, auth=auth, headers={"DPoP": prover.proof("POST", url)})
        assert first.status_code == 400, first.text
        assert first.json()["error"] == "use_dpop_nonce"
        nonce = first.headers["dpop-nonce"]
        stale = prover.proof("POST", url, nonce="not-the-nonce")
        assert system.post(url, data=data, auth=auth, headers={"DPoP": stale}).status_code == 400
        proof = prover.proof("POST", url, nonce=nonce)
        token = system.post(url, data=data, auth=auth, headers={"DPoP": proof})
    assert token.status_code == 200, token.text
    assert token.json()["token_type"] == "DPoP"
    assert token.headers["dpop-nonce"]
    # At userinfo too (a system token has no person behind it, so with the nonce the answer
    # is invalid_token: the proof itself was taken).
    userinfo = f"{nonce_op.url}/oidc/userinfo"
    access = token.json()["access_token"]
    asked = httpx.get(
        userinfo,
        headers={
            "Authorization": f"DPoP {access}",
            "DPoP": prover.proof("GET", userinfo, access_token=access),
        },
        timeout=30,
    )
    assert asked.status_code == 401
    assert 'error="use_dpop_nonce"' in asked.headers["www-authenticate"]
    again = httpx.get(
        userinfo,
        headers={
            "Authorization": f"DPoP {access}",
            "DPoP": prover.proof(
                "GET", userinfo, access_token=access, nonce=asked.headers["dpop-nonce"]
            ),
        },
        timeout=30,
    )
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_token"
