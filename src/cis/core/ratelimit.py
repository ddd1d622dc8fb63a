"""Rate limits that hold across every worker and machine: counted in Redis when CIS has one
(`CIS_REDIS_URL`), else in the database, never in one process's memory.

Counting is a sliding window, approximated from two fixed windows as large proxies do: the
hits of the current window plus the previous window's, weighted by how much of it still lies
within the last `window_seconds`. A hit is counted by one atomic increment (Redis INCR, or one
INSERT ... ON CONFLICT DO UPDATE ... RETURNING), so concurrent callers on any number of
processes can never both take the last place; a refused hit is taken back, so that a client
that keeps knocking is let in again once its earlier hits have aged out.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass

from django.conf import settings

from . import sql
from .models import RateCount

PRUNE_ONE_IN = 200  # how often a hit also deletes windows too old to count


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until a refused caller may try again (0 when allowed)


def hit(key: str, *, limit: int, window_seconds: int, now: float | None = None) -> Verdict:
    """Count one hit on `key`; allowed while the hits of the last `window_seconds` stay within
    `limit`."""
    now = time.time() if now is None else now
    window = int(now // window_seconds)
    elapsed = (now - window * window_seconds) / window_seconds
    store = _redis_count if uses_redis() else _database_count
    current, previous = store(key, window, window_seconds, +1)
    weighted = previous * (1 - elapsed) + current
    if weighted <= limit:
        return Verdict(True, 0)
    store(key, window, window_seconds, -1)
    # The previous window's weight falls until the total fits, or the window ends.
    wait = window_seconds * (1 - elapsed)
    if previous and current - 1 < limit:
        wait = min(wait, window_seconds * (1 - elapsed - (limit - current + 1) / previous))
    return Verdict(False, max(1, math.ceil(wait)))


def uses_redis() -> bool:
    return "redis" in str(settings.CACHES["default"]["BACKEND"]).lower()


def _redis_count(key: str, window: int, window_seconds: int, delta: int) -> tuple[int, int]:
    # django_redis ships no type hints; imported only when Redis is configured.
    from django_redis import get_redis_connection  # type: ignore[import-untyped]  # noqa: PLC0415

    redis = get_redis_connection("default")
    name = f"cis:rate:{key}:{window}"
    pipe = redis.pipeline()
    pipe.incrby(name, delta)
    pipe.expire(name, 2 * window_seconds + 1)
    pipe.get(f"cis:rate:{key}:{window - 1}")
    current, _, previous = pipe.execute()
    return int(current), int(previous or 0)


def _database_count(key: str, window: int, window_seconds: int, delta: int) -> tuple[int, int]:
    table = RateCount._meta.db_table
    found = sql.one(
        f"INSERT INTO {table} (name, bucket, hits) VALUES (%s, %s, %s) "  # noqa: S608 - names from the model
        f"ON CONFLICT (name, bucket) DO UPDATE SET hits = {table}.hits + %s RETURNING hits",
        [key, window, max(delta, 0), delta],
    )
    previous = sql.one(
        f"SELECT hits FROM {table} WHERE name = %s AND bucket = %s",  # noqa: S608
        [key, window - 1],
    )
    if random.random() < 1 / PRUNE_ONE_IN:  # noqa: S311 - housekeeping, not security
        sql.execute(f"DELETE FROM {table} WHERE bucket < %s", [window - 1])  # noqa: S608
    return int(found[0]) if found else 0, int(previous[0]) if previous else 0
