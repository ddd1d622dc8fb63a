"""Organisations by ODS code, their hierarchy, and the Registration Authorities that serve them."""

from __future__ import annotations

from django.db import models

from cis.core.models import TimestampedModel


class RegistrationAuthority(TimestampedModel):
    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    # How holders and escalations reach the RA (README "Registration Authorities").
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    hours = models.CharField(max_length=200, blank=True)
    address = models.CharField(max_length=300, blank=True)
    # The RA's area: ODS health-geography codes (ICBs, sub-ICB locations). Organisations an ODS
    # import creates in one of these are served by this RA.
    geographies = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "registration authorities"

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class OrganisationType(models.TextChoices):
    COMMUNITY_PHARMACY = "community_pharmacy", "Community pharmacy"
    PHARMACY_HEAD_OFFICE = "pharmacy_head_office", "Pharmacy head office"
    GP_PRACTICE = "gp_practice", "GP practice"
    NHS_TRUST = "nhs_trust", "NHS trust"
    NHS_TRUST_SITE = "nhs_trust_site", "NHS trust site"
    RA_HOST = "ra_host", "Registration Authority host"
    OTHER = "other", "Other"


class OrganisationStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Organisation(TimestampedModel):
    ods_code = models.CharField(max_length=6, unique=True)
    name = models.CharField(max_length=200)
    org_type = models.CharField(max_length=32, choices=OrganisationType.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    serving_ra = models.ForeignKey(
        RegistrationAuthority, on_delete=models.PROTECT, related_name="organisations"
    )
    status = models.CharField(
        max_length=8, choices=OrganisationStatus.choices, default=OrganisationStatus.OPEN
    )
    closed_on = models.DateField(null=True, blank=True)
    address = models.CharField(max_length=300, blank=True)
    # ODS's "High Level Health Geography" (the ICB or sub-ICB location); routes it to an RA.
    geography = models.CharField(max_length=10, blank=True)
    opened_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["ods_code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.ods_code})"

    @property
    def is_open(self) -> bool:
        return self.status == OrganisationStatus.OPEN
