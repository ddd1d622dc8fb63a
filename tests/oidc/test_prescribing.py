"""The sample relying party (examples/prescribing) signs a holder in and shows their role."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from examples.prescribing.app import PrescribingApp, Settings

from cis.authz.policy import CONSOLE
from cis.oidc.clients import oidc_client_add
from cis.oidc.models import TokenLink
from cis.signin.models import EndReason, SignInSession

from .support import DjangoTransport, browser_signed_in, holder

pytestmark = pytest.mark.django_db
RP = "https://prescribing.example.nhs.uk"


def test_prescribing_signs_in_shows_the_role_and_signs_out() -> None:
    registered = oidc_client_add(
        actor=CONSOLE,
        name="Prescribing (example)",
        redirect_uris=[f"{RP}/callback"],
        post_logout_redirect_uris=[f"{RP}/signed-out"],
    )
    app = PrescribingApp(
        Settings(
            issuer="http://testserver",
            client_id=registered.application.client_id,
            client_secret=registered.client_secret,
            base_url=RP,
            transport=DjangoTransport(),
        )
    )
    two = holder(positions=2)
    cis_browser, session = browser_signed_in(two.person)
    rp_browser = httpx.Client(transport=httpx.WSGITransport(app=app), base_url=RP)

    start = rp_browser.get("/login")
    assert start.status_code == 302
    authorize = start.headers["location"]
    assert authorize.startswith("http://testserver/oidc/authorize?")
    # CIS asks which role; the holder picks the second one.
    ask = cis_browser.get(authorize.removeprefix("http://testserver"))
    assert ask["Location"].startswith("/signin/role/")
    chosen = two.assignments[1]
    from .support import query

    back = cis_browser.post(
        "/signin/role/", {"assignment": str(chosen.pk), "next": query(ask["Location"])["next"]}
    )
    callback = cis_browser.get(back["Location"])["Location"]
    assert callback.startswith(f"{RP}/callback?")
    parts = urlsplit(callback)
    done = rp_browser.get(f"{parts.path}?{parts.query}")
    assert done.status_code == 302, done.text
    home = rp_browser.get("/")
    assert f"Signed in as {two.person.full_name}" in home.text
    assert chosen.position.organisation.ods_code in home.text
    assert "Clinical Practitioner Access Role" in home.text
    assert "AAL3" in home.text
    # CIS offers DPoP, so the example's token is bound to its key (and userinfo took the proof).
    assert TokenLink.objects.get().dpop_jkt == app.dpop_jkt

    out = rp_browser.get("/logout")
    end_session = out.headers["location"]
    assert end_session.startswith("http://testserver/oidc/logout?")
    final = cis_browser.get(end_session.removeprefix("http://testserver"))
    assert final["Location"] == f"{RP}/signed-out"
    assert SignInSession.objects.get(pk=session.pk).end_reason == EndReason.RP_LOGOUT
    assert "Sign in with NHS Care Identity" in rp_browser.get("/").text


def test_prescribing_refuses_a_callback_it_did_not_start() -> None:
    registered = oidc_client_add(actor=CONSOLE, name="P", redirect_uris=[f"{RP}/callback"])
    app = PrescribingApp(
        Settings(
            issuer="http://testserver",
            client_id=registered.application.client_id,
            client_secret=registered.client_secret,
            base_url=RP,
            transport=DjangoTransport(),
        )
    )
    rp_browser = httpx.Client(transport=httpx.WSGITransport(app=app), base_url=RP)
    response = rp_browser.get("/callback?code=abc&state=forged&iss=http://testserver")
    assert response.status_code == 400
