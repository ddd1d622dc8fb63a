"""Start many callers at the same instant, each on its own thread and database connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections


def at_once(count: int, call: Callable[[int], Any], *, timeout: float = 60) -> list[Any]:
    """Run call(0..count-1) together; each outcome is the return value or the exception raised.

    A barrier lines the threads up so that they all reach the database together; each thread
    closes its own connections at the end, so no connection outlives the round.
    """
    barrier = threading.Barrier(count)
    outcomes: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=timeout)
            outcomes[index] = call(index)
        except BaseException as exc:  # noqa: BLE001 - the outcome is the caller's to judge
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout * 2)
        if thread.is_alive():
            raise TimeoutError(f"a caller was still running after {timeout * 2:.0f} s")
    return outcomes
