"""Django's PostgreSQL backend, with the time limits of cis.core.dbguard on every connection."""

from __future__ import annotations

from typing import Any

import psycopg
from django.db.backends.postgresql import base

from cis.core import dbguard


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Checked on every statement; it limits only those a web request runs (dbguard.limited).
        self.execute_wrappers.append(dbguard.time_limit)

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        try:
            return super().get_new_connection(conn_params)
        except psycopg.OperationalError:
            # Refused, reset, or no answer within connect_timeout: stop waiting on it for a while.
            dbguard.trip(self)
            raise
