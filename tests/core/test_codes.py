"""The one one-time-code component (contact verification and self-unlock both use it), and the
one digest helper."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cis.core import clock, codes, digests
from cis.core.errors import InvalidState, WrongCode
from cis.people.models import ContactVerification
from tests.factories.directory import PersonFactory

pytestmark = pytest.mark.django_db
PURPOSE = "contact:email"


def _issue(person: object) -> tuple[ContactVerification, str]:
    return codes.issue(
        ContactVerification.objects.filter(person=person, channel="email"),
        purpose=PURPOSE,
        person=person,
        channel="email",
        new_value="new@nhs.net",
    )


def test_a_code_is_six_digits_kept_only_as_a_digest_bound_to_its_purpose() -> None:
    before = clock.now()
    row, code = _issue(PersonFactory())
    assert len(code) == 6 and code.isdigit()
    assert code not in row.code_digest
    assert row.code_digest == digests.keyed_digest(code, purpose=PURPOSE)
    assert row.code_digest != digests.keyed_digest(code, purpose="card-unlock:1")
    assert (
        before + dt.timedelta(minutes=15)
        <= row.expires_at
        <= clock.now() + dt.timedelta(minutes=15)
    )


def test_the_right_code_is_used_once() -> None:
    row, code = _issue(PersonFactory())
    assert codes.check(row, f" {code} ", purpose=PURPOSE) is None
    assert row.used_at is not None
    with pytest.raises(InvalidState, match="already been used"):
        codes.check(row, code, purpose=PURPOSE)


def test_a_new_code_replaces_the_old_one() -> None:
    person = PersonFactory()
    first, code = _issue(person)
    _issue(person)
    first.refresh_from_db()
    with pytest.raises(InvalidState, match="newer code"):
        codes.check(first, code, purpose=PURPOSE)


def test_an_expired_code_says_how_long_codes_last(settings: object) -> None:
    settings.CIS_OTP_LIFETIME_SECONDS = 10 * 60  # type: ignore[attr-defined]
    row, code = _issue(PersonFactory())
    clock.travel(dt.timedelta(minutes=11))
    with pytest.raises(InvalidState, match=r"codes last 10 minutes"):
        codes.check(row, code, purpose=PURPOSE)


def test_wrong_codes_count_until_none_are_left() -> None:
    row, code = _issue(PersonFactory())
    wrong = "0" * 6 if code != "0" * 6 else "1" * 6
    messages = [str(codes.check(row, wrong, purpose=PURPOSE)) for _ in range(5)]
    assert messages[0] == "That code is not right. 4 attempts left."
    assert messages[3] == "That code is not right. 1 attempt left."
    assert "no attempts are left" in messages[4]
    row.refresh_from_db()
    assert row.attempts == 5
    with pytest.raises(InvalidState, match="Too many wrong codes"):
        codes.check(row, code, purpose=PURPOSE)  # even the right one, now


def test_codes_an_hour_are_limited() -> None:
    person = PersonFactory()
    for _ in range(5):
        assert not codes.sent_too_often(ContactVerification.objects.filter(person=person))
        _issue(person)
    assert codes.sent_too_often(ContactVerification.objects.filter(person=person))


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    attempt=st.text(max_size=20)
    | st.from_regex(r"\s*[0-9]{1,8}\s*", fullmatch=True)
    | st.none()
    | st.integers()
)
def test_any_input_is_the_code_or_one_counted_wrong_attempt(attempt: object) -> None:
    row, code = _issue(PersonFactory())
    result = codes.check(row, attempt, purpose=PURPOSE)
    row.refresh_from_db()
    if isinstance(attempt, str) and attempt.strip() == code:
        assert result is None and row.used_at is not None
    else:
        assert isinstance(result, WrongCode) and result.field == "code"
        assert (row.attempts, row.used_at) == (1, None)


def test_one_digest_for_high_entropy_secrets() -> None:
    assert digests.secret_digest("abc") == digests.secret_digest(b"abc")
    assert len(digests.secret_digest("abc")) == 64
    assert digests.digests_match(digests.secret_digest("x"), digests.secret_digest("x"))
