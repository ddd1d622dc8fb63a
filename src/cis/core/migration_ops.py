"""Migration operations that only PostgreSQL runs: search indexes SQLite has no form of."""

from __future__ import annotations

from typing import Any

from django.db import migrations


class PostgresOnlySQL(migrations.RunSQL):
    """RunSQL on PostgreSQL; nothing on SQLite (whose searches scan, fast enough at its size)."""

    def database_forwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, *args)

    def database_backwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, *args)


def trigram_index(table: str, column: str) -> PostgresOnlySQL:
    """A GIN trigram index on UPPER(column): what Django's icontains compares on PostgreSQL,
    so that a substring search reads the index rather than every row."""
    name = f"{table}_{column}_trgm"[:63]
    return PostgresOnlySQL(
        f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin '
        f'(UPPER("{column}"::text) gin_trgm_ops)',
        f'DROP INDEX IF EXISTS "{name}"',
    )


def prefix_index(table: str, column: str) -> PostgresOnlySQL:
    """A btree with pattern ops: startswith (LIKE 'x%') on a database whose collation is not C."""
    name = f"{table}_{column}_prefix"[:63]
    return PostgresOnlySQL(
        f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}" varchar_pattern_ops)',
        f'DROP INDEX IF EXISTS "{name}"',
    )


def upper_index(table: str, column: str) -> PostgresOnlySQL:
    """A btree on UPPER(column): iexact (an email typed in any case) on PostgreSQL."""
    name = f"{table}_{column}_upper"[:63]
    return PostgresOnlySQL(
        f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" (UPPER("{column}"::text))',
        f'DROP INDEX IF EXISTS "{name}"',
    )


TRIGRAM_EXTENSION = PostgresOnlySQL(
    "CREATE EXTENSION IF NOT EXISTS pg_trgm", migrations.RunSQL.noop
)
