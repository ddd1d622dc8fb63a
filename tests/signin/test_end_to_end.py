"""End to end: a SoftHSM2 card in `cis-agent sign-in` -> session -> OIDC code flow -> tokens.

Every hop is real: the PKCS#11 token signs CIS's nonce after the passcode, the browser takes
the session over through the one-time link, and Authlib runs the code flow with PKCE while
joserfc validates the ES256 ID token against the published keys.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from click.testing import CliRunner
from django.test import Client
from joserfc import jwt
from joserfc.jwk import KeySet

from cis.authz.policy import CONSOLE
from cis.oidc.clients import oidc_client_add
from cis.signin.models import SignInSession
from cis_agent import cli, login
from cis_card.base import Card
from tests.oidc.support import ALL_SCOPES, REDIRECT_URI, DjangoTransport, Holder

from .conftest import PASSCODE

pytestmark = pytest.mark.django_db
ISSUER = "http://testserver"


@pytest.mark.parametrize("kind", ["pkcs11", "virtual"])
def test_card_to_tokens(
    asha: Holder, make_card: Callable[..., Card], monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    card = make_card(asha.person, kind=kind)
    monkeypatch.setattr(login, "transport", DjangoTransport(Client()))
    result = CliRunner().invoke(
        cli.main,
        ["sign-in", "--server", ISSUER, "--card", card.spec, "--passcode-stdin"],
        input=PASSCODE + "\n",
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert f"Signed in as {asha.person.full_name}" in result.output
    link = next(line for line in result.output.splitlines() if "/signin/ticket/" in line)
    session = SignInSession.objects.get(person=asha.person)
    assert session.card_serial == card.serial() and session.acr == "AAL3"

    browser = Client()
    assert browser.post(link.removeprefix(ISSUER)).status_code == 302

    registered = oidc_client_add(actor=CONSOLE, name="Prescribing", redirect_uris=[REDIRECT_URI])
    rp = OAuth2Client(
        client_id=registered.application.client_id,
        client_secret=registered.client_secret,
        scope=ALL_SCOPES,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        transport=DjangoTransport(),
    )
    meta = (
        httpx.Client(transport=DjangoTransport())
        .get(ISSUER + "/.well-known/openid-configuration")
        .json()
    )
    verifier = "e2e-" + "x" * 60
    url, _state = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce="e2e-nonce"
    )
    callback = browser.get(url.removeprefix(ISSUER))["Location"]
    token = rp.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    keys = KeySet.import_key_set(
        httpx.Client(transport=DjangoTransport()).get(meta["jwks_uri"]).json()
    )
    id_token = jwt.decode(token["id_token"], keys, algorithms=["ES256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": meta["issuer"]},
        aud={"essential": True, "value": registered.application.client_id},
        nonce={"essential": True, "value": "e2e-nonce"},
        exp={"essential": True},
    ).validate(id_token.claims)
    claims = id_token.claims
    assert claims["sub"] == asha.person.user_id
    assert claims["acr"] == "AAL3" and "sc" in claims["amr"]
    assert claims["sid"] == str(session.ref)
    assert claims["selected_roleid"] == str(asha.assignments[0].pk)
    info = rp.get(meta["userinfo_endpoint"]).json()
    assert info["selected_role"]["org_code"] == asha.assignments[0].position.organisation.ods_code


def test_sign_in_command_reports_a_wrong_passcode_in_one_line(
    asha: Holder, make_card: Callable[..., Card], monkeypatch: pytest.MonkeyPatch
) -> None:
    card = make_card(asha.person)
    monkeypatch.setattr(login, "transport", DjangoTransport(Client()))
    result = CliRunner().invoke(
        cli.main,
        ["sign-in", "--server", ISSUER, "--card", card.spec, "--passcode-stdin"],
        input="0000\n",
        catch_exceptions=False,
    )
    assert result.exit_code == 4
    assert [line for line in result.output.splitlines() if line.startswith("cis-agent:")]
    assert not SignInSession.objects.exists()


def test_watch_ends_the_session_when_the_card_is_pulled(
    asha: Holder, make_card: Callable[..., Card], settings: object
) -> None:
    settings.CIS_SIGNIN_END_ON_CARD_REMOVAL = True  # type: ignore[attr-defined]
    card = make_card(asha.person)
    http = httpx.Client(transport=DjangoTransport(Client()), base_url=ISSUER)
    done = login.sign_in(card=card, http=http, passcode=PASSCODE)
    chip = card.serial()
    assert (
        login.watch(
            card=card, http=http, signed_in=done, chip_serial=chip, sleep=lambda s: None, rounds=2
        )
        == "stopped"
    )
    card.path.rename(card.path.with_suffix(".pulled"))  # type: ignore[attr-defined]
    reason = login.watch(
        card=card, http=http, signed_in=done, chip_serial=chip, sleep=lambda s: None
    )
    assert reason == "card removed"
    assert SignInSession.objects.get(ref=done.session).end_reason == "card_removed"
