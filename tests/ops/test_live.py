"""/metrics and /readyz over real HTTP to `cis serve` with several gunicorn workers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.live import LiveCis

REQUESTS = 40


def _value(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def test_metrics_add_up_every_worker_and_readyz_follows_migrations(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    live = LiveCis(tmp_path_factory.mktemp("cis-metrics"))
    try:
        live.migrate()
        live.init_ca()
        live.start(workers=3)
        with httpx.Client(base_url=live.url, timeout=30) as client:
            # Eight at a time: a sync worker answers one at once, so several workers answer.
            with ThreadPoolExecutor(max_workers=8) as pool:
                answers = list(
                    pool.map(
                        lambda _: httpx.get(f"{live.url}/pki/ca.pem", timeout=60), range(REQUESTS)
                    )
                )
            assert all(a.status_code == 200 for a in answers)
            # Whichever worker answers each scrape, the count is the whole server's.
            for _ in range(6):
                text = client.get("/metrics").text
                labels = {"route": "/pki/ca.pem", "method": "GET", "status": "200"}
                assert _value(text, "cis_http_requests_total", **labels) == REQUESTS
                for family in text_string_to_metric_families(text):
                    assert family.name.startswith("cis_"), family.name
            # Each process counts in a file of its own (counter_<pid>.db); the master counts no
            # requests, so two files besides its own mean two workers answered.
            assert live.process is not None
            pids = {
                p.stem.removeprefix("counter_")
                for p in Path(live.data_dir, "run", "metrics").glob("*/counter_*.db")
            }
            assert len(pids - {str(live.process.pid)}) >= 2, "more than one worker counted"
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert {k for k, v in ready.json()["checks"].items() if v["ok"]} == {
                "database", "migrations", "ca_key"
            }  # fmt: skip

            live.cis("migrate", "jobs", "zero", "--no-input", "-v", "0")
            not_ready = client.get("/readyz")
            assert not_ready.status_code == 503
            assert "run cis migrate" in not_ready.json()["checks"]["migrations"]["detail"]
            assert client.get("/healthz").status_code == 200  # alive, just not ready
            live.migrate()
            assert client.get("/readyz").status_code == 200
    finally:
        live.close()


def test_cis_check_deploy_is_clean_under_the_production_settings(tmp_path: Path) -> None:
    live = LiveCis(
        tmp_path,
        settings_module="cis.config.settings.production",
        extra_env={"CIS_SECRET_KEY": "k" * 24 + "-not-a-real-secret-but-long-and-varied-0123"},
    )
    try:
        result = live.cis("check", "--deploy", "--fail-level", "WARNING", check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "no issues" in result.stdout
    finally:
        live.close()
