"""The hash that links each audit event to the one before it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64
HASHED_FIELDS = (
    "seq",
    "at",
    "actor_ref",
    "actor_name",
    "rule",
    "action",
    "target_type",
    "target_ref",
    "organisation_ref",
    "before",
    "after",
    "request_ref",
    "client_address",
    "channel",
    "correlation_id",
)


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    body = json.dumps(
        {name: fields[name] for name in HASHED_FIELDS},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()
