"""The reports and the audit viewer over real HTTP to `cis serve` on the demo world.

Each endpoint is called by a client that signs in through the portal's form, and its figures
are compared with counts made here straight from the tables (`cis shell`): for the reports, the
service desk (everything) and the LSA at one branch (only the people working there); for the
audit trail, the service desk (every event) and an RA Manager (their RA's area only).
"""

from __future__ import annotations

import csv
import io
import json

from tests.live import LiveCis

COUNTS = """
import json
from cis.core import clock
from cis.people.models import Person
from cis.smartcards.models import Smartcard
branch = Person.objects.filter(
    assignments__position__organisation__ods_code="FLM49",
    assignments__start_date__lte=clock.today(),
).exclude(assignments__end_date__lt=clock.today()).distinct()
print(json.dumps({
    "locked_all": Smartcard.objects.filter(status="locked").count(),
    "locked_branch": Smartcard.objects.filter(status="locked", holder__in=branch).count(),
}))
"""


def test_reports_over_real_http(live_demo: LiveCis) -> None:
    # A locked card at the LSA's branch, so that there is something to count.
    live_demo.shell(
        "from cis.smartcards.models import Smartcard\n"
        "from cis.core import clock\n"
        "card = Smartcard.objects.filter(status='active', holder__assignments__position__"
        "organisation__ods_code='FLM49').first()\n"
        "Smartcard.objects.filter(pk=card.pk).update(status='locked', locked_at=clock.now())\n"
    )
    counts = json.loads(live_demo.shell(COUNTS).strip().splitlines()[-1])
    assert counts["locked_branch"] >= 1
    desk = live_demo.persona("Sophie Brennan")["user_id"]
    lsa = live_demo.persona("Local Smartcard Administrator")["user_id"]
    holder = live_demo.persona("Jack Pearson")["user_id"]

    for user_id, expected in ((desk, counts["locked_all"]), (lsa, counts["locked_branch"])):
        with live_demo.signed_in(user_id) as client:
            listed = client.get("/api/v1/reports/")
            assert listed.status_code == 200
            assert len(listed.json()["reports"]) == 9
            body = client.get("/api/v1/reports/locked-cards/").json()
            (cards,) = [t for t in body["tables"] if t["key"] == "cards"]
            assert len(cards["rows"]) == expected
            exported = client.get("/api/v1/reports/locked-cards/", headers={"Accept": "text/csv"})
            assert exported.headers["content-type"].startswith("text/csv")
            assert len(list(csv.reader(io.StringIO(exported.text)))) == expected + 1
            index = client.get("/reports/")
            assert index.status_code == 200 and 'href="/reports/locked-cards/"' in index.text
            page = client.get("/reports/locked-cards/")
            assert page.status_code == 200
            assert page.text.count('<tr class="nhsuk-table__row">') == expected + 1
            download = client.get("/reports/locked-cards/export.csv")
            assert len(list(csv.reader(io.StringIO(download.text)))) == expected + 1
            chart = client.get("/reports/card-activity/activity/chart.svg?period=month")
            assert chart.headers["content-type"] == "image/svg+xml"
            assert "<svg" in chart.text and "style=" not in chart.text
            assert 'href="/reports/"' in client.get("/").text

    with live_demo.signed_in(holder) as client:
        assert client.get("/api/v1/reports/locked-cards/").status_code == 403
        assert client.get("/reports/locked-cards/").status_code == 403
        assert 'href="/reports/"' not in client.get("/").text


def test_the_audit_viewer_over_real_http(live_demo: LiveCis) -> None:
    total = int(
        live_demo.shell(
            "from cis.audit.models import AuditEvent; print(AuditEvent.objects.count())"
        ).split()[-1]
    )
    desk = live_demo.persona("Sophie Brennan")["user_id"]
    manager = live_demo.persona("Margaret Whitfield")["user_id"]
    lsa = live_demo.persona("Local Smartcard Administrator")["user_id"]
    with live_demo.signed_in(desk) as client:
        exported = client.get("/api/v1/audit/", params={"format": "csv"})
        rows = list(csv.reader(io.StringIO(exported.text)))
        # Signing in wrote events too: the export holds at least what was counted before.
        assert len(rows) - 1 >= total
        walked, url = 0, "/api/v1/audit/?limit=200"
        while url:
            body = client.get(url).json()
            walked += len(body["results"])
            url = body["next"]
        assert walked >= total
        page = client.get("/audit/", params={"action": "session"})
        assert page.status_code == 200 and "signed in" in page.text
        assert 'href="/audit/"' in client.get("/").text
    with live_demo.signed_in(manager) as client:
        mine = client.get("/api/v1/audit/", params={"format": "csv"}).text
        assert 1 < len(list(csv.reader(io.StringIO(mine)))) <= len(rows) + 5
        download = client.get("/audit/export.csv", params={"action": "person"})
        assert download.headers["content-type"].startswith("text/csv")
    with live_demo.signed_in(lsa) as client:
        assert client.get("/api/v1/audit/").status_code == 403
        assert client.get("/audit/").status_code == 403
