"""`cis serve`: the production server, gunicorn in front of cis.config.wsgi, static files ready.

Shaped for the work: one process per core (CIS is CPU-bound in Python, so more processes than
cores only take turns), each with several threads (`gthread`), so that a worker waiting on the
database (a PostgreSQL commit waits for the disk) serves another request meanwhile and enough
transactions are in flight for PostgreSQL's group commit; keep-alive, so that a client (a
relying party, an OCSP client, a load balancer) does not pay a TCP handshake per request; and
no access log unless asked for, since a line written per request is paid on the hot path (a
proxy in front, such as nginx, keeps one anyway).
"""

from __future__ import annotations

import socket
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from gunicorn.app.base import BaseApplication


class GunicornServer(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn's embedding API: our options, and Django's WSGI app loaded in each worker."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from cis.config.wsgi import application  # noqa: PLC0415 - imported in the worker

        return application


KEEPALIVE_SECONDS = 15


class Command(BaseCommand):
    help = "Serve CIS with gunicorn (not runserver), after collecting static files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.CIS_HOST)
        parser.add_argument("--port", type=int, default=settings.CIS_PORT)
        parser.add_argument(
            "--workers",
            type=int,
            default=settings.CIS_WORKERS,
            help="worker processes (default one per core, or $CIS_WORKERS)",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=settings.CIS_THREADS,
            help="threads per worker (default 8, or $CIS_THREADS)",
        )
        parser.add_argument(
            "--access-log",
            action="store_true",
            default=settings.CIS_ACCESS_LOG,
            help="log every request to standard output (off by default; $CIS_ACCESS_LOG=1)",
        )
        parser.add_argument(
            "--skip-collectstatic",
            action="store_true",
            help="serve the static files already collected",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1.")
        if options["threads"] < 1:
            raise CommandError("--threads must be at least 1.")
        self._check_migrated()
        self._check_port_free(options["host"], options["port"])
        if not options["skip_collectstatic"]:
            call_command("collectstatic", interactive=False, verbosity=0)
        # Workers are forked from this process: they must not inherit its database connections.
        connections.close_all()
        bind = f"{options['host']}:{options['port']}"
        self.stdout.write(
            f"Serving CIS on http://{bind} with {options['workers']} workers "
            f"x {options['threads']} threads"
        )
        self.stdout.flush()
        GunicornServer(
            {
                "bind": bind,
                "workers": options["workers"],
                "worker_class": "gthread",
                "threads": options["threads"],
                "worker_connections": 1000,
                "keepalive": KEEPALIVE_SECONDS,
                "backlog": 2048,
                "timeout": 60,
                "graceful_timeout": 20,
                "accesslog": "-" if options["access_log"] else None,
                "errorlog": "-",
                "proc_name": "cis",
                # Its default control socket lives in $HOME, shared by every installation.
                "control_socket_disable": True,
            }
        ).run()

    def _check_port_free(self, host: str, port: int) -> None:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise CommandError(
                    f"Cannot listen on {host}:{port} ({exc.strerror}): stop what uses it, "
                    "or choose another --port."
                ) from None

    def _check_migrated(self) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            raise CommandError(
                f"The database has {len(pending)} unapplied migrations: run `cis migrate` first."
            )
