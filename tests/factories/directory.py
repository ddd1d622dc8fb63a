"""Factories for the directory: RAs, organisations, people, positions, assignments and rights.

They write rows directly because they build fixtures; everything under test goes through services.
"""

from __future__ import annotations

import datetime as dt

import factory

from cis.core import clock
from cis.organisations.models import Organisation, OrganisationType, RegistrationAuthority
from cis.people.models import AssuranceLevel, Person, PersonStatus
from cis.rbac.models import Activity, JobRole, Position, PositionAssignment
from cis.rights.models import RightGrant


class RegistrationAuthorityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RegistrationAuthority
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"RA{n:03d}")
    name = factory.Sequence(lambda n: f"Registration Authority {n}")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    ods_code = factory.Sequence(lambda n: f"F{n % 10000:04d}")
    name = factory.Sequence(lambda n: f"Pharmacy {n}")
    org_type = OrganisationType.COMMUNITY_PHARMACY
    serving_ra = factory.SubFactory(RegistrationAuthorityFactory)


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    user_id = factory.Sequence(lambda n: f"{555000000000 + n:012d}")
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    date_of_birth = factory.LazyFunction(lambda: dt.date(1985, 5, 17))
    email = factory.LazyAttribute(lambda p: f"{p.user_id}@example.nhs.uk")
    email_verified_at = factory.LazyFunction(clock.now)
    mobile = "+447700900123"
    mobile_verified_at = factory.LazyFunction(clock.now)
    status = PersonStatus.ACTIVE
    assurance_level = AssuranceLevel.HIGH
    password = "!unusable"  # noqa: S105 - Django's marker for an unusable password


class JobRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JobRole
        django_get_or_create = ("code",)

    code = "R8000"
    name = "Clinical Practitioner Access Role"
    sector_code = "S8000"
    group_code = "G8000"


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity
        django_get_or_create = ("code",)

    code = "B0825"
    name = "Amend patient demographics"


class PositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Position
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Pharmacist {n}")
    assignable = False

    @factory.post_generation
    def job_roles(self, create: bool, extracted: list[JobRole] | None, **kwargs: object) -> None:
        if create:
            self.job_roles.set(extracted or [JobRoleFactory()])


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PositionAssignment

    person = factory.SubFactory(PersonFactory)
    position = factory.SubFactory(PositionFactory)
    start_date = factory.LazyFunction(lambda: clock.today() - dt.timedelta(days=30))
    end_date = None


class RightGrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RightGrant

    person = factory.SubFactory(PersonFactory)
    right = "lsa"
    start_date = factory.LazyFunction(lambda: clock.today() - dt.timedelta(days=30))
