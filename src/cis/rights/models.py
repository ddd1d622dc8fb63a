"""CIS rights: who may administer whom, granted at an organisation or across an RA's area."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cis.core.models import TimestampedModel
from cis.organisations.models import Organisation, RegistrationAuthority


class Right(models.TextChoices):
    LSA = "lsa", "Local Smartcard Administrator"
    SPONSOR = "sponsor", "Sponsor"
    ID_CHECKER = "id_checker", "RA ID Checker"
    RA_AGENT = "ra_agent", "RA Agent"
    RA_AGENT_ADVANCED = "ra_agent_advanced", "RA Agent (Advanced)"
    RA_MANAGER = "ra_manager", "RA Manager"
    SERVICE_DESK = "service_desk", "Service desk (national)"


class RightGrant(TimestampedModel):
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="right_grants"
    )
    right = models.CharField(max_length=20, choices=Right.choices)
    # Exactly one of organisation or ra is set, except for the national service desk (neither).
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    include_children = models.BooleanField(default=False)
    ra = models.ForeignKey(
        RegistrationAuthority, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    request_ref = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["person_id", "right"]
        constraints = [
            models.CheckConstraint(
                condition=~(models.Q(organisation__isnull=False) & models.Q(ra__isnull=False)),
                name="right_scope_one_kind",
            )
        ]

    def __str__(self) -> str:
        where = self.organisation or self.ra or "national"
        return f"{self.get_right_display()} at {where}"

    @property
    def scope_label(self) -> str:
        if self.organisation is not None:
            suffix = " and its child organisations" if self.include_children else ""
            return f"{self.organisation.name} ({self.organisation.ods_code}){suffix}"
        if self.ra is not None:
            return f"every organisation served by {self.ra.name}"
        return "national"
