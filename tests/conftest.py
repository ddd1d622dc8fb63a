"""Shared fixtures: a clean clock, and a small directory to act in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cis.core import clock
from cis.notify.sms import MemorySmsSender


@pytest.fixture(autouse=True)
def _reset_clock_and_outbox() -> Iterator[None]:
    clock.reset()
    MemorySmsSender.outbox.clear()
    yield
    clock.reset()


@pytest.fixture(autouse=True)
def _data_dir(tmp_path_factory: pytest.TempPathFactory, settings: object) -> None:
    settings.DATA_DIR = tmp_path_factory.mktemp("cis-data")  # type: ignore[attr-defined]
