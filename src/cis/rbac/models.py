"""The national RBAC catalogue, and the positions people hold at organisations."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cis.core.models import TimestampedModel
from cis.organisations.models import Organisation


class CatalogueVersion(models.Model):
    """One change to the catalogue: a load of the data file, or an edit by the service desk.

    Versions only go up; every entry names the version that last changed it, and the audit
    trail holds what changed. Positions keep the roles and activities they were given.
    """

    number = models.PositiveIntegerField(unique=True)
    label = models.CharField(max_length=80)  # the data file's version, or "edit"
    made_at = models.DateTimeField()
    made_by_ref = models.CharField(max_length=40)
    made_by_name = models.CharField(max_length=200)
    summary = models.JSONField(default=dict)
    # The data file's list of sources (name -> title, publisher, url), kept with its version.
    sources = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"Catalogue version {self.number} ({self.label})"


class CatalogueEntry(TimestampedModel):
    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=200)
    # Keys into the data file's sources that this entry was checked against.
    sources = models.JSONField(default=list, blank=True)
    note = models.CharField(max_length=500, blank=True)
    retired = models.BooleanField(default=False)
    version = models.ForeignKey(
        CatalogueVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Activity(CatalogueEntry):
    # National RBAC: an activity may include others (B0825 Amend includes B0820 View).
    includes = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="+")

    class Meta(CatalogueEntry.Meta):
        verbose_name_plural = "activities"


class AreaOfWork(CatalogueEntry):
    pass


def job_role_full_code(sector_code: str, group_code: str, code: str) -> str:
    """sector:group:role (S8000:G8000:R8000) where both are known, else the R-code alone."""
    if sector_code and group_code:
        return f"{sector_code}:{group_code}:{code}"
    return code


class JobRole(CatalogueEntry):
    # Blank where no cited source gives the role's full code (see the data file's note).
    sector_code = models.CharField(max_length=8, blank=True)
    sector_name = models.CharField(max_length=100, blank=True)
    group_code = models.CharField(max_length=8, blank=True)
    group_name = models.CharField(max_length=100, blank=True)
    # The baseline policy: the activities this role carries by default.
    baseline_activities = models.ManyToManyField(Activity, blank=True, related_name="job_roles")

    @property
    def full_code(self) -> str:
        return job_role_full_code(self.sector_code, self.group_code, self.code)


class PositionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class Position(TimestampedModel):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="positions"
    )
    name = models.CharField(max_length=200)
    job_roles = models.ManyToManyField(JobRole, related_name="positions")
    activities = models.ManyToManyField(Activity, blank=True, related_name="positions")
    area_of_work = models.ForeignKey(AreaOfWork, null=True, blank=True, on_delete=models.PROTECT)
    workgroups = models.JSONField(default=list, blank=True)
    assignable = models.BooleanField(default=False)
    status = models.CharField(
        max_length=8, choices=PositionStatus.choices, default=PositionStatus.ACTIVE
    )

    class Meta:
        ordering = ["organisation__ods_code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="unique_position_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} at {self.organisation.ods_code}"


class PositionAssignment(TimestampedModel):
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments"
    )
    position = models.ForeignKey(Position, on_delete=models.PROTECT, related_name="assignments")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    request_ref = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-start_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="assignment_end_after_start",
            )
        ]
        indexes = [
            # Who works at an organisation's positions, read from the index alone: what every
            # scoped list (people, cards, certificates in an LSA's or RA's area) asks first.
            models.Index(
                fields=["position", "person", "start_date", "end_date"],
                name="rbac_assign_scope_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person_id} in {self.position}"
