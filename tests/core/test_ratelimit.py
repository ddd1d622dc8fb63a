"""Shared rate limits: the allowance holds across callers, windows slide, refusals say when."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.db import connections
from django.test import override_settings

from cis.core import ratelimit
from cis.core.models import RateCount

REDIS = "redis://127.0.0.1:6379/7"


@pytest.fixture(params=["database", "redis"])
def store(request: pytest.FixtureRequest, db: None) -> Iterator[str]:
    if request.param == "database":
        yield "database"
        return
    redis_cache = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS}
    with override_settings(CACHES={"default": redis_cache}):
        from django_redis import get_redis_connection  # noqa: PLC0415

        client = get_redis_connection("default")
        try:
            client.ping()
        except Exception as exc:  # noqa: BLE001 - said in the skip reason
            pytest.skip(f"no Redis at {REDIS}: {exc}")
        for name in client.scan_iter("cis:rate:test-*"):
            client.delete(name)
        yield "redis"


def test_the_limit_holds_and_refusals_say_when(store: str) -> None:
    start = 1_000_000 * 60.0  # the start of a window
    verdicts = [
        ratelimit.hit(f"test-{store}", limit=5, window_seconds=60, now=start + 1) for _ in range(8)
    ]
    assert [v.allowed for v in verdicts] == [True] * 5 + [False] * 3
    assert all(1 <= v.retry_after <= 60 for v in verdicts[5:])
    assert ratelimit.uses_redis() == (store == "redis")


def test_the_previous_window_still_counts_for_the_part_of_it_in_reach(store: str) -> None:
    key, start = f"test-slide-{store}", 2_000_000 * 60.0
    for _ in range(10):
        assert ratelimit.hit(key, limit=10, window_seconds=60, now=start + 59).allowed
    # 6 s into the next window, 90 % of the last one is still within the last minute: 9 hits.
    assert ratelimit.hit(key, limit=10, window_seconds=60, now=start + 66).allowed
    assert not ratelimit.hit(key, limit=10, window_seconds=60, now=start + 66).allowed
    # Half way through, half the earlier hits count: 5 + 1, so four more fit.
    allowed = [ratelimit.hit(key, limit=10, window_seconds=60, now=start + 90) for _ in range(6)]
    assert [v.allowed for v in allowed] == [True] * 4 + [False] * 2


def test_refused_hits_are_not_counted(store: str) -> None:
    key, start = f"test-refused-{store}", 3_000_000 * 60.0
    for _ in range(50):
        ratelimit.hit(key, limit=3, window_seconds=60, now=start + 1)
    # Next window, 50 % weight: had the refusals counted, 25 would still block everything.
    assert ratelimit.hit(key, limit=3, window_seconds=60, now=start + 90).allowed


def test_keys_are_counted_apart(store: str) -> None:
    start = 4_000_000 * 60.0
    assert ratelimit.hit(f"test-a-{store}", limit=1, window_seconds=60, now=start).allowed
    assert ratelimit.hit(f"test-b-{store}", limit=1, window_seconds=60, now=start).allowed
    assert not ratelimit.hit(f"test-a-{store}", limit=1, window_seconds=60, now=start).allowed


@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_never_share_the_last_place(store: str) -> None:
    if store == "database" and connections["default"].vendor == "sqlite":
        pytest.skip("SQLite's in-memory test database is not shared between threads")
    start = 5_000_000 * 60.0
    allowed: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(10)

    def caller() -> None:
        barrier.wait(timeout=30)
        try:
            for _ in range(10):
                verdict = ratelimit.hit(
                    f"test-race-{store}", limit=30, window_seconds=60, now=start
                )
                with lock:
                    allowed.append(verdict.allowed)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=caller) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(allowed) == 100
    assert allowed.count(True) == 30
    if store == "database":
        assert RateCount.objects.get(name=f"test-race-{store}").hits == 30
