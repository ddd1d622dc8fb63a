"""Where a request comes from: the client address (through trusted proxies) and the allowlist."""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _in(address: str, cidrs: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _networks(tuple(cidrs)))


def from_trusted_proxy(request: HttpRequest) -> bool:
    return bool(settings.CIS_TRUSTED_PROXIES) and _in(
        request.META.get("REMOTE_ADDR", ""), settings.CIS_TRUSTED_PROXIES
    )


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, or the address a trusted reverse proxy says it forwarded for."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    if from_trusted_proxy(request):
        forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
        # The right-most entry is the one the trusted proxy added itself.
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-1]
    return remote


def network_allowed(request: HttpRequest) -> bool:
    allowed: list[str] = settings.CIS_ALLOWED_NETWORKS
    if not allowed:
        return True
    if any(request.path.startswith(p) for p in settings.CIS_NETWORK_OPEN_PATHS):
        return True
    return _in(client_address(request), allowed)
