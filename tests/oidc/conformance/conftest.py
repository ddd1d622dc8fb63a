"""The OpenID Foundation's OP test plans, over real HTTP against `cis serve`, with Authlib.

One installation (the demo world, served by `cis serve`) for the whole package: each test
registers its own client, so tests do not see each other's codes or tokens.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.live import LiveCis

from .rp import RelyingParty


@pytest.fixture(scope="package")
def op(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCis]:
    """The provider under test: the demo world served by `cis serve` (two workers)."""
    live = LiveCis(tmp_path_factory.mktemp("cis-conformance"))
    try:
        live.load_demo()
        live.start(workers=2)
        yield live
    finally:
        live.close()


@pytest.fixture(scope="package")
def registered(op: LiveCis) -> RelyingParty:
    """A confidential client (client_secret_basic), registered once: `cis` takes seconds."""
    return RelyingParty.register(op)


@pytest.fixture(scope="package")
def registered_other(op: LiveCis) -> RelyingParty:
    """A second client, for what one client must not be able to do with another's tokens."""
    return RelyingParty.register(op)


@pytest.fixture(scope="package")
def registered_rs256(op: LiveCis) -> RelyingParty:
    """A client registered with id_token_signed_response_alg RS256."""
    return RelyingParty.register(op, "--id-token-signed-response-alg", "RS256")


@pytest.fixture
def rp(registered: RelyingParty) -> RelyingParty:
    """The plans' client, with a fresh state and nonce for each test."""
    return registered.fresh()


@pytest.fixture
def holder(op: LiveCis) -> str:
    """The user id of a demo card holder with one active role."""
    return str(op.persona("Jack Pearson")["user_id"])
