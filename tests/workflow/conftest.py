"""Fixtures for the workflow tests: a desk to work at."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django import DjangoDbBlocker

from cis.audit.chain import GENESIS
from cis.audit.models import AuditHead

from .desk import Desk, build_desk


@pytest.fixture
def desk(db: None) -> Desk:
    return build_desk()


def _put_back_the_head() -> None:
    AuditHead.objects.get_or_create(id=1, defaults={"seq": 0, "hash": GENESIS})


@pytest.fixture(autouse=True, scope="module")
def _audit_head_left_for_others(
    django_db_setup: None, django_db_blocker: DjangoDbBlocker
) -> Iterator[None]:
    """A transactional test here flushes every table, the audit head row included: put it back."""
    yield
    with django_db_blocker.unblock():
        _put_back_the_head()
