"""Property test on one-time codes for a new email or mobile: whatever is sent as the code, the
answer is a clear 400 or 409 in the API's shape, and only a code that was checked counts."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cis.people.models import ContactVerification
from cis.people.services import contact_change_start

from .conftest import Caller, World

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
CODES = st.one_of(
    st.from_regex(r"[0-9]{6}", fullmatch=True),
    st.from_regex(r"\s*[0-9 -]{0,12}\s*", fullmatch=True),
    st.text(max_size=30),
    JSON_VALUES,
)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(code=CODES)
def test_any_code_gets_a_clear_answer(world: World, call: Caller, code: Any) -> None:
    ContactVerification.objects.filter(person=world.holder).delete()  # a fresh hour's allowance
    pending = contact_change_start(
        actor=world.holder, person=world.holder, channel="email", new_value="new@nhs.net"
    )
    response = call(
        "holder", "post", f"/api/v1/me/contact-verifications/{pending.pk}/confirm/", {"code": code}
    )
    assert response.status_code in (400, 409), response.content[:300]
    body = json.loads(response.content)
    assert body["error"] and body["detail"], body
    pending.refresh_from_db()
    assert pending.attempts == (1 if body["error"] == "wrong_code" else 0), body
