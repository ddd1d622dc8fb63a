"""How often each scheduled job has run and how it ended: one row per job and result.

`cis jobs run` runs from a timer in a process of its own, so its counts are kept in the
database, where /metrics reads them (cis_job_runs_total, cis_job_last_success_timestamp_seconds)
whichever server is scraped. One row per (job, result), counted up in place: bounded, however
long the service runs. Written only by `cis.jobs.registry.job_run_count`.
"""

from __future__ import annotations

from django.db import models


class JobResult(models.TextChoices):
    OK = "ok", "Finished"
    INCOMPLETE = "incomplete", "Partly done, the rest retried on the next run"
    FAILED = "failed", "Failed"


class JobStat(models.Model):
    job = models.CharField(max_length=40)
    result = models.CharField(max_length=12, choices=JobResult.choices)
    runs = models.BigIntegerField(default=0)
    last_at = models.DateTimeField()
    last_detail = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "result"], name="jobs_one_stat_per_result")
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.result}: {self.runs}"
