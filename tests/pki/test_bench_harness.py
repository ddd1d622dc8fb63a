"""The benchmark harness and the CA's benchmarks run (briefly) and print the agreed line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from bench import harness
from bench import pki as pki_bench

LINE = re.compile(
    r"^BENCH name=(\S+) value=([0-9.]+) unit=(\S+) baseline=([0-9.]+) "
    r"ratio=([0-9.]+) goal=([0-9.]+)$"
)


def test_line_format() -> None:
    b = harness.Benchmark("pki_x", "responses/s", 1200, lambda bench: lambda: None)
    line = harness.format_line(harness.Result(b, 600.0, [600.0]), 2400.0)
    match = LINE.match(line)
    assert match is not None, line
    assert match.groups() == ("pki_x", "600.0", "responses/s", "2400.0", "0.250", "1200")


def test_the_ca_benchmarks_are_registered() -> None:
    names = {b.name for b in harness.REGISTRY}
    assert {
        "pki_certificate_issue",
        "pki_certificate_issue_console",
        "pki_ocsp_signed",
        "pki_ocsp_cached",
    } <= names


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """As Django's test client does: a request must not close the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.usefixtures("keep_test_connection")
def test_each_ca_benchmark_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pki_bench, "POOL", 8)
    bench = harness.Bench(client=harness.WsgiClient(), data_dir=tmp_path)
    for prepare in (
        pki_bench.certificate_issue,
        pki_bench.certificate_issue_console,
        pki_bench.ocsp_signed,
        pki_bench.ocsp_cached,
    ):
        op = prepare(bench)
        assert harness.rate(op, seconds=0.01, min_ops=25) > 0
    status, body = bench.client.get("/pki/ca.pem")
    assert status == 200
    assert body.startswith(b"-----BEGIN CERTIFICATE-----")
