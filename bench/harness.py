"""The benchmark harness: an isolated installation, an in-process WSGI client, timed rounds.

Every figure is measured the same way as its baseline: in this one process, single-threaded,
by calling Django's WSGI handler (the whole middleware stack, the URL resolver, the view) or a
service function in a loop, with no network in between. Rounds of the baseline (the trivial
view) are interleaved with rounds of each benchmark (one before each round and one after the
last), and each figure is reported against the median of its own neighbouring baseline rounds,
so that a machine whose load drifts during the run slows both sides of a ratio alike.

Add a benchmark by writing a module in bench/ with a function decorated by @benchmark; the
runner (`python -m bench`) imports every module in the package and runs what it finds.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Benchmark:
    name: str
    unit: str
    goal: float
    prepare: Callable[[Bench], Callable[[], None]]
    module: str = ""


REGISTRY: list[Benchmark] = []


def benchmark(*, name: str, unit: str, goal: float) -> Callable[[Any], Any]:
    """Register `prepare(bench) -> op`: prepare builds the data, op does one unit of work."""

    def register(prepare: Callable[[Bench], Callable[[], None]]) -> Callable[[Bench], Any]:
        REGISTRY.append(Benchmark(name, unit, goal, prepare, prepare.__module__))
        return prepare

    return register


def setup_django(data_dir: Path) -> None:
    """A throwaway installation: its own data directory and SQLite database, migrated."""
    os.environ["CIS_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.setdefault("CIS_LOG_LEVEL", "WARNING")
    # Never point a benchmark at a real database by accident: only an explicit variable does.
    url = os.environ.get("CIS_BENCH_DATABASE_URL")
    if url:
        os.environ["DATABASE_URL"] = url
    else:
        os.environ.pop("DATABASE_URL", None)
    import django  # noqa: PLC0415
    from django.core.management import call_command  # noqa: PLC0415

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


class WsgiClient:
    """Calls Django's WSGI application directly, as a WSGI server would, minus the socket."""

    def __init__(self) -> None:
        from django.core.handlers.wsgi import WSGIHandler  # noqa: PLC0415

        self.app = WSGIHandler()

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        content_type: str = "",
    ) -> tuple[int, bytes]:
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": content_type,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        status: list[str] = []

        def start_response(line: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
            status.append(line)
            return lambda data: None

        response = self.app(environ, start_response)
        try:
            content = b"".join(response)
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()
        return int(status[0].split()[0]), content

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", path)

    def post(self, path: str, body: bytes, content_type: str) -> tuple[int, bytes]:
        return self.request("POST", path, body, content_type)


def rate(op: Callable[[], None], *, seconds: float, min_ops: int = 50) -> float:
    """Operations per second over one round of about `seconds`."""
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(25):
            op()
        done += 25
        now = time.perf_counter()
        if now >= deadline and done >= min_ops:
            return done / (now - start)


@dataclass
class Bench:
    """What a benchmark's prepare step gets: the WSGI client and a place for files."""

    client: WsgiClient
    data_dir: Path
    state: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    benchmark: Benchmark
    value: float
    rounds: list[float]
    baseline: float = 0.0
    baseline_rounds: list[float] = field(default_factory=list)


def trivial_op(client: WsgiClient) -> Callable[[], None]:
    def op() -> None:
        status, _ = client.get("/bench/trivial")
        if status != 200:
            raise RuntimeError(f"the trivial view answered {status}")

    return op


def format_line(result: Result, baseline: float) -> str:
    b = result.benchmark
    ratio = result.value / baseline if baseline else 0.0
    return (
        f"BENCH name={b.name} value={result.value:.1f} unit={b.unit} "
        f"baseline={baseline:.1f} ratio={ratio:.3f} goal={b.goal:g}"
    )


def run(
    selected: Iterable[Benchmark],
    *,
    rounds: int = 3,
    seconds: float = 2.0,
    out: Any = sys.stdout,
    log: Any = sys.stderr,
) -> tuple[float, list[Result]]:
    """Run benchmarks with baseline rounds interleaved; print one BENCH line each."""
    with tempfile.TemporaryDirectory(prefix="cis-bench-") as tmp:
        data_dir = Path(tmp)
        setup_django(data_dir)
        client = WsgiClient()
        bench = Bench(client=client, data_dir=data_dir)
        baseline_op = trivial_op(client)
        rate(baseline_op, seconds=0.3)  # warm up imports, URL resolver, middleware
        baseline_rounds: list[float] = []
        results: list[Result] = []
        prepared = []
        for b in selected:
            print(f"preparing {b.name} ...", file=log, flush=True)
            op = b.prepare(bench)
            rate(op, seconds=0.3, min_ops=25)  # warm up caches and connections
            prepared.append((b, op))
        for b, op in prepared:
            measured: list[float] = []
            around: list[float] = []
            for _ in range(rounds):
                around.append(rate(baseline_op, seconds=seconds))
                measured.append(rate(op, seconds=seconds))
            around.append(rate(baseline_op, seconds=seconds))
            baseline_rounds.extend(around)
            results.append(
                Result(b, statistics.median(measured), measured, statistics.median(around), around)
            )
            print(
                f"  {b.name}: rounds {', '.join(f'{r:.0f}' for r in measured)}; trivial view "
                f"around them {', '.join(f'{r:.0f}' for r in around)}",
                file=log,
                flush=True,
            )
        baseline = statistics.median(baseline_rounds) if baseline_rounds else 0.0
        for result in results:
            print(format_line(result, result.baseline), file=out, flush=True)
        return baseline, results
