"""A silent or stopped PostgreSQL makes web requests fail fast, and the service recovers by itself.

Through a TCP proxy the test controls (reliability/tcpproxy.py), so the shared server is never
touched. The timings themselves are measured in reliability/test_database_faults.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError, connection, connections
from django.test import Client
from reliability.tcpproxy import TcpProxy

from cis.core import dbguard


@pytest.fixture
def through_proxy(db: None, settings: Any) -> Iterator[tuple[Any, TcpProxy]]:
    if connection.vendor != "postgresql":
        pytest.skip("the time limits are PostgreSQL's (SQLite is a file in the same process)")
    params = connection.settings_dict
    proxy = TcpProxy((params["HOST"] or "127.0.0.1", int(params["PORT"] or 5432)))
    settings.CIS_DB_QUERY_TIMEOUT_SECONDS = 1
    wrapper = connections.create_connection("default")
    wrapper.settings_dict = {**wrapper.settings_dict, "HOST": "127.0.0.1", "PORT": proxy.port}
    wrapper.alias = "proxied"
    try:
        yield wrapper, proxy
    finally:
        proxy.forward()
        wrapper.close()
        proxy.close()
        dbguard.reset()


def _select_one(wrapper: Any) -> None:
    with dbguard.limited(), wrapper.cursor() as cursor:
        cursor.execute("SELECT 1")


def test_a_statement_the_database_never_answers_is_cut(through_proxy: Any) -> None:
    wrapper, proxy = through_proxy
    _select_one(wrapper)  # connected, and answering
    proxy.silence()
    with pytest.raises(OperationalError):
        _select_one(wrapper)
    assert dbguard.is_down("proxied")
    proxy.forward()
    recovered = threading.Event()

    def wait_for_recovery() -> None:
        while dbguard.is_down("proxied"):
            recovered.wait(0.1)
        recovered.set()

    waiter = threading.Thread(target=wait_for_recovery, daemon=True)
    waiter.start()
    waiter.join(timeout=60)
    assert recovered.is_set(), "the probe never found the database again"


def test_outside_a_web_request_statements_are_not_limited(through_proxy: Any) -> None:
    wrapper, _ = through_proxy
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(1.5)")  # longer than the limit: not cut
    assert not dbguard.is_down("proxied")


def test_a_refused_connection_trips_the_breaker(through_proxy: Any) -> None:
    wrapper, proxy = through_proxy
    proxy.stop()
    with pytest.raises(OperationalError):
        _select_one(wrapper)
    assert dbguard.is_down("proxied")


def test_while_the_database_is_down_requests_get_503_and_healthz_says_so(db: None) -> None:
    dbguard._open.add("default")  # as a failed connection would leave it
    try:
        page = Client().get("/sign-in/")
        api = Client().get("/api/v1/me/")
        health = Client().get("/healthz")
    finally:
        dbguard.reset()
    assert page.status_code == 503 and b"the service is unavailable" in page.content
    assert api.status_code == 503 and api.json()["error"] == "unavailable"
    assert health.status_code == 503 and health.json() == {
        "status": "unavailable",
        "database": False,
    }
    assert Client().get("/healthz").status_code == 200
