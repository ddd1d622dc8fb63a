"""Rate limits hold when many clients hit them at once, through every worker of `cis serve`.

A limit counted in one worker's memory would let each worker grant the whole allowance: with
the default 2 workers, twice the limit. CIS counts in Redis when configured, else in the
database (`cis.core.ratelimit`). Each check sends many more requests than the limit allows, all
at once from one client address, and counts what got through.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from tests.live import LiveCis

from .conftest import Figures

pytestmark = pytest.mark.timeout(900)
CARD_STEPS_PER_MINUTE = 30  # the card steps open to anyone holding a card (CardThrottle)


@pytest.fixture
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCis]:
    live = LiveCis(tmp_path_factory.mktemp("limits"), settings_module="cis.config.settings.base")
    try:
        live.cis("migrate", "--no-input", "-v", "0", timeout=600)
        live.start(workers=2, args=("--skip-collectstatic",))
        yield live
    finally:
        live.close()


def _burst(url: str, path: str, clients: int, each: int) -> Counter[int]:
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client() -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            barrier.wait(timeout=60)
            for _ in range(each):
                status = http.post(path).status_code
                with lock:
                    statuses[status] += 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return statuses


def test_card_step_limit_under_concurrent_clients(served: LiveCis, figures: Figures) -> None:
    statuses = _burst(served.url, "/api/v1/agent/challenge/", clients=20, each=5)
    figures["db"] = "-"
    figures["sent"] = sum(statuses.values())
    figures["allowed"] = statuses[201]
    figures["limited"] = statuses[429]
    figures["limit"] = CARD_STEPS_PER_MINUTE
    assert statuses[201] + statuses[429] == sum(statuses.values()), statuses
    assert statuses[201] <= CARD_STEPS_PER_MINUTE, statuses
