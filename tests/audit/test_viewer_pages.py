"""The audit viewer in the portal and the API: scoped, filtered, paged by event id, and CSV."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from cis.audit.models import AuditEvent
from cis.audit.trail import record

pytestmark = pytest.mark.django_db

BACKEND = "django.contrib.auth.backends.ModelBackend"
World = dict[str, Any]


def _client(world: World, who: str) -> Client:
    client = Client()
    client.force_login(world[who], backend=BACKEND)
    return client


def _names(world: World, ids: list[int]) -> set[str]:
    by_pk = {e.pk: name for name, e in world["events"].items()}
    return {by_pk[i] for i in ids if i in by_pk}


def _csv(response: Any) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_the_api_is_scoped_like_every_list(world: World) -> None:
    manager = _client(world, "manager").get("/api/v1/audit/").json()
    assert _names(world, [e["id"] for e in manager["results"]]) == {"card_here", "registered_here"}
    desk = _client(world, "desk").get("/api/v1/audit/").json()
    assert _names(world, [e["id"] for e in desk["results"]]) == set(world["events"])
    assert _client(world, "lsa").get("/api/v1/audit/").status_code == 403
    assert Client().get("/api/v1/audit/").status_code == 403


def test_the_api_filters_and_reads_events_as_sentences(world: World) -> None:
    client = _client(world, "desk")
    staff = world["staff_here"]
    body = client.get("/api/v1/audit/", {"person": staff.user_id}).json()
    assert _names(world, [e["id"] for e in body["results"]]) == {"card_here"}
    (event,) = body["results"]
    assert event["sentence"].startswith("Margaret Whitfield unlocked the smartcard CHIP1 of ")
    assert event["after"]["holder"] == staff.user_id
    by_action = client.get("/api/v1/audit/", {"action": "card"}).json()["results"]
    assert _names(world, [e["id"] for e in by_action]) == {"card_here", "card_there"}
    by_org = client.get("/api/v1/audit/", {"organisation": "FBB01"}).json()["results"]
    assert _names(world, [e["id"] for e in by_org]) == {"card_there", "right_there"}
    bad = client.get("/api/v1/audit/", {"since": "2026-13-01"})
    assert bad.status_code == 400 and bad.json()["field"] == "since"
    backwards = client.get("/api/v1/audit/", {"since": "2026-12-02", "until": "2026-12-01"})
    assert backwards.status_code == 400 and backwards.json()["field"] == "until"


def test_keyset_pages_walk_every_event_once(world: World) -> None:
    desk = world["desk"]
    for n in range(7):
        with transaction.atomic():
            record(actor=desk, rule="r", action="person.update_contact",
                   target_type="person", target_ref=f"P{n}")  # fmt: skip
    client = _client(world, "desk")
    seen: list[int] = []
    url: str | None = "/api/v1/audit/?limit=3&action=person"
    while url:
        body = client.get(url).json()
        seen += [e["id"] for e in body["results"]]
        url = body["next"]
        assert len(body["results"]) <= 3
    expected = list(
        AuditEvent.objects.filter(action__startswith="person.")
        .order_by("-id")
        .values_list("id", flat=True)
    )
    assert seen == expected and len(seen) == 8


@pytest.mark.parametrize("how", ["format", "accept"])
def test_csv_export_from_the_api(world: World, how: str) -> None:
    client = _client(world, "manager")
    if how == "format":
        response = client.get("/api/v1/audit/", {"format": "csv"})
    else:
        response = client.get("/api/v1/audit/", HTTP_ACCEPT="text/csv")
    assert response["Content-Type"].startswith("text/csv")
    lines = _csv(response)
    assert lines[0][:3] == ["Event", "When", "What happened"]
    assert _names(world, [int(row[0]) for row in lines[1:]]) == {"card_here", "registered_here"}


def test_the_portal_viewer(world: World) -> None:
    client = _client(world, "manager")
    page = client.get("/audit/").content.decode()
    assert "unlocked the smartcard CHIP1" in page
    assert "CHIP2" not in page  # another RA's card
    filtered = client.get("/audit/", {"action": "person"}).content.decode()
    assert "CHIP1" not in filtered and "registered" in filtered
    assert 'href="export.csv?action=person"' in filtered
    lines = _csv(client.get("/audit/export.csv", {"action": "person"}))
    assert _names(world, [int(row[0]) for row in lines[1:]]) == {"registered_here"}
    bad = client.get("/audit/", {"since": "yesterday"})
    assert "Enter the start date as a real date" in bad.content.decode()
    assert client.get("/audit/export.csv", {"since": "yesterday"}).status_code == 400
    assert _client(world, "lsa").get("/audit/").status_code == 403
    assert _client(world, "lsa").get("/audit/export.csv").status_code == 403


def test_the_portal_pages_older_events(world: World) -> None:
    desk = world["desk"]
    for n in range(60):
        with transaction.atomic():
            record(actor=desk, rule="r", action="person.update_contact",
                   target_type="person", target_ref=f"P{n}")  # fmt: skip
    client = _client(world, "desk")
    first = client.get("/audit/").content.decode()
    assert first.count('<tr class="nhsuk-table__row">') == 51  # a heading and 50 events
    older = re.search(r'href="(\?[^"]*cursor=[^"]*)"', first)
    assert older is not None
    second = client.get("/audit/" + html.unescape(older.group(1))).content.decode()
    newest = list(AuditEvent.objects.order_by("-id").values_list("id", flat=True))
    assert second.count('<tr class="nhsuk-table__row">') == 1 + len(newest) - 50
    assert f"event {newest[50]})<" in second and f"event {newest[49]})<" not in second


def test_the_audit_trail_is_offered_on_the_home_page_to_those_who_may_see_it(
    world: World,
) -> None:
    for who in ("manager", "desk"):
        assert 'href="/audit/"' in _client(world, who).get("/").content.decode()
    assert 'href="/audit/"' not in _client(world, "lsa").get("/").content.decode()
