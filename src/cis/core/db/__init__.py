"""Database backends CIS wraps: PostgreSQL with time limits (cis.core.dbguard)."""
