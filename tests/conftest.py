"""Shared fixtures: a clean clock, and a small directory to act in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cis.core import clock
from cis.notify.sms import MemorySmsSender
from cis.pki import authority
from tests.live import live_cis, live_demo  # noqa: F401 - shared fixtures for tests over real HTTP


@pytest.fixture(autouse=True)
def _reset_process_state() -> Iterator[None]:
    """The clock, the SMS outbox and the remembered CA start afresh, as each test's database."""
    clock.reset()
    MemorySmsSender.outbox.clear()
    authority.forget_current()
    yield
    clock.reset()
    authority.forget_current()


@pytest.fixture(autouse=True)
def _data_dir(tmp_path_factory: pytest.TempPathFactory, settings: object) -> None:
    settings.DATA_DIR = tmp_path_factory.mktemp("cis-data")  # type: ignore[attr-defined]
