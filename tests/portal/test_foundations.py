"""The portal's shared parts: formatting, NHS-style error messages, error and CSRF pages that keep
the person's place and answers, cookies and privacy, and pagination."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from django import forms
from django.test import Client
from django.urls import reverse

from cis.people.models import Person
from cis.portal import formatting
from cis.portal.forms.base import EMAIL_FORMAT, PortalForm

from .conftest import World

UTC = dt.UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2026, 12, 3), "3 December 2026"),
        # Late on a summer evening in UTC is already the next day in UK summer time.
        (dt.datetime(2026, 7, 1, 23, 30, tzinfo=UTC), "2 July 2026"),
        (None, ""),
    ],
)
def test_dates_read_as_the_nhs_writes_them(value: object, expected: str) -> None:
    assert formatting.long_date(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.datetime(2026, 12, 3, 14, 5, tzinfo=UTC), "3 December 2026 at 2:05pm"),
        (dt.datetime(2026, 7, 3, 8, 0, tzinfo=UTC), "3 July 2026 at 9am"),  # BST
        (dt.datetime(2026, 12, 3, 12, 0, tzinfo=UTC), "3 December 2026 at midday"),
        (
            dt.datetime(2026, 12, 3, 0, 0, tzinfo=ZoneInfo("Europe/London")),
            "3 December 2026 at midnight",
        ),
    ],
)
def test_times_are_uk_times_in_words(value: dt.datetime, expected: str) -> None:
    assert formatting.uk_datetime(value) == expected


def test_durations_and_plurals_read_naturally() -> None:
    assert formatting.duration(dt.timedelta(days=3, hours=4)) == "3 days"
    assert formatting.duration(dt.timedelta(hours=1, minutes=5)) == "1 hour"
    assert formatting.duration(dt.timedelta(seconds=20)) == "less than a minute"
    assert formatting.plural(1, "card") == "1 card"
    assert formatting.plural(3, "person", "people") == "3 people"


class _Example(PortalForm):
    email = forms.EmailField(label="Email address")
    name = forms.CharField(label="Full name", max_length=10)
    colour = forms.ChoiceField(label="Colour", choices=[("red", "Red")])
    own = forms.CharField(label="Own", error_messages={"required": "Tell us your own thing"})


def test_every_error_on_a_form_is_reported_at_once_in_nhs_words() -> None:
    form = _Example({"email": "grace@", "name": "x" * 11, "colour": "green"})
    assert not form.is_valid()
    assert form.errors == {
        "email": [EMAIL_FORMAT],
        "name": ["Full name must be 10 characters or fewer"],
        "colour": ["Select colour"],
        "own": ["Tell us your own thing"],  # a form's own wording is kept
    }
    # What was typed is never echoed back.
    assert "grace@" not in str(form.errors) and "green" not in str(form.errors)
    assert _Example({}).errors["email"] == ["Enter email address"]


def test_the_error_summary_links_every_error_to_its_field(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    page = sign_in(world.holder).post(reverse("portal:change-email"), {"email": "grace@"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "<title>Error: " in html
    assert f'<a href="#id_email">{EMAIL_FORMAT}</a>' in html
    assert "grace@&quot;" not in html and "&#x27;grace@" not in html


def test_a_refusal_is_a_styled_page_that_keeps_the_persons_place(
    world: World, sign_in: Callable[[Person], Client]
) -> None:
    client = sign_in(world.holder)
    page = client.get(reverse("portal:person-create"), HTTP_REFERER="http://testserver/my-details/")
    html = page.content.decode()
    assert page.status_code == 403
    assert '<main class="nhsuk-main-wrapper" id="maincontent">' in html
    assert 'href="/my-details/">Go back to the page you were on' in html
    assert reverse("portal:help-contacts") in html
    # A referer from elsewhere is not offered as the way back.
    other = client.get(reverse("portal:person-create"), HTTP_REFERER="https://evil.example/x")
    assert "evil.example" not in other.content.decode()


def test_an_unknown_page_is_a_styled_404(world: World, sign_in: Callable[[Person], Client]) -> None:
    page = sign_in(world.holder).get("/no-such-page/")
    assert page.status_code == 404
    html = page.content.decode()
    assert "Page not found" in html and 'id="maincontent"' in html
    assert reverse("portal:help") in html


def test_an_expired_form_keeps_the_answers_apart_from_secrets(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.holder, backend="django.contrib.auth.backends.ModelBackend")
    url = reverse("portal:change-email")
    client.get(url)
    answer = client.post(
        url,
        {"email": "hana@example.org", "code": "123456", "csrfmiddlewaretoken": "stale"},
        HTTP_ORIGIN="http://testserver",
        HTTP_REFERER=f"http://testserver{url}",
    )
    html = answer.content.decode()
    assert answer.status_code == 403
    assert "This page has expired" in html and 'id="maincontent"' in html
    assert "We have kept your answers" in html
    assert f'href="{url}"' in html
    # Back on the form, the answer is there to check and send again; only once.
    form = client.get(url).content.decode()
    assert 'value="hana@example.org"' in form
    assert "123456" not in form
    assert 'value="hana@example.org"' not in client.get(url).content.decode()


def test_a_form_posted_from_another_site_keeps_nothing(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.holder, backend="django.contrib.auth.backends.ModelBackend")
    url = reverse("portal:change-email")
    answer = client.post(url, {"email": "evil@example.org"}, HTTP_ORIGIN="https://evil.example")
    assert answer.status_code == 403
    assert "We have kept your answers" not in answer.content.decode()
    assert "evil@example.org" not in client.get(url).content.decode()


@pytest.mark.django_db
def test_cookies_and_privacy_are_in_every_footer_and_name_only_necessary_cookies(
    client: Client,
) -> None:
    sign_in_page = client.get(reverse("portal:sign-in")).content.decode()
    footer = sign_in_page[sign_in_page.index("<footer") :]
    assert 'href="/cookies/"' in footer and 'href="/privacy/"' in footer
    cookies = client.get(reverse("portal:cookies")).content.decode()
    assert "sessionid" in cookies and "csrftoken" in cookies
    assert "analytics" in cookies  # says there are none
    assert client.get(reverse("portal:privacy")).status_code == 200
