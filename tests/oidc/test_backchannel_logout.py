"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0): when a sign-in ends, each
clinical system that had a session for it receives one signed logout token, with retries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import httpx
import pytest
from django.test import Client
from joserfc import jwt
from joserfc.jwk import KeySet
from oauth2_provider.models import Application

from cis.authz.policy import CONSOLE
from cis.core.errors import NotPermitted, ValidationFailed
from cis.jobs.registry import JOBS, JobIncomplete
from cis.oidc import backchannel
from cis.oidc.clients import NewClient, client_settings, oidc_client_add, oidc_client_update
from cis.rights.models import Right
from cis.signin.models import BackchannelLogout, SignInSession
from cis.signin.services import sessions_end_for_card, sessions_end_for_person
from tests.factories.directory import PersonFactory, RightGrantFactory

from .flow import Attempt
from .support import LOGOUT_URI, REDIRECT_URI, Holder, browser_signed_in

pytestmark = pytest.mark.django_db

BACKCHANNEL = "https://rp.example.nhs.uk/backchannel-logout"


@dataclass
class Receiver:
    """A relying party's back-channel endpoint: what it was sent, and how it answers."""

    status: int = 200
    received: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append((str(request.url), parse_qs(request.content.decode())))
        return httpx.Response(self.status)

    def tokens(self) -> list[str]:
        return [form["logout_token"][0] for _url, form in self.received]


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Receiver:
    found = Receiver()
    monkeypatch.setattr(backchannel, "transport", httpx.MockTransport(found))
    return found


def _client(name: str = "Prescribing", **kw: object) -> NewClient:
    return oidc_client_add(
        actor=CONSOLE,
        name=name,
        redirect_uris=[REDIRECT_URI],
        post_logout_redirect_uris=[LOGOUT_URI],
        **kw,  # type: ignore[arg-type]
    )


def _sign_in(rp: NewClient, browser: Client) -> dict[str, str]:
    attempt = Attempt(rp)
    response = attempt.exchange(attempt.code(browser))
    assert response.status_code == 200, response.content
    tokens: dict[str, str] = response.json()
    return tokens


def _verified(token: str, audience: str) -> tuple[dict[str, object], dict[str, object]]:
    keys = KeySet.import_key_set(Client().get("/oidc/jwks").json())
    decoded = jwt.decode(token, keys, algorithms=["ES256", "RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": "http://testserver"},
        aud={"essential": True, "value": audience},
        iat={"essential": True},
        jti={"essential": True},
    ).validate(decoded.claims)
    return dict(decoded.header), dict(decoded.claims)


def _id_claims(id_token: str) -> dict[str, object]:
    keys = KeySet.import_key_set(Client().get("/oidc/jwks").json())
    return dict(jwt.decode(id_token, keys, algorithms=["ES256", "RS256"]).claims)


def test_a_cancelled_card_tells_each_client_once_with_a_signed_logout_token(
    asha: Holder, receiver: Receiver
) -> None:
    rp = _client(backchannel_logout_uri=BACKCHANNEL, backchannel_logout_session_required=True)
    browser, session = browser_signed_in(asha.person)
    tokens = _sign_in(rp, browser)
    _sign_in(rp, browser)  # a second code for the same sign-in: still one logout
    assert backchannel.deliver_pending().sent == 0  # nothing is due while the sign-in lasts

    sessions_end_for_card("SC0001")
    assert backchannel.deliver_pending().sent == 1
    assert backchannel.deliver_pending().sent == 0  # and never again

    [(url, form)] = receiver.received
    assert url == BACKCHANNEL
    header, claims = _verified(form["logout_token"][0], rp.application.client_id)
    assert header["typ"] == "logout+jwt"
    assert header["alg"] == "ES256"
    assert claims["sub"] == asha.person.user_id
    assert claims["sid"] == str(session.ref) == _id_claims(tokens["id_token"])["sid"]
    assert claims["events"] == {"http://schemas.openid.net/event/backchannel-logout": {}}
    assert "nonce" not in claims
    row = BackchannelLogout.objects.get()
    assert row.sent_at is not None and row.attempts == 1


def test_every_client_with_a_session_is_told_and_only_those_that_asked(
    asha: Holder, receiver: Receiver
) -> None:
    first = _client("Prescribing", backchannel_logout_uri=BACKCHANNEL)
    second = _client(
        "Records",
        backchannel_logout_uri="https://records.example.nhs.uk/logout?from=cis",
        id_token_signed_response_alg="RS256",
    )
    silent = _client("Old system")  # registered no back-channel URI
    browser, _ = browser_signed_in(asha.person)
    for rp in (first, second, silent):
        _sign_in(rp, browser)
    sessions_end_for_person(asha.person)
    assert backchannel.deliver_pending().sent == 2
    by_url = {url: form["logout_token"][0] for url, form in receiver.received}
    assert set(by_url) == {BACKCHANNEL, "https://records.example.nhs.uk/logout?from=cis"}
    header, claims = _verified(
        by_url["https://records.example.nhs.uk/logout?from=cis"], second.application.client_id
    )
    assert header["alg"] == "RS256"  # signed as that client's ID tokens are
    assert not BackchannelLogout.objects.filter(client_id=silent.application.client_id).exists()


