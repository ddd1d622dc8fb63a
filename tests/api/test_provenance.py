"""Provenance is CIS's to write: a caller cannot name the request a change applies.

`request_ref` on an assignment, a right or an audit event is set only by the workflow applying
an approved request; a body that carries one is refused whole (400) and changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Caller, World, assert_error, unchanged_database

V1 = "/api/v1"


def _routes(w: World) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(persona, method, path, a body that would otherwise succeed)."""
    return [
        (
            "manager",
            "post",
            f"{V1}/rights/",
            {"person": w.colleague.user_id, "right": "lsa", "organisation": "FBR01"},
        ),
        ("manager", "post", f"{V1}/rights/{w.lsa_grant.pk}/revoke/", {}),
        (
            "agent",
            "post",
            f"{V1}/assignments/",
            {"person": w.colleague.user_id, "position": w.counter.pk},
        ),
        ("agent", "post", f"{V1}/assignments/{w.holder_assignment.pk}/end/", {}),
        ("agent", "patch", f"{V1}/people/{w.colleague.user_id}/", {"given_name": "Col"}),
        ("agent", "post", f"{V1}/people/{w.colleague.user_id}/close/", {"reason": "Left"}),
        ("agent", "post", f"{V1}/people/{w.gone.user_id}/reopen/", {}),
    ]


@pytest.mark.parametrize("index", range(7))
@pytest.mark.parametrize("ref", ["REQ-999999 <b>forged</b>", "", None])
def test_a_caller_supplied_request_ref_is_refused(
    world: World, call: Caller, index: int, ref: str | None
) -> None:
    who, method, path, body = _routes(world)[index]
    with unchanged_database():
        response = call(who, method, path, {**body, "request_ref": ref})
    found = assert_error(response, 400, "validation_failed", field="request_ref")
    assert "approved request" in found["detail"]


@pytest.mark.parametrize("index", range(7))
def test_without_it_the_change_is_made(world: World, call: Caller, index: int) -> None:
    who, method, path, body = _routes(world)[index]
    response = call(who, method, path, body)
    assert response.status_code in (200, 201), response.json()
    if "request_ref" in response.json():
        assert response.json()["request_ref"] == ""
