"""Fixtures for the provider's tests: a registered client, a signed-in holder, a time machine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from django.utils import timezone

from cis.oidc.clients import NewClient

from .support import Holder, holder, new_client


@pytest.fixture
def rp(db: None) -> NewClient:
    return new_client()


@pytest.fixture
def asha(db: None) -> Holder:
    return holder()


@pytest.fixture
def travel(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[float], None]]:
    """Move every clock forward: Django's (the toolkit's code expiry) and so CIS's as well."""
    real_now = timezone.now
    offset = [dt.timedelta(0)]
    monkeypatch.setattr(timezone, "now", lambda: real_now() + offset[0])

    def move(seconds: float) -> None:
        offset[0] += dt.timedelta(seconds=seconds)

    yield move
