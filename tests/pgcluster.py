"""A PostgreSQL primary and its streaming replica of the test's own, on free ports in a temp dir.

The suite's server (127.0.0.1:5432) allows no replication connections, so tests of the read
replica start their own pair with the server binaries under /usr/lib/postgresql/*/bin:
`initdb` (trust for local connections and replication, as initdb writes by default),
`pg_basebackup -R` for the replica, and `pg_ctl` to start and stop each. Run as root (as in
the development container), each server runs as the `postgres` user, since PostgreSQL refuses
to run as root. Durability is off (fsync=off): these servers live for one test module.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.live import free_port

BIN_GLOB = "/usr/lib/postgresql/*/bin"
NEEDED = ("initdb", "pg_ctl", "pg_basebackup")
WAIT_SECONDS = 120


def server_binaries() -> Path | None:
    """The newest PostgreSQL's bin directory holding every program the pair needs, or None."""
    found = sorted(Path("/").glob(BIN_GLOB.lstrip("/")), key=lambda p: int(p.parent.name))
    for bin_dir in reversed(found):
        if all((bin_dir / name).exists() for name in NEEDED):
            return bin_dir
    return None


class Server:
    """One PostgreSQL server: its data directory, port and log."""

    def __init__(self, cluster: PostgresPair, name: str) -> None:
        self._cluster = cluster
        self.data_dir = cluster.root / name
        self.port = free_port()
        self.log = cluster.root / f"{name}.log"
        self._settings: tuple[str, ...] = ()

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self, *settings: str) -> None:
        """Start the server with these `name=value` settings (or, again, with its last ones)."""
        self._settings = settings or self._settings
        options = " ".join(
            [f"-p {self.port}", "-c listen_addresses=127.0.0.1", "-k", str(self._cluster.root)]
            + [f"-c {s}" for s in self._settings]
        )
        self._cluster.run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log),
                          "-o", options, "-w", "-t", str(WAIT_SECONDS), "start")  # fmt: skip

    def stop(self) -> None:
        self._cluster.run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")

    def query(
        self, sql: str, database: str = "postgres", params: tuple[object, ...] = ()
    ) -> list[tuple[object, ...]]:
        with psycopg.connect(self.url(database), autocommit=True) as connection:
            cursor = connection.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []

    def running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists()


class PostgresPair:
    """A primary (wal_level=replica) and a hot standby streaming from it."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="cis-pgpair-"))
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.primary = Server(self, "primary")
        self.replica = Server(self, "replica")

    def run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(  # noqa: S603 - the server's own programs, fixed arguments
            command, capture_output=True, text=True, timeout=300, check=False, cwd=self.root
        )
        if done.returncode != 0:
            pytest.fail(f"{program} {' '.join(args)} exited {done.returncode}:\n"
                        f"{done.stdout}{done.stderr}{self._logs()}")  # fmt: skip

    def _logs(self) -> str:
        return "".join(
            f"\n--- {s.log.name}\n{s.log.read_text()[-3000:]}"
            for s in (self.primary, self.replica)
            if s.log.exists()
        )

    def start(self, *, replica: bool = True) -> None:
        self.run("initdb", "-D", str(self.primary.data_dir), "-U", "postgres",
                 "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")  # fmt: skip
        self.primary.start("wal_level=replica", "max_wal_senders=4", "fsync=off")
        if not replica:
            return
        self.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port),
                 "-U", "postgres", "-D", str(self.replica.data_dir),
                 "-R", "-X", "stream", "--no-sync")  # fmt: skip
        self.replica.start("hot_standby=on", "fsync=off")

    def close(self) -> None:
        for server in (self.replica, self.primary):
            if server.running():
                with contextlib.suppress(BaseException):
                    server.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # Replication.

    def primary_wal(self) -> str:
        return str(self.primary.query("SELECT pg_current_wal_lsn()::text")[0][0])

    def wait_replayed(self) -> None:
        """Wait until the replica has replayed everything the primary has written so far."""
        target = self.primary_wal()
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            done = self.replica.query(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", params=(target,)
            )
            if done[0][0]:
                return
            time.sleep(0.1)  # waiting for replay, not timing anything
        pytest.fail(f"the replica did not replay up to {target}{self._logs()}")

    def pause_replay(self) -> None:
        self.replica.query("SELECT pg_wal_replay_pause()")
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            if self.replica.query("SELECT pg_get_wal_replay_pause_state()")[0][0] == "paused":
                return
            time.sleep(0.1)  # waiting for the pause to take, not timing anything
        pytest.fail("the replica did not pause its replay")

    def resume_replay(self) -> None:
        self.replica.query("SELECT pg_wal_replay_resume()")


@contextlib.contextmanager
def postgres_pair(*, replica: bool = True) -> Iterator[PostgresPair]:
    """A started primary (and replica); skips the test if no PostgreSQL server binaries exist."""
    bin_dir = server_binaries()
    if bin_dir is None:
        pytest.skip(
            f"no PostgreSQL server binaries ({', '.join(NEEDED)}) under {BIN_GLOB}: "
            "the replica tests start a primary and a streaming replica of their own"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root, with no postgres user to run PostgreSQL servers as")
    pair = PostgresPair(bin_dir)
    try:
        pair.start(replica=replica)
        yield pair
    finally:
        pair.close()
