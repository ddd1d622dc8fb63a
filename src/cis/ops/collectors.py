"""Figures read from the database when Prometheus scrapes: queue sizes and ages, job runs.

They are facts about the data, not counts of this process's work, so every process reports the
same values and none of them lives in the multiprocess directory. Five short statements a scrape.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Min
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from cis.core import clock
from cis.jobs.models import JobResult, JobStat
from cis.smartcards.models import CardOperation
from cis.workflow.models import Escalation, Notification, Request
from cis.workflow.states import OPEN


def _queues() -> list[tuple[str, Any, str]]:
    now = clock.now()
    return [
        ("requests", Request.objects.filter(state__in=sorted(OPEN)), "raised_at"),
        ("escalations", Escalation.objects.filter(closed_at__isnull=True), "raised_at"),
        ("notifications", Notification.objects.filter(sent_at__isnull=True), "created_at"),
        (
            "card_operations",
            CardOperation.objects.filter(
                completed_at__isnull=True, abandoned_at__isnull=True, expires_at__gt=now
            ),
            "created_at",
        ),
    ]


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[Any]:
        now = clock.now()
        size = GaugeMetricFamily(
            "cis_queue_size",
            "Work waiting: open requests, open escalations, unsent emails, card operations "
            "under way.",
            labels=["queue"],
        )
        age = GaugeMetricFamily(
            "cis_queue_oldest_age_seconds",
            "How long the oldest item in each queue has waited (0 when empty).",
            labels=["queue"],
        )
        for name, rows, since in _queues():
            found = rows.aggregate(n=Count("id"), oldest=Min(since))
            size.add_metric([name], found["n"])
            oldest = found["oldest"]
            age.add_metric([name], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        yield size
        yield age
        runs = CounterMetricFamily(
            "cis_job_runs", "Runs of each scheduled job, by result.", labels=["job", "result"]
        )
        last = GaugeMetricFamily(
            "cis_job_last_success_timestamp_seconds",
            "When each job last finished its work (Unix time).",
            labels=["job"],
        )
        for stat in JobStat.objects.order_by("job", "result"):
            runs.add_metric([stat.job, stat.result], stat.runs)
            if stat.result == JobResult.OK:
                last.add_metric([stat.job], stat.last_at.timestamp())
        yield runs
        yield last
