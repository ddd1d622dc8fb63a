"""Every answer carries the Content-Security-Policy and Permissions-Policy, and is not cached."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from cis.core.middleware import content_security_policy


def _policy(response: Any) -> dict[str, str]:
    header = response.get("Content-Security-Policy") or response.get(
        "Content-Security-Policy-Report-Only"
    )
    assert header, "no Content-Security-Policy"
    return {
        name: value
        for name, _, value in (d.strip().partition(" ") for d in header.split(";") if d.strip())
    }


@pytest.mark.parametrize("path", ["/sign-in/", "/api/v1/me/", "/nowhere/", "/healthz"])
def test_no_inline_code_is_allowed_anywhere(db: None, path: str) -> None:
    policy = _policy(Client().get(path))
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in " ".join(policy.values())


def test_the_policy_is_enforced_by_default(db: None) -> None:
    response = Client().get("/sign-in/")
    assert response["Content-Security-Policy"] == content_security_policy()
    assert "Content-Security-Policy-Report-Only" not in response


def test_the_policy_can_be_only_reported(db: None, settings: Any) -> None:
    settings.CIS_CSP_REPORT_ONLY = True
    response = Client().get("/sign-in/")
    assert response["Content-Security-Policy-Report-Only"] == content_security_policy()
    assert "Content-Security-Policy" not in response


@pytest.mark.parametrize("path", ["/sign-in/", "/api/v1/me/", "/nowhere/", "/api/v1/nowhere/"])
def test_pages_and_api_answers_are_never_stored(db: None, path: str) -> None:
    response = Client().get(path)
    assert response["Cache-Control"] == "no-store"
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


def test_the_card_agent_may_be_reached_from_portal_pages(settings: Any) -> None:
    settings.CIS_AGENT_URL = "http://127.0.0.1:31505"
    assert "connect-src 'self' http://127.0.0.1:31505" in content_security_policy()
