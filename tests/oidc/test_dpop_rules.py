"""DPoP's rules that need no server to show (the protocol is tested over HTTP in
conformance/test_dpop.py): how `htu` is compared, and how long a server nonce stays good."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cis.oidc import dpop
from cis.oidc.constants import DPOP_NONCE_SECONDS

TOKEN = "https://cis.example.nhs.uk/oidc/token"


@pytest.mark.parametrize(
    "htu",
    [
        TOKEN,
        "HTTPS://CIS.example.NHS.uk/oidc/token",  # scheme and host are case-insensitive
        "https://cis.example.nhs.uk:443/oidc/token",  # the default port written out
        f"{TOKEN}?client=1#part",  # query and fragment ignored (§4.3)
    ],
)
def test_htu_is_the_same_uri_once_normalised(htu: str) -> None:
    assert dpop._same_uri(htu, TOKEN)


@pytest.mark.parametrize(
    "htu",
    [
        "https://cis.example.nhs.uk/oidc/userinfo",
        "https://cis.example.nhs.uk/OIDC/token",  # the path is case-sensitive
        "http://cis.example.nhs.uk/oidc/token",
        "https://cis.example.nhs.uk:8443/oidc/token",
        "https://elsewhere.example/oidc/token",
        "https://cis.example.nhs.uk:bad/oidc/token",
        None,
        42,
    ],
)
def test_htu_of_another_uri_is_refused(htu: object) -> None:
    assert not dpop._same_uri(htu, TOKEN)


def test_a_nonce_is_good_in_its_period_and_the_next_only(
    travel: Callable[[float], None],
) -> None:
    given = dpop.nonce()
    assert dpop._nonce_valid(given)
    travel(DPOP_NONCE_SECONDS)
    assert dpop._nonce_valid(given)
    travel(DPOP_NONCE_SECONDS)
    assert not dpop._nonce_valid(given)
    assert not dpop._nonce_valid(None)


def test_the_ath_is_base64url_sha256_without_padding() -> None:
    # RFC 9449 §7.1's example: this access token and its ath.
    token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"  # noqa: S105 - the RFC's example
    assert dpop.access_token_hash(token) == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
