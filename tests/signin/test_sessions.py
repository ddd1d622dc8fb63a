"""Sign-in sessions: the hand-off link, timeouts, ending at once, heartbeats, administrators."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from cis.audit.models import AuditEvent
from cis.audit.verify import verify
from cis.core import clock
from cis.core.errors import NotPermitted
from cis.rights.models import Right
from cis.signin.models import EndReason, SignInSession
from cis.signin.services import (
    person_sessions_end,
    session_agent_token_issue,
    session_heartbeat,
    session_ticket_issue,
    sessions_end_for_card,
    sessions_end_for_certificate,
    sessions_end_for_person,
)
from tests.factories.directory import PersonFactory, RightGrantFactory
from tests.oidc.support import Holder, browser_signed_in, smartcard_session

pytestmark = pytest.mark.django_db


def _signed_in(browser: Client) -> bool:
    return "_auth_user_id" in browser.session


def test_a_sign_in_link_works_once(asha: Holder) -> None:
    secret = session_ticket_issue(session=smartcard_session(asha.person))
    assert Client().post(f"/signin/ticket/{secret}/").status_code == 302
    again = Client().post(f"/signin/ticket/{secret}/")
    assert again.status_code == 410
    assert b"cannot be used" in again.content


def test_a_sign_in_link_lasts_60_seconds(asha: Holder) -> None:
    secret = session_ticket_issue(session=smartcard_session(asha.person))
    clock.travel(dt.timedelta(seconds=61))
    assert Client().post(f"/signin/ticket/{secret}/").status_code == 410


def test_opening_the_link_needs_a_deliberate_post(asha: Holder) -> None:
    """A page elsewhere cannot sign a browser in by embedding the link (login CSRF)."""
    secret = session_ticket_issue(session=smartcard_session(asha.person))
    browser = Client(enforce_csrf_checks=True)
    assert browser.get(f"/signin/ticket/{secret}/").status_code == 200
    assert not _signed_in(browser)
    assert browser.post(f"/signin/ticket/{secret}/").status_code == 403  # no CSRF token


def test_idle_timeout_signs_the_browser_out(asha: Holder, settings: object) -> None:
    browser, session = browser_signed_in(asha.person)
    clock.travel(dt.timedelta(minutes=29))
    browser.get("/signin/role/")
    assert _signed_in(browser)  # activity pushes the idle limit back
    clock.travel(dt.timedelta(minutes=31))
    browser.get("/signin/role/")
    assert not _signed_in(browser)
    session.refresh_from_db()
    assert session.end_reason == EndReason.IDLE


def test_absolute_timeout_however_active(asha: Holder) -> None:
    browser, session = browser_signed_in(asha.person)
    for _ in range(25):  # 12.5 hours of activity every half hour, less a minute
        clock.travel(dt.timedelta(minutes=29))
        browser.get("/signin/role/")
    assert not _signed_in(browser)
    session.refresh_from_db()
    assert session.end_reason == EndReason.ABSOLUTE


@pytest.mark.parametrize("how", ["card", "certificate", "person"])
def test_sessions_end_at_once(asha: Holder, how: str) -> None:
    browser, session = browser_signed_in(asha.person)
    session.certificate_serial = "0a1b2c"
    session.save()
    if how == "card":
        assert sessions_end_for_card(session.card_serial) == 1
    elif how == "certificate":
        assert sessions_end_for_certificate(0x0A1B2C) == 1
    else:
        assert sessions_end_for_person(asha.person) == 1
    session.refresh_from_db()
    assert session.ended_at is not None
    assert (
        session.end_reason
        == {
            "card": EndReason.CARD_CANCELLED,
            "certificate": EndReason.CERTIFICATE_REVOKED,
            "person": EndReason.PERSON_CLOSED,
        }[how]
    )
    browser.get("/signin/role/")
    assert not _signed_in(browser)
    assert AuditEvent.objects.filter(action="session.end").count() == 1
    assert verify().intact


def test_ending_by_card_id_as_well_as_serial(asha: Holder) -> None:
    session = smartcard_session(asha.person, card_id=42)
    assert sessions_end_for_card(41) == 0
    assert sessions_end_for_card(42) == 1
    session.refresh_from_db()
    assert session.ended_at is not None


def test_other_peoples_sessions_are_untouched(asha: Holder) -> None:
    from tests.oidc.support import holder

    other = holder()
    smartcard_session(asha.person, card_serial="A")
    keep = smartcard_session(other.person, card_serial="B")
    sessions_end_for_card("A")
    keep.refresh_from_db()
    assert keep.ended_at is None


def test_heartbeats_under_the_card_removal_policy(asha: Holder, settings: object) -> None:
    settings.CIS_SIGNIN_END_ON_CARD_REMOVAL = True  # type: ignore[attr-defined]
    session = smartcard_session(asha.person)
    token = session_agent_token_issue(session=session)
    assert session_heartbeat(agent_token=token, card_present=True).ended_at is None
    ended = session_heartbeat(agent_token=token, card_present=False)
    assert ended.end_reason == EndReason.CARD_REMOVED


def test_card_removal_is_ignored_without_the_policy(asha: Holder) -> None:
    session = smartcard_session(asha.person)
    token = session_agent_token_issue(session=session)
    assert session_heartbeat(agent_token=token, card_present=False).ended_at is None


def test_a_silent_agent_ends_the_session_under_the_policy(asha: Holder, settings: object) -> None:
    settings.CIS_SIGNIN_END_ON_CARD_REMOVAL = True  # type: ignore[attr-defined]
    browser, session = browser_signed_in(asha.person)
    session_agent_token_issue(session=session)
    clock.travel(dt.timedelta(seconds=settings.CIS_SIGNIN_HEARTBEAT_SECONDS * 4))  # type: ignore[attr-defined]
    browser.get("/signin/role/")
    assert not _signed_in(browser)
    session.refresh_from_db()
    assert session.end_reason == EndReason.CARD_REMOVED


def test_heartbeat_endpoint(asha: Holder, settings: object) -> None:
    settings.CIS_SIGNIN_END_ON_CARD_REMOVAL = True  # type: ignore[attr-defined]
    session = smartcard_session(asha.person)
    token = session_agent_token_issue(session=session)
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    ok = client.post("/signin/agent/heartbeat", {"card_present": True}, "application/json", **auth)
    assert ok.status_code == 200 and ok.json()["live"] is True
    gone = client.post(
        "/signin/agent/heartbeat", {"card_present": False}, "application/json", **auth
    )
    assert gone.json()["live"] is False
    after = client.post(
        "/signin/agent/heartbeat", {"card_present": True}, "application/json", **auth
    )
    assert after.status_code == 409
    assert client.post("/signin/agent/heartbeat", {}, "application/json").status_code == 409


def test_an_lsa_ends_a_persons_sessions(asha: Holder) -> None:
    org = asha.assignments[0].position.organisation
    lsa = PersonFactory()
    RightGrantFactory(person=lsa, right=Right.LSA, organisation=org)
    browser, _ = browser_signed_in(asha.person)
    smartcard_session(asha.person, workstation="WS-9")
    assert person_sessions_end(actor=lsa, person=asha.person) == 2
    assert not SignInSession.objects.filter(person=asha.person, ended_at__isnull=True).exists()
    browser.get("/signin/role/")
    assert not _signed_in(browser)
    event = AuditEvent.objects.filter(action="session.end").last()
    assert event is not None and event.actor_ref == lsa.user_id
    assert event.after["end_reason"] == EndReason.ENDED_BY_ADMIN


def test_ending_sessions_needs_a_right_in_scope(asha: Holder) -> None:
    stranger = PersonFactory()
    RightGrantFactory(person=stranger, right=Right.LSA, organisation=None)  # no scope at all
    smartcard_session(asha.person)
    with pytest.raises(NotPermitted):
        person_sessions_end(actor=stranger, person=asha.person)
    assert SignInSession.objects.filter(ended_at__isnull=True).count() == 1


def test_admin_page_lists_and_ends_sessions(asha: Holder) -> None:
    from tests.oidc.support import holder

    org = asha.assignments[0].position.organisation
    admin = holder()
    RightGrantFactory(person=admin.person, right=Right.LSA, organisation=org)
    admin_browser, _ = browser_signed_in(admin.person)
    smartcard_session(asha.person, workstation="WS-7")
    page = admin_browser.get(f"/signin/people/{asha.person.user_id}/sessions/")
    assert page.status_code == 200
    assert b"WS-7" in page.content
    done = admin_browser.post(f"/signin/people/{asha.person.user_id}/sessions/")
    assert done.status_code == 302
    assert not SignInSession.objects.filter(person=asha.person, ended_at__isnull=True).exists()


def test_admin_page_hides_people_out_of_scope(asha: Holder) -> None:
    from tests.oidc.support import holder

    nosy = holder()
    browser, _ = browser_signed_in(nosy.person)
    assert browser.get(f"/signin/people/{asha.person.user_id}/sessions/").status_code == 404
    assert browser.post(f"/signin/people/{asha.person.user_id}/sessions/").status_code == 404
    assert browser.get("/signin/people/999999999999/sessions/").status_code == 404


def test_sign_out_everywhere(asha: Holder) -> None:
    browser, _ = browser_signed_in(asha.person)
    smartcard_session(asha.person, workstation="WS-2")
    assert browser.get("/signin/sessions/").status_code == 200
    browser.post("/signin/sessions/")
    assert not _signed_in(browser)
    assert not SignInSession.objects.filter(ended_at__isnull=True).exists()


def test_sign_out_ends_the_session(asha: Holder) -> None:
    browser, session = browser_signed_in(asha.person)
    assert browser.post("/signin/sign-out/").status_code == 302
    session.refresh_from_db()
    assert session.end_reason == EndReason.SIGNED_OUT
    assert not _signed_in(browser)


def test_the_portals_sign_out_ends_the_session_too(asha: Holder) -> None:
    browser, session = browser_signed_in(asha.person)
    browser.post("/sign-out/")
    session.refresh_from_db()
    assert session.end_reason == EndReason.SIGNED_OUT


def test_sign_out_ends_a_session_no_smartcard_made(asha: Holder) -> None:
    browser = Client()
    browser.force_login(asha.person)  # as the demo's persona sign-in does
    assert browser.post("/signin/sign-out/").status_code == 302
    assert not _signed_in(browser)
    assert browser.get("/api/v1/me/").status_code in (401, 403)


def test_production_refuses_a_login_that_no_sign_in_made(asha: Holder, settings: object) -> None:
    settings.CIS_REQUIRE_SIGNIN_SESSION = True  # type: ignore[attr-defined]
    forged = Client()
    forged.force_login(asha.person)
    assert forged.get("/api/v1/me/").status_code in (401, 403)
    page = forged.get("/my-details/")
    assert page.status_code == 302 and "/sign-in/" in page["Location"]
    assert not _signed_in(forged)
    browser, _ = browser_signed_in(asha.person)
    assert browser.get("/api/v1/me/").status_code == 200
    assert browser.get("/my-details/").status_code == 200
