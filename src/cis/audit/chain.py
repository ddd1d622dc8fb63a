"""The seal that links each audit event to the one before it in its chain.

An event's seal is HMAC-SHA256, under an audit key from the key store, of the previous event's
seal and the event's own contents (its chain, number and key id included), in a canonical JSON
form. Without the key nobody can seal an event, so an event edited, forged, moved or re-linked
in the database no longer matches its seal, whatever hashes were recomputed.
"""

from __future__ import annotations

import json
from typing import Any

from . import keys

GENESIS = "0" * 64
SEALED_FIELDS = (
    "chain",
    "seq",
    "key_id",
    "at",
    "actor_ref",
    "actor_name",
    "rule",
    "action",
    "target_type",
    "target_ref",
    "subject_ref",
    "organisation_ref",
    "before",
    "after",
    "request_ref",
    "client_address",
    "channel",
    "correlation_id",
)


def sealed_body(prev_hash: str, fields: dict[str, Any]) -> bytes:
    body = json.dumps(
        {name: fields[name] for name in SEALED_FIELDS},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return f"cis-audit-v2|{prev_hash}|{body}".encode()


def event_seal(prev_hash: str, fields: dict[str, Any]) -> str:
    """The seal of an event with these fields after the event sealed `prev_hash`."""
    return keys.seal(str(fields["key_id"]), sealed_body(prev_hash, fields))
