"""`python -m bench.served`: it really serves CIS with `cis serve`, drives it and OpenSSL's
responder with wrk, and prints BENCH lines; nothing here is timed (figures go in bench/)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER = os.environ.get("DATABASE_URL", "")
LINE = re.compile(
    r"^BENCH name=(\S+) value=([0-9.]+) unit=(\S+) baseline=([0-9.]+) "
    r"ratio=([0-9.]+) goal=([0-9.]+)$"
)

pytestmark = pytest.mark.skipif(
    not SERVER.startswith("postgres"), reason="the HTTP benchmarks run on PostgreSQL"
)


def test_a_tiny_run_reaches_cis_serve_and_openssl_and_prints_bench_lines() -> None:
    database = urlunsplit(urlsplit(SERVER)._replace(path=f"/cis_bench_{secrets.token_hex(4)}"))
    figures = ("http_ocsp_cached_vs_openssl", "http_token_grants", "revoke_10k_seconds")
    command = [sys.executable, "-m", "bench.served", "--size", "tiny", "--seconds", "1"]
    command += ["--rounds", "1", "--database", database]
    for name in figures:
        command += ["--only", name]
    done = subprocess.run(  # noqa: S603
        command, cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = {}
    for line in done.stdout.splitlines():
        match = LINE.match(line)
        assert match is not None, line
        lines[match[1]] = match
    assert set(lines) == set(figures)
    # Both responders answered: CIS's rate over OpenSSL's, both above nothing.
    ocsp = lines["http_ocsp_cached_vs_openssl"]
    assert ocsp[3] == "x"
    assert float(ocsp[4]) > 0  # OpenSSL's rate
    assert float(ocsp[2]) > 0  # CIS's, over it
    assert float(lines["http_token_grants"][2]) > 0
    # Every revocation went through the API, into the CRL, and out of OCSP as revoked.
    assert "warning" not in done.stderr, done.stderr[-3000:]
    assert re.search(r"(\d[\d,]*) of \1 revoked in", done.stderr), done.stderr[-3000:]
    assert re.search(r"\((\d[\d,]*) of them answered revoked\)", done.stderr)
