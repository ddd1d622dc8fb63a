"""Long lists over real HTTP to `cis serve`: cursor pages, followed by their links."""

from __future__ import annotations

import pytest

from tests.live import LiveCis

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_service_desk_pages_through_everyone_by_cursor(live_demo: LiveCis) -> None:
    desk = live_demo.persona("Sophie Brennan")["user_id"]
    with live_demo.signed_in(desk) as client:
        whole = client.get("/api/v1/people/", params={"limit": 200}).json()
        assert whole["next"] is None and whole["previous"] is None
        assert "count" not in whole
        pages = [client.get("/api/v1/people/", params={"limit": 7}).json()]
        while pages[-1]["next"]:
            assert pages[-1]["next"].startswith(live_demo.url)
            pages.append(client.get(pages[-1]["next"]).json())
        assert [r["user_id"] for p in pages for r in p["results"]] == [
            r["user_id"] for r in whole["results"]
        ]
        assert len(pages) >= 3
        back = client.get(pages[2]["previous"]).json()
        assert back["results"] == pages[1]["results"]
        refused = client.get("/api/v1/people/", params={"cursor": "not-a-cursor"})
        assert refused.status_code == 400
        assert refused.json()["field"] == "cursor"
