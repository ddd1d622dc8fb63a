"""My details: one's own profile, and a new email or mobile used only once its code comes back."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from cis.audit.models import AuditEvent
from cis.core import clock
from cis.notify.sms import MemorySmsSender
from cis.people.models import ContactVerification, Person

from .conftest import World, counts

pytestmark = pytest.mark.django_db

Capture = Callable[..., AbstractContextManager[Any]]
CONFIRM = "/my-details/confirm/"


@pytest.fixture
def holder(world: World, sign_in: Callable[[Person], Client]) -> Client:
    return sign_in(world.holder)


def _code(text: str) -> str:
    found = re.search(r"\b(\d{6})\b", text)
    assert found, text
    return found.group(1)


def _start_email(client: Client, capture: Capture, address: str = "hana.new@example.nhs.uk") -> str:
    with capture(execute=True):
        response = client.post(reverse("portal:change-email"), {"email": address})
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == CONFIRM
    return _code(mail.outbox[-1].body)


def _errors(response: Any) -> str:
    html: str = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in html
    assert "<title>Error: " in html
    return html


def test_my_details_shows_my_profile_positions_and_rights(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    html = sign_in(world.lsa).get(reverse("portal:my-details")).content.decode()
    lsa = world.lsa
    for text in (
        lsa.full_name,
        lsa.user_id,
        "17 May 1985",
        lsa.email,
        "Verified",
        "High (face to face, three documents)",
        "Office staff",
        "Chain head office",
        "Local Smartcard Administrator",
        "Chain branch (FBR01)",
    ):
        assert text in html, text
    assert 'href="/my-details/email/"' in html
    assert 'href="/my-details/mobile/"' in html


def test_a_new_email_is_used_only_after_its_code_comes_back(
    world: World, holder: Client, django_capture_on_commit_callbacks: Capture
) -> None:
    old = world.holder.email
    events = AuditEvent.objects.count()
    code = _start_email(holder, django_capture_on_commit_callbacks)
    assert mail.outbox[-1].to == ["hana.new@example.nhs.uk"]
    world.holder.refresh_from_db()
    assert world.holder.email == old
    page = holder.get(CONFIRM).content.decode()
    assert "We sent a code to hana.new@example.nhs.uk" in page

    response = holder.post(CONFIRM, {"code": code}, follow=True)
    assert "Your email address is now hana.new@example.nhs.uk." in response.content.decode()
    world.holder.refresh_from_db()
    assert world.holder.email == "hana.new@example.nhs.uk"
    assert world.holder.email_verified_at is not None
    assert AuditEvent.objects.count() == events + 1


def test_a_new_mobile_is_texted_a_code(
    world: World, holder: Client, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = holder.post(reverse("portal:change-mobile"), {"mobile": "07700 900 456"})
    assert response["Location"] == CONFIRM
    sms = MemorySmsSender.outbox[-1]
    assert sms["to"] == "+447700900456"
    holder.post(CONFIRM, {"code": _code(sms["body"])})
    world.holder.refresh_from_db()
    assert world.holder.mobile == "+447700900456"


@pytest.mark.parametrize(
    ("url", "field", "value", "message"),
    [
        (
            "portal:change-email",
            "email",
            "not-an-email",
            "Enter an email address in the correct format",
        ),
        ("portal:change-email", "email", "", "Enter your new email address."),
        (
            "portal:change-mobile",
            "mobile",
            "01632 960000",
            "Enter a UK mobile number in the correct format",
        ),
        (
            "portal:change-mobile",
            "mobile",
            "07700",
            "Enter a UK mobile number in the correct format",
        ),
    ],
)
def test_a_malformed_email_or_mobile_is_refused_and_nothing_is_sent(
    holder: Client,
    django_capture_on_commit_callbacks: Capture,
    *,
    url: str,
    field: str,
    value: str,
    message: str,
) -> None:
    before = counts()
    with django_capture_on_commit_callbacks(execute=True):
        response = holder.post(reverse(url), {field: value})
    html = _errors(response)
    assert message in html
    assert f'href="#id_{field}"' in html  # the summary links to the field
    assert f'id="id_{field}-error"' in html
    assert counts() == before
    assert mail.outbox == [] and MemorySmsSender.outbox == []


def test_the_current_email_is_not_a_change(world: World, holder: Client) -> None:
    html = _errors(holder.post(reverse("portal:change-email"), {"email": world.holder.email}))
    assert "That is already your email." in html


def test_a_wrong_code_says_how_many_attempts_are_left(
    world: World, holder: Client, django_capture_on_commit_callbacks: Capture
) -> None:
    code = _start_email(holder, django_capture_on_commit_callbacks)
    wrong = "000000" if code != "000000" else "111111"
    html = _errors(holder.post(CONFIRM, {"code": wrong}))
    assert "That code is not right. 4 attempts left." in html
    assert 'href="#id_code"' in html
    world.holder.refresh_from_db()
    assert world.holder.email != "hana.new@example.nhs.uk"


def test_a_code_that_is_not_six_digits_costs_no_attempt(
    holder: Client, django_capture_on_commit_callbacks: Capture
) -> None:
    code = _start_email(holder, django_capture_on_commit_callbacks)
    for typed in ("12ab56", "123", ""):
        html = _errors(holder.post(CONFIRM, {"code": typed}))
        assert "6-digit code" in html
    assert ContactVerification.objects.get().attempts == 0
    holder.post(CONFIRM, {"code": code})
    assert "cis_contact_change" not in holder.session
    assert ContactVerification.objects.get().used_at is not None


def test_too_many_wrong_codes_use_the_code_up(
    world: World, holder: Client, django_capture_on_commit_callbacks: Capture
) -> None:
    code = _start_email(holder, django_capture_on_commit_callbacks)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        holder.post(CONFIRM, {"code": wrong})
    html = _errors(holder.post(CONFIRM, {"code": code}))
    assert "Too many wrong codes. Ask for a new one." in html
    world.holder.refresh_from_db()
    assert world.holder.email != "hana.new@example.nhs.uk"


def test_an_expired_code_is_refused(
    world: World, holder: Client, django_capture_on_commit_callbacks: Capture
) -> None:
    code = _start_email(holder, django_capture_on_commit_callbacks)
    clock.travel(dt.timedelta(minutes=16))
    html = _errors(holder.post(CONFIRM, {"code": code}))
    assert "This code has expired (codes last 15 minutes). Ask for a new one." in html
    assert 'href="/my-details/email/"' in html  # the way to a new code
    world.holder.refresh_from_db()
    assert world.holder.email != "hana.new@example.nhs.uk"


def test_a_used_code_cannot_be_used_again(
    holder: Client, django_capture_on_commit_callbacks: Capture
) -> None:
    code = _start_email(holder, django_capture_on_commit_callbacks)
    pending = holder.session["cis_contact_change"]
    holder.post(CONFIRM, {"code": code})
    session = holder.session
    session["cis_contact_change"] = pending
    session.save()
    events = AuditEvent.objects.count()
    html = _errors(holder.post(CONFIRM, {"code": code}))
    assert "This code has already been used. Ask for a new one." in html
    assert AuditEvent.objects.count() == events


def test_asking_for_a_new_code_replaces_the_old_one(
    holder: Client, django_capture_on_commit_callbacks: Capture
) -> None:
    first = _start_email(holder, django_capture_on_commit_callbacks)
    first_pending = holder.session["cis_contact_change"]
    _start_email(holder, django_capture_on_commit_callbacks, "hana.other@example.nhs.uk")
    session = holder.session
    session["cis_contact_change"] = first_pending
    session.save()
    html = _errors(holder.post(CONFIRM, {"code": first}))
    assert "A newer code was sent; use the latest one." in html


def test_codes_are_rate_limited(
    holder: Client, django_capture_on_commit_callbacks: Capture
) -> None:
    for n in range(5):
        _start_email(holder, django_capture_on_commit_callbacks, f"hana{n}@example.nhs.uk")
    before = counts()
    sent = len(mail.outbox)
    html = _errors(holder.post(reverse("portal:change-email"), {"email": "h6@example.nhs.uk"}))
    assert "Too many codes requested in the last hour. Try again later." in html
    assert counts() == before
    assert len(mail.outbox) == sent


def test_the_code_page_without_a_pending_change_goes_back_to_my_details(holder: Client) -> None:
    response = holder.get(CONFIRM, follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:my-details")
    assert "There is no change of contact details waiting for a code." in (
        response.content.decode()
    )


def test_a_pending_change_is_mentioned_on_my_details(
    holder: Client, django_capture_on_commit_callbacks: Capture
) -> None:
    _start_email(holder, django_capture_on_commit_callbacks)
    html = holder.get(reverse("portal:my-details")).content.decode()
    assert "We sent a code to hana.new@example.nhs.uk" in html
