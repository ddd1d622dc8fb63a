"""`python -m bench.served` (part of `make bench`): CIS measured from outside, over real HTTP.

A throwaway installation on PostgreSQL (a database made for the run and dropped after, a data
directory of its own) is filled by `cis bench-data`, served by `cis serve` (the production
command: gthread workers, keep-alive, no access log) and driven by wrk, a separate
load-generator process, on loopback, with the Lua script bench/wrk/requests.lua sending requests
made beforehand (bench/served_data.py). OpenSSL's own OCSP responder (`openssl ocsp -index`)
serves the same CA's certificates with the same responder key in the same run; its rounds
alternate with CIS's on the same request files. Every wrk run is bounded in time.

Each figure prints one line:
`BENCH name=<name> value=<n> unit=<u> baseline=<n> ratio=<n> goal=<n>`. The baseline is a
trivial view served by the same `cis serve` in the same run (its rate, or for a latency its p95
at the same concurrency), measured next to the figure; for a comparison with a peer, the value
is CIS's rate over the peer's, unit `x`, and the baseline is the peer's rate.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).with_name("wrk") / "requests.lua"
CIS = str(Path(sys.executable).with_name("cis"))
PEER_CONNECTIONS = 4
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/cis_bench"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


def wait_for_port(
    port: int,
    process: subprocess.Popen[bytes],
    seconds: float = 120,
    probe: Callable[[int], bool] = listening,
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        if probe(port):
            return
        time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port} within {seconds:.0f} s")


# wrk -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    requests: int
    ok: int
    non2xx: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def wrk(url: str, requests: Path, *, seconds: float, connections: int, threads: int = 2) -> Run:
    """One wrk run over a request file, for `seconds`."""
    threads = max(1, min(threads, connections))
    env = {**os.environ, "CIS_WRK_FILE": str(requests), "CIS_WRK_THREADS": str(threads)}
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:.0f}s"]
    command += ["--timeout", "10s", "-s", str(LUA), url]
    done = subprocess.run(  # noqa: S603
        command, env=env, capture_output=True, timeout=seconds + 60, check=False
    )
    out = done.stdout.decode()
    lines = [line for line in out.splitlines() if line.startswith("CISWRK ")]
    if not lines:
        raise RuntimeError(f"wrk gave no result: {out[-500:]} {done.stderr.decode()[-500:]}")
    data = json.loads(lines[-1].removeprefix("CISWRK "))
    return Run(
        requests=data["requests"],
        ok=data["ok"],
        non2xx=data["non2xx"],
        errors=data["errors"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
    )


@dataclass(frozen=True)
class Burst:
    seconds: float
    answers: list[tuple[int, bytes]]  # (status, body) per request, in the file's order


def burst(port: int, requests: list[Any], *, connections: int, seconds: float = 300) -> Burst:
    """Send each request once, `connections` at a time over keep-alive connections, and keep
    every answer: for work counted to the last request (10,000 revocations), where wrk, which
    runs for a time, cannot say when the last one was answered. Requests not sent within
    `seconds` are not sent (their answer is status 0), so the run stays bounded."""
    answers: list[tuple[int, bytes]] = [(0, b"")] * len(requests)
    local = threading.local()

    def send(index: int) -> None:
        if time.monotonic() > deadline:
            return
        line = requests[index]
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = http.client.HTTPConnection(
                "127.0.0.1", port, timeout=60
            )
        headers = {"Content-Type": line.content_type} if line.content_type else {}
        if line.cookie:
            headers["Cookie"] = line.cookie.replace(";", "; ")
        if line.csrf:
            headers["X-CSRFToken"] = line.csrf
        try:
            connection.request(line.method, line.path, body=line.body or None, headers=headers)
            answer = connection.getresponse()
            answers[index] = (answer.status, answer.read())
        except (OSError, http.client.HTTPException):
            connection.close()
            local.connection = None
            answers[index] = (0, b"")

    started = time.monotonic()
    deadline = started + seconds
    with ThreadPoolExecutor(max_workers=connections) as pool:
        list(pool.map(send, range(len(requests))))
    return Burst(time.monotonic() - started, answers)


# The servers ---------------------------------------------------------------------------------


class Server:
    """A process serving on a port of its own, stopped (with its children) at the end."""

    def __init__(
        self,
        command: list[str],
        *,
        env: dict[str, str],
        port: int,
        name: str,
        probe: Callable[[int], bool] = listening,
    ) -> None:
        self.port = port
        self.name = name
        self.output = tempfile.TemporaryFile()
        # Its own process group (not session: `openssl ocsp -multi` exits in a new session),
        # so that its children stop with it.
        self.process = subprocess.Popen(  # noqa: S603
            command,
            env=env,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
        try:
            wait_for_port(port, self.process, probe=probe)
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"{name} did not start: {exc}\n{self.tail()}") from None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def tail(self) -> str:
        self.output.seek(0)
        return self.output.read().decode(errors="replace")[-2000:]


# The run -------------------------------------------------------------------------------------


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline: float
    goal: float
    ratio: float | None = None

    def line(self) -> str:
        ratio = (
            self.ratio
            if self.ratio is not None
            else (self.value / self.baseline if self.baseline else 0.0)
        )
        return (
            f"BENCH name={self.name} value={self.value:.3f} unit={self.unit} "
            f"baseline={self.baseline:.1f} ratio={ratio:.3f} goal={self.goal:g}"
        )


class Installation:
    """The throwaway database and data directory, and the environment that points at them."""

    def __init__(self, database_url: str, work: Path, data_dir: Path | None = None) -> None:
        self.database_url = database_url
        self.data_dir = data_dir or work / "data"
        self.data_dir.mkdir(exist_ok=True)
        self.env = {
            **os.environ,
            "CIS_DATA_DIR": str(self.data_dir),
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "CIS_LOG_LEVEL": "WARNING",
        }
        self.env.pop("CIS_REDIS_URL", None)

    def _admin(self, statement: str) -> None:
        import psycopg  # noqa: PLC0415

        parts = urlsplit(self.database_url)
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(statement)

    @property
    def database(self) -> str:
        return urlsplit(self.database_url).path.lstrip("/")

    def create(self, size: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{self.database}"')
        log(f"filling {self.database} with cis bench-data --size {size} ...")
        started = time.monotonic()
        how = ["--people", size] if size.isdigit() else ["--size", size]
        subprocess.run(  # noqa: S603
            [CIS, "bench-data", *how], env=self.env, check=True, stdout=sys.stderr
        )
        log(f"  done in {time.monotonic() - started:.0f} s")

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def django(self) -> None:
        """Set Django up in this process, on the same database and data directory."""
        for key in ("CIS_DATA_DIR", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "CIS_LOG_LEVEL"):
            os.environ[key] = self.env[key]
        os.environ.pop("CIS_REDIS_URL", None)
        import django  # noqa: PLC0415

        django.setup()

    def serve(self) -> Server:
        port = free_port()
        command = [CIS, "serve", "--port", str(port), "--skip-collectstatic"]
        return Server(command, env=self.env, port=port, name="cis serve")


def openssl_responder(material: dict[str, Path], request: bytes) -> Server:
    """OpenSSL's responder on the CIS CA's material. OpenSSL 3.0's (`-multi`: one child per
    core, each serving one connection at a time) stalls for good once a keep-alive client
    goes away, and at 32 connections drops them, so the runner starts one for each round and
    drives it at PEER_CONNECTIONS, where it answers fastest."""
    port = free_port()
    command = ["openssl", "ocsp", "-index", str(material["index"]), "-CA", str(material["ca"])]
    command += ["-rsigner", str(material["signer"]), "-rkey", str(material["key"])]
    # -multi: one child per core, as cis serve has; -timeout: a child would otherwise wait
    # for ever on an idle keep-alive connection; -nmin: a nextUpdate, as CIS gives.
    command += ["-port", str(port), "-multi", str(os.cpu_count() or 2), "-timeout", "5"]
    command += ["-nmin", "60", "-ignore_err"]

    def answers(port: int) -> bool:
        # A whole request: a child left with a connection closed unasked spins on it for good.
        if not listening_quietly(port):
            return False
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request(
                "POST", "/", body=request, headers={"Content-Type": "application/ocsp-request"}
            )
            return connection.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    return Server(command, env=dict(os.environ), port=port, name="openssl ocsp", probe=answers)


def listening_quietly(port: int) -> bool:
    """Whether anything listens on the port, asked without opening a connection to it."""
    target = f":{port:04X} "
    with contextlib.suppress(OSError):
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[1].endswith(target.strip()) and fields[3] == "0A":  # LISTEN
                    return True
    return False


@contextlib.contextmanager
def running(*servers: Callable[[], Server]) -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        for start in servers:
            started.append(start())
        yield started
    finally:
        for server in reversed(started):
            server.stop()


def main(argv: list[str] | None = None) -> int:
    from . import served_figures  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m bench.served", description=__doc__)
    parser.add_argument(
        "--size",
        default="ci",
        help="cis bench-data size (ci: 50,000 people), or a number of people",
    )
    parser.add_argument("--seconds", type=float, default=6, help="length of each wrk round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per figure")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument(
        "--database",
        default=os.environ.get("CIS_BENCH_HTTP_DATABASE_URL", DEFAULT_DATABASE),
        help="the PostgreSQL database to make, fill and drop (never an existing one you need)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--only", action="append", help="only this figure (repeatable)")
    parser.add_argument(
        "--existing",
        metavar="DATA_DIR",
        type=Path,
        help="measure the database as it is (filled before by `cis bench-data` with this "
        "CIS_DATA_DIR): neither made, filled nor dropped; to compare code on the same data",
    )
    args = parser.parse_args(argv)
    for tool in ("wrk", "openssl"):
        if shutil.which(tool) is None:
            log(f"{tool} is not installed: run `make system-deps` (Debian's {tool} package).")
            return 2
    with tempfile.TemporaryDirectory(prefix="cis-bench-http-") as tmp:
        work = Path(tmp)
        installation = Installation(args.database, work, args.existing)
        if args.existing is None:
            installation.create(args.size)
        try:
            installation.django()
            plan = served_figures.Plan(
                work=work,
                seconds=args.seconds,
                rounds=args.rounds,
                connections=args.connections,
                only=set(args.only or ()),
            )
            plan.prepare()
            with running(installation.serve) as (cis,):
                peer = lambda: openssl_responder(plan.material, plan.probe)  # noqa: E731
                for figure in plan.measure(cis, peer):
                    print(figure.line(), flush=True)
        finally:
            if not args.keep and args.existing is None:
                installation.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
