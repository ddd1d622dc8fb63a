"""The shared base model: creation and update times on every domain row."""

from __future__ import annotations

from django.db import models


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class OneTimeCode(TimestampedModel):
    """A one-time code waiting to be used, kept only as a keyed digest (cis.core.codes)."""

    code_digest = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    superseded = models.BooleanField(default=False)

    class Meta:
        abstract = True


class RateCount(models.Model):
    """Hits on one rate limit in one window, counted in the database when there is no Redis,
    so that every worker and every machine counts against the same allowance."""

    name = models.CharField(max_length=200)  # the limit and who it counts: "card:127.0.0.1"
    bucket = models.BigIntegerField()  # the window's number: its start time / its length
    hits = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "bucket"], name="core_ratecount_name_bucket")
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.hits} in window {self.bucket}"