def test_a_failed_delivery_is_retried_later_and_then_succeeds(
    asha: Holder, receiver: Receiver, travel: Callable[[float], None]
) -> None:
    rp = _client(backchannel_logout_uri=BACKCHANNEL)
    browser, _ = browser_signed_in(asha.person)
    _sign_in(rp, browser)
    sessions_end_for_card("SC0001")
    receiver.status = 503
    with pytest.raises(JobIncomplete):
        JOBS["backchannel-logout"].run()
    row = BackchannelLogout.objects.get()
    assert row.sent_at is None and row.attempts == 1 and "503" in row.last_error
    assert backchannel.deliver_pending().failed == 0  # not again at once
    receiver.status = 200
    travel(61)
    assert JOBS["backchannel-logout"].run() == "1 logout token(s) sent"
    assert len(receiver.received) == 2
    assert backchannel.deliver_pending().sent == 0


def test_a_retired_client_is_not_told(asha: Holder, receiver: Receiver) -> None:
    rp = _client(backchannel_logout_uri=BACKCHANNEL)
    browser, _ = browser_signed_in(asha.person)
    _sign_in(rp, browser)
    oidc_client_update(actor=CONSOLE, client_id=rp.application.client_id, backchannel_logout_uri="")
    sessions_end_for_card("SC0001")
    assert backchannel.deliver_pending().dropped == 1
    assert receiver.received == []


def test_rp_initiated_logout_ends_the_session_and_tells_the_client(
    asha: Holder, receiver: Receiver
) -> None:
    rp = _client(backchannel_logout_uri=BACKCHANNEL)
    browser, session = browser_signed_in(asha.person)
    tokens = _sign_in(rp, browser)
    out = browser.get(
        "/oidc/logout",
        {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": LOGOUT_URI},
    )
    assert out.status_code == 302
    assert SignInSession.objects.get(pk=session.pk).ended_at is not None
    assert backchannel.deliver_pending().sent == 1


def test_the_uri_is_checked_and_kept_as_registration_metadata() -> None:
    for bad in ("http://rp.example.nhs.uk/logout", "https://rp.example.nhs.uk/l#x", "logout"):
        with pytest.raises(ValidationFailed):
            _client(backchannel_logout_uri=bad)
    rp = _client(backchannel_logout_uri=BACKCHANNEL, backchannel_logout_session_required=True)
    assert client_settings(rp.application) == {
        "id_token_signed_response_alg": "ES256",
        "backchannel_logout_uri": BACKCHANNEL,
        "backchannel_logout_session_required": True,
        "require_pushed_authorization_requests": False,
        "require_signed_request_object": False,
        "dpop_bound_access_tokens": False,
        "jwks_key_ids": [],
    }
    document = Client().get("/.well-known/openid-configuration").json()
    assert document["backchannel_logout_supported"] is True
    assert document["backchannel_logout_session_supported"] is True


def test_a_sign_in_past_its_time_is_ended_by_the_job_and_the_client_told(
    asha: Holder, receiver: Receiver, travel: Callable[[float], None]
) -> None:
    rp = _client(backchannel_logout_uri=BACKCHANNEL)
    browser, session = browser_signed_in(asha.person)
    _sign_in(rp, browser)
    assert JOBS["backchannel-logout"].run() == "0 logout token(s) sent"  # still in force
    travel(31 * 60)  # idle past CIS_SIGNIN_IDLE_MINUTES, and nobody came back
    done = JOBS["backchannel-logout"].run()
    assert done == "1 expired sign-in session(s) ended, 1 logout token(s) sent"
    ended = SignInSession.objects.get(pk=session.pk)
    assert ended.end_reason == "idle"
    [(_url, form)] = receiver.received
    keys = KeySet.import_key_set(Client().get("/oidc/jwks").json())
    # Signature only: the token's iat is on the travelled clock, ahead of joserfc's.
    claims = jwt.decode(form["logout_token"][0], keys, algorithms=["ES256"]).claims
    assert claims["sid"] == str(session.ref)


def test_the_service_desk_registers_the_uri_over_the_api() -> None:
    desk = PersonFactory()
    RightGrantFactory(person=desk, right=Right.SERVICE_DESK, ra=None)
    api = Client()
    api.force_login(desk)
    made = api.post(
        "/api/v1/oidc-clients/",
        {"name": "Records", "redirect_uris": [REDIRECT_URI], "backchannel_logout_uri": BACKCHANNEL},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    application = Application.objects.get(client_id=made.json()["client_id"])
    assert client_settings(application)["backchannel_logout_uri"] == BACKCHANNEL
    bad = api.post(
        "/api/v1/oidc-clients/",
        {
            "name": "Plain",
            "redirect_uris": [REDIRECT_URI],
            "backchannel_logout_uri": "http://x.uk/",
        },
        content_type="application/json",
    )
    assert bad.status_code == 400
    manager = PersonFactory()
    RightGrantFactory(person=manager, right=Right.RA_MANAGER)
    with pytest.raises(NotPermitted):
        oidc_client_update(
            actor=manager, client_id=application.client_id, backchannel_logout_uri=""
        )
