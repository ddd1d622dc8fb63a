"""The benchmark harness: an isolated installation, an in-process WSGI client, timed rounds.

Every figure is measured the same way as its baseline: by worker processes, one per core
unless --workers says otherwise, as a WSGI server runs one worker per core. Each worker calls
Django's WSGI handler (the whole middleware stack, the URL resolver, the view) or a service
function in a loop, with no network in between, and a figure is the sum of the workers' rates
over the same seconds. All workers share the one database, as a server's workers do. Rounds of
the baseline (the trivial view) are interleaved with rounds of each benchmark (one before each
round and one after the last), and each figure is reported against the median of its own
neighbouring baseline rounds, so that a machine whose load drifts during the run slows both
sides of a ratio alike.

The data a benchmark needs is made once, before the workers start (they are forked from the
process that made it); a benchmark whose operations must not overlap between workers (each
authorization code is good once) takes its share with `Bench.share`.

Add a benchmark by writing a module in bench/ with a function decorated by @benchmark; the
runner (`python -m bench`) imports every module in the package and runs what it finds.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


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
    worker: int = 0  # which worker process this is, 0 .. workers - 1
    workers: int = 1

    def share(self, items: Iterable[T]) -> Iterator[T]:
        """This worker's share of `items`: every workers-th one, so no two workers take one.

        Decided in the process that takes from it: the warm-up in the parent takes them all, and
        each worker forked afterwards takes its own share of what is left.
        """
        source = iter(items)
        decided: list[Any] = [None, None]  # (worker, workers) and the slice made for them

        def mine() -> Iterator[T]:
            while True:
                if decided[0] != (self.worker, self.workers):
                    decided[0] = (self.worker, self.workers)
                    decided[1] = itertools.islice(source, self.worker, None, self.workers)
                try:
                    yield next(decided[1])
                except StopIteration:
                    return

        return mine()


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


def _worker(
    bench: Bench,
    ops: dict[str, Callable[[], None]],
    index: int,
    count: int,
    conn: Any,
) -> None:
    """A worker process: run what the parent asks, when it asks, and report how much was done."""
    from django.db import connections  # noqa: PLC0415

    bench.worker, bench.workers = index, count
    connections.close_all()  # never share the parent's database connection
    try:
        for op in ops.values():
            rate(op, seconds=0.2, min_ops=25)  # warm up this process's connection
        conn.send(("ready", 0.0))
        while True:
            message = conn.recv()
            if message is None:
                return
            name, seconds, start_at = message
            time.sleep(max(0.0, start_at - time.time()))
            conn.send(("done", rate(ops[name], seconds=seconds)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which stops the run
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        raise


class Workers:
    """Worker processes forked after the data is made; each round runs on all of them at once."""

    def __init__(self, bench: Bench, ops: dict[str, Callable[[], None]], count: int) -> None:
        from django.db import connections  # noqa: PLC0415

        connections.close_all()  # the children must not inherit an open connection
        context = multiprocessing.get_context("fork")
        self.pipes = []
        self.processes = []
        for index in range(count):
            parent_end, child_end = context.Pipe()
            process = context.Process(
                target=_worker, args=(bench, ops, index, count, child_end), daemon=True
            )
            process.start()
            self.pipes.append(parent_end)
            self.processes.append(process)
        list(self._answers())  # every worker warmed up and ready

    def _answers(self) -> Iterator[float]:
        for pipe in self.pipes:
            kind, value = pipe.recv()
            if kind == "failed":
                self.close()
                raise RuntimeError(f"a benchmark worker failed: {value}")
            yield value

    def rate(self, name: str, seconds: float) -> float:
        """Operations per second of all workers together, over the same `seconds`."""
        start_at = time.time() + 0.05
        for pipe in self.pipes:
            pipe.send((name, seconds, start_at))
        return sum(self._answers())

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):  # that worker has already gone
                pipe.send(None)
        for process in self.processes:
            process.join(timeout=10)


def run(
    selected: Iterable[Benchmark],
    *,
    rounds: int = 3,
    seconds: float = 2.0,
    workers: int | None = None,
    out: Any = sys.stdout,
    log: Any = sys.stderr,
) -> tuple[float, list[Result]]:
    """Run benchmarks with baseline rounds interleaved; print one BENCH line each."""
    count = workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="cis-bench-") as tmp:
        data_dir = Path(tmp)
        setup_django(data_dir)
        client = WsgiClient()
        bench = Bench(client=client, data_dir=data_dir)
        ops: dict[str, Callable[[], None]] = {BASELINE: trivial_op(client)}
        rate(ops[BASELINE], seconds=0.3)  # warm up imports, URL resolver, middleware
        chosen = list(selected)
        for b in chosen:
            print(f"preparing {b.name} ...", file=log, flush=True)
            ops[b.name] = b.prepare(bench)
            rate(ops[b.name], seconds=0.3, min_ops=25)  # warm up caches the workers inherit
        print(f"measuring with {count} worker process(es) ...", file=log, flush=True)
        pool = Workers(bench, ops, count)
        baseline_rounds: list[float] = []
        results: list[Result] = []
        try:
            for b in chosen:
                measured: list[float] = []
                around: list[float] = []
                for _ in range(rounds):
                    around.append(pool.rate(BASELINE, seconds))
                    measured.append(pool.rate(b.name, seconds))
                around.append(pool.rate(BASELINE, seconds))
                baseline_rounds.extend(around)
                results.append(
                    Result(
                        b, statistics.median(measured), measured, statistics.median(around), around
                    )
                )
                print(
                    f"  {b.name}: rounds {', '.join(f'{r:.0f}' for r in measured)}; trivial view "
                    f"around them {', '.join(f'{r:.0f}' for r in around)}",
                    file=log,
                    flush=True,
                )
        finally:
            pool.close()
        baseline = statistics.median(baseline_rounds) if baseline_rounds else 0.0
        for result in results:
            print(format_line(result, result.baseline), file=out, flush=True)
        return baseline, results


BASELINE = "trivial view"
