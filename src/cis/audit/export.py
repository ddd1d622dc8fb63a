"""The audit viewer's rows and files: events newest first, as plain values with sentences.

One shape for the portal's table, the API's JSON and the CSV export alike. Pages are the shared
keyset pages (`cis.core.pagination`) over the event id, newest first: a page costs the same
however deep someone reads, and new events never shift what they are reading.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from cis.core.pagination import keyset_page

from .models import AuditEvent
from .sentences import event_sentences, rule_words

NEWEST_FIRST = ("-id",)  # id orders events across chains
EXPORT_CHUNK = 500

# (key, CSV heading): the columns of the export, in order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "Event"),
    ("at", "When"),
    ("sentence", "What happened"),
    ("actor", "Actor"),
    ("actor_name", "Actor name"),
    ("action", "Action"),
    ("rule", "Allowed by"),
    ("target_type", "Target type"),
    ("target", "Target"),
    ("subject", "About"),
    ("organisation", "Organisation"),
    ("request", "Request"),
    ("channel", "Channel"),
    ("client_address", "Client address"),
)


def event_values(events: list[AuditEvent]) -> list[dict[str, Any]]:
    """The events as plain values with their sentences (names looked up in one query)."""
    sentences = event_sentences(events)
    return [
        {
            "id": e.pk,
            "at": e.at,
            "sentence": sentence,
            "actor": e.actor_ref,
            "actor_name": e.actor_name,
            "action": e.action,
            "rule": e.rule,
            "rule_words": rule_words(e.rule),
            "target_type": e.target_type,
            "target": e.target_ref,
            "subject": e.subject_ref,
            "organisation": e.organisation_ref,
            "request": e.request_ref,
            "channel": e.channel,
            "client_address": e.client_address,
            "before": e.before,
            "after": e.after,
        }
        for e, sentence in zip(events, sentences, strict=True)
    ]


def export_rows(rows: QuerySet[AuditEvent]) -> Iterator[list[Any]]:
    """Every event of `rows`, newest first, as CSV rows; read a keyset page at a time, so a
    long export neither holds the whole trail in memory nor one cursor open for its length."""
    cursor: str | None = None
    while True:
        page = keyset_page(rows, order=NEWEST_FIRST, cursor=cursor, limit=EXPORT_CHUNK)
        for values in event_values(page.results):
            yield [values[key] for key, _heading in COLUMNS]
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


HEADINGS = [heading for _key, heading in COLUMNS]
