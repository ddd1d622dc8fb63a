"""The demo world served by `cis serve` (2 workers, as deployed), and clients from many addresses.

Rate limits count per client address; a check that needs more tries than one address is allowed
spreads them over addresses in the loopback range (127.0.x.y), as an attacker with many
addresses would.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.live import LiveCis

CARDS_SCRIPT = """
import base64, json
from cis.smartcards.models import Smartcard
from cis.smartcards.services.common import current_link
rows = []
for card in Smartcard.objects.filter(status="active").select_related("holder"):
    link = current_link(card)
    if link is not None:
        rows.append({"chip_serial": card.chip_serial, "user_id": card.holder.user_id,
                     "certificate": base64.b64encode(bytes(link.certificate.der)).decode()})
print(json.dumps(rows))
"""


@dataclass(frozen=True)
class DemoCard:
    chip_serial: str
    user_id: str
    certificate: str  # DER, base64


def demo_cards(live: LiveCis) -> list[DemoCard]:
    printed = live.shell(CARDS_SCRIPT).strip().splitlines()[-1]  # after any banner
    return [DemoCard(**row) for row in json.loads(printed)]


def start_demo(data_dir: Path, *, workers: int = 2, **env: str) -> LiveCis:
    live = LiveCis(data_dir, extra_env=env)
    live.load_demo()
    live.start(workers=workers)
    return live


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCis]:
    """The demo world on `cis serve` with 2 workers; built once, shared by the checks that
    take it (registered in conftest.py), which run in file order: the enumeration checks
    before schemathesis, whose writes change the world."""
    # The sign-in throttles (checked by test_rate_limits.py) are lifted here, so that the
    # enumeration checks compare what answers say about cards, not which card hit its limit.
    live = start_demo(
        tmp_path_factory.mktemp("demo"),
        CIS_SIGNIN_ANSWERS_PER_CARD_PER_MINUTE="1000000",
        CIS_SIGNIN_CHALLENGES_PER_MINUTE="1000000",
    )
    try:
        yield live
    finally:
        live.close()


# One sequence for the whole run: rate counts are shared by the workers and last their window,
# so a check must never reuse an address an earlier check has just spent.
_LOOPBACK = itertools.product(range(1, 255), range(1, 255))


def addresses() -> Iterator[str]:
    """127.0.1.1, 127.0.1.2, ...: loopback addresses, each a different client to CIS, never one
    that an earlier call handed out."""
    for third, fourth in _LOOPBACK:
        yield f"127.0.{third}.{fourth}"


def client_from(url: str, address: str, **kwargs: object) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=url, transport=transport, timeout=30, **kwargs)  # type: ignore[arg-type]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
