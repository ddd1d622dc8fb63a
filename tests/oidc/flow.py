"""A relying party's side of the code flow, by hand, for tests that poke at single steps."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.http import HttpResponse
from django.test import Client

from cis.oidc.clients import NewClient

from .support import ALL_SCOPES, REDIRECT_URI, query


def s256(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


@dataclass
class Attempt:
    rp: NewClient
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    state: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    def params(self, **overrides: Any) -> dict[str, str]:
        params = {
            "response_type": "code",
            "client_id": self.rp.application.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": ALL_SCOPES,
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": s256(self.verifier),
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def authorize(self, browser: Client, **overrides: Any) -> HttpResponse:
        response: HttpResponse = browser.get(
            "/oidc/authorize?" + urlencode(self.params(**overrides))
        )
        return response

    def code(self, browser: Client, **overrides: Any) -> str:
        response = self.authorize(browser, **overrides)
        assert response.status_code == 302, response.content
        location = response["Location"]
        assert location.startswith(REDIRECT_URI), location
        answer = query(location)
        assert answer.get("state") == self.state
        return answer["code"]

    def exchange(self, code: str, *, verifier: str | None = "", **extra: str) -> HttpResponse:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": self.verifier if verifier == "" else verifier,
            **extra,
        }
        return token_request(self.rp, {k: v for k, v in data.items() if v is not None})


def token_request(rp: NewClient, data: dict[str, str]) -> HttpResponse:
    basic = base64.b64encode(f"{rp.application.client_id}:{rp.client_secret}".encode()).decode()
    response: HttpResponse = Client().post(
        "/oidc/token", data=data, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    return response
