"""People: the identity behind every card, and the pending checks of their contact details."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models

from cis.core.models import OneTimeCode, TimestampedModel
from cis.organisations.models import RegistrationAuthority


class PersonStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RESTRICTED = "restricted", "Restricted (identity not verified)"
    CLOSED = "closed", "Closed"


class PersonKind(models.TextChoices):
    PERSON = "person", "Person"
    RPA = "rpa", "Robotic process (RPA)"
    TEMPORARY = "temporary", "Temporary access"


class AssuranceLevel(models.IntegerChoices):
    NONE = 0, "Not verified"
    LOW = 1, "Low (remote)"
    MEDIUM = 2, "Medium"
    HIGH = 3, "High (face to face, three documents)"


class PersonManager(BaseUserManager["Person"]):
    """Creation goes through people.services; this manager only serves Django's auth lookups."""

    def get_by_natural_key(self, username: str | None) -> Person:
        return self.get(user_id=username)

    def create_user(self, *args: Any, **kwargs: Any) -> Person:
        raise NotImplementedError("Create people with cis.people.services.person_create")


class Person(AbstractBaseUser):
    user_id = models.CharField(max_length=12, unique=True)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField(null=True, blank=True)
    email = models.EmailField(blank=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    mobile = models.CharField(max_length=16, blank=True)
    mobile_verified_at = models.DateTimeField(null=True, blank=True)
    professional_body = models.CharField(max_length=60, blank=True)
    professional_number = models.CharField(max_length=30, blank=True)
    assurance_level = models.IntegerField(
        choices=AssuranceLevel.choices, default=AssuranceLevel.NONE
    )
    status = models.CharField(
        max_length=12, choices=PersonStatus.choices, default=PersonStatus.RESTRICTED
    )
    kind = models.CharField(max_length=12, choices=PersonKind.choices, default=PersonKind.PERSON)
    # RPA and temporary-access profiles only: the last day they may act (README "Kinds").
    access_ends_on = models.DateField(null=True, blank=True)
    registered_ra = models.ForeignKey(
        RegistrationAuthority,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="registered_people",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    USERNAME_FIELD = "user_id"
    REQUIRED_FIELDS: ClassVar[list[str]] = []
    objects = PersonManager()

    class Meta:
        ordering = ["family_name", "given_name", "user_id"]
        indexes = [models.Index(fields=["family_name", "given_name"])]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.user_id})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]  # Django reads this as an attribute
        # Closed profiles cannot sign in; restricted ones can, to see their own details.
        return self.status != PersonStatus.CLOSED

    @property
    def access_ended(self) -> bool:
        """An RPA or temporary-access profile past its end date: it may no longer act."""
        from cis.core import clock  # noqa: PLC0415 - models import no services at load

        return self.access_ends_on is not None and self.access_ends_on < clock.today()

    @property
    def is_staff(self) -> bool:
        return False


class IdentityCheck(TimestampedModel):
    """A face-to-face identity check: document types seen (never their numbers), who, when."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="identity_checks")
    # None when the server console recorded the check; its audit event names the operator.
    checker = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    checked_on = models.DateField()
    document_types = models.JSONField(default=list)
    assurance_level = models.IntegerField(choices=AssuranceLevel.choices)
    photo = models.BinaryField(null=True, blank=True)
    notes = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-checked_on", "-id"]


class ContactChannel(models.TextChoices):
    EMAIL = "email", "Email"
    MOBILE = "mobile", "Mobile"


class ContactVerification(OneTimeCode):
    """A new email or mobile waiting for the one-time code sent to it (cis.core.codes)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=8, choices=ContactChannel.choices)
    new_value = models.CharField(max_length=254)

    class Meta:
        ordering = ["-created_at"]
