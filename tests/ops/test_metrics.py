"""/metrics and /readyz in one process: every name cis_, each counter moved by what it counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from cis.core import clock, metrics
from cis.core.errors import InvalidState, NotPermitted
from cis.jobs.models import JobStat
from cis.pki import hierarchy
from cis.workflow.models import Request
from cis.workflow.states import RequestState, RequestType
from tests.factories.directory import OrganisationFactory, PersonFactory

pytestmark = pytest.mark.django_db


def _scrape(client: Client | None = None) -> dict[str, float]:
    response = (client or Client()).get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        assert family.name.startswith("cis_"), family.name
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def _value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def test_every_name_starts_cis_and_requests_are_counted_by_route_and_status() -> None:
    client = Client()
    before = _value("cis_http_requests_total", route="/healthz", method="GET", status="200")
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    client.get("/no/such/page/")
    samples = _scrape(client)
    key = "cis_http_requests_total{method=GET,route=/healthz,status=200}"
    assert samples[key] == before + 3
    assert samples["cis_http_requests_total{method=GET,route=unmatched,status=404}"] >= 1
    assert samples["cis_http_request_duration_seconds_count{route=/healthz}"] >= 3


def test_a_route_is_its_pattern_not_the_path() -> None:
    Client().get("/api/v1/people/100000000001/")
    samples = _scrape()
    assert any("route=/api/v1/people/<str:user_id>/" in key for key in samples)
    assert not any("100000000001" in key for key in samples)


def test_ocsp_responses_are_counted_by_status() -> None:
    hierarchy.ca_init()
    before = _value("cis_ocsp_responses_total", status="malformed_request")
    response = Client().post("/pki/ocsp", data=b"not DER", content_type="application/ocsp-request")
    assert response.status_code == 200
    assert _value("cis_ocsp_responses_total", status="malformed_request") == before + 1


def test_sign_ins_are_counted_by_method_and_result() -> None:
    @metrics.counts_sign_ins("example")
    def sign_in(outcome: str) -> str:
        if outcome == "refused":
            raise NotPermitted("no")
        if outcome == "invalid_state":
            raise InvalidState("not yet")
        if outcome == "error":
            raise RuntimeError("boom")
        return "session"

    for outcome in ("success", "success", "refused", "invalid_state", "error"):
        try:
            sign_in(outcome)
        except (NotPermitted, InvalidState, RuntimeError):
            pass
    assert _value("cis_sign_ins_total", method="example", result="success") == 2
    for result in ("refused", "invalid_state", "error"):
        assert _value("cis_sign_ins_total", method="example", result=result) == 1


def test_queue_sizes_and_ages_are_read_from_the_database() -> None:
    now = clock.now()
    org = OrganisationFactory()
    for days in (1, 4):
        Request.objects.create(
            request_type=RequestType.POSITION_ADD,
            state=RequestState.SUBMITTED,
            subject=PersonFactory(),
            organisation=org,
            ra=org.serving_ra,
            raised_at=now - dt.timedelta(days=days),
            due_at=now,
        )
    samples = _scrape()
    assert samples["cis_queue_size{queue=requests}"] == 2
    age = samples["cis_queue_oldest_age_seconds{queue=requests}"]
    assert 4 * 86400 <= age < 4 * 86400 + 3600
    assert samples["cis_queue_size{queue=escalations}"] == 0
    assert samples["cis_queue_oldest_age_seconds{queue=escalations}"] == 0


def test_job_runs_are_counted_in_the_database_whichever_process_ran_them() -> None:
    call_command("jobs", "run", "--only", "expire-requests")
    call_command("jobs", "run", "--only", "expire-requests")
    stat = JobStat.objects.get(job="expire-requests", result="ok")
    assert stat.runs == 2
    samples = _scrape()
    assert samples["cis_job_runs_total{job=expire-requests,result=ok}"] == 2
    assert samples["cis_job_last_success_timestamp_seconds{job=expire-requests}"] == pytest.approx(
        stat.last_at.timestamp()
    )


def test_a_metrics_token_when_one_is_set(settings: object) -> None:
    settings.CIS_METRICS_TOKEN = "s3cret-token"  # type: ignore[attr-defined]
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    ok = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert ok.status_code == 200


def test_readyz_names_what_is_not_ready() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["ok"] and body["checks"]["migrations"]["ok"]
    assert not body["checks"]["ca_key"]["ok"]
    assert "ca init" in body["checks"]["ca_key"]["detail"]
    hierarchy.ca_init()
    ready = Client().get("/readyz")
    assert ready.status_code == 200, ready.json()
    assert ready.json()["checks"]["ca_key"]["detail"].startswith("signs")
