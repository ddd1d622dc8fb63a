"""The NHS.UK stylesheet's icons resolve, and nothing else is served from that route."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client


def test_every_icon_the_stylesheet_asks_for_is_served(client: Client) -> None:
    css = (settings.NHSUK_FRONTEND_DIR / "nhsuk" / "nhsuk-frontend.min.css").read_text()
    icons = set(re.findall(r"url\((/assets/images/[^)]+)\)", css))
    assert icons
    for url in icons:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"] == "image/svg+xml"


@pytest.mark.parametrize("url", ["/assets/../../package.json", "/assets/index.js"])
def test_the_asset_route_serves_only_icons(client: Client, url: str) -> None:
    assert client.get(url).status_code == 404
