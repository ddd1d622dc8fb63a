"""Fixtures for the workflow tests: a desk to work at."""

from __future__ import annotations

import pytest

from .desk import Desk, build_desk


@pytest.fixture
def desk(db: None) -> Desk:
    return build_desk()
