"""Tampering with the audit tables as someone with the database would, for the tests.

On PostgreSQL a trigger refuses UPDATE and DELETE of audit rows to everyone; an attacker who is
the database's superuser (or its owner) gets round it, as here, by turning triggers off for the
session (session_replication_role = replica). SQLite has no such guard.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def as_database_owner() -> Iterator[None]:
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")
