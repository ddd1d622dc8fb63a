"""A directory ready for imports: an RA covering the samples' area, and a service desk."""

from __future__ import annotations

from pathlib import Path

import pytest

from cis.organisations.models import RegistrationAuthority
from cis.people.models import Person
from cis.rights.models import Right
from tests.factories.directory import (
    PersonFactory,
    RegistrationAuthorityFactory,
    RightGrantFactory,
)

SAMPLES = Path(__file__).resolve().parents[2] / "examples" / "imports"
ODS_ORDER = ("epharmacyhq", "edispensary", "epraccur", "etr", "ets")


def sample(name: str) -> bytes:
    return (SAMPLES / f"{name}-sample.csv").read_bytes()


@pytest.fixture
def area_ra(db: None) -> RegistrationAuthority:
    return RegistrationAuthorityFactory(code="RAQZZ", name="Testshire RA", geographies=["QZZ"])


@pytest.fixture
def desk(db: None) -> Person:
    person = PersonFactory()
    RightGrantFactory(person=person, right=Right.SERVICE_DESK)
    return person
