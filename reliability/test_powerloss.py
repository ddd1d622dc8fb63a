"""Power loss on the SQLite default: what a cut at a random moment under load leaves behind.

`cis serve` (2 workers) takes writes on SQLite with every process's writes to the database
files logged (reliability/powerloss); at a random moment every process is killed at once, and
the files a disk would hold after a power cut then are rebuilt from the log: each file as of
its last sync (the worst case), and with a random half of the later writes as well. Each rebuilt
database must open, recover and pass `PRAGMA integrity_check`; then every write that was
acknowledged (201 to the client) is looked for.

The writes are sign-in challenges (`POST /signin/agent/challenge`, anonymous, one row each):
whether an acknowledged commit survives is the storage engine's business, the same for every
table, and this one needs no signed-in client.
"""

from __future__ import annotations

import random
import shutil
import signal
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from tests.live import LiveCis

from . import powerloss
from .conftest import Figures, Scale

pytestmark = pytest.mark.timeout(1800)
DB = "cis.sqlite3"
CLIENTS = 8
WORKERS = 2
PROCESSES = WORKERS + 1  # the workers and their master


@dataclass
class Load:
    """Clients asking for challenges until told to stop; what was acknowledged, and when."""

    url: str
    acknowledged: list[str] = field(default_factory=list)
    started: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def client(self) -> None:
        with httpx.Client(base_url=self.url, timeout=5) as http:
            while not self.stop.is_set():
                try:
                    answer = http.post("/signin/agent/challenge")
                except httpx.HTTPError:
                    continue  # the cut: not acknowledged
                if answer.status_code == 201:
                    with self.lock:
                        self.acknowledged.append(uuid.UUID(answer.json()["challenge_id"]).hex)

    def run_until(self, seconds: float) -> float:
        """Drive the load, cut at `seconds`; the acknowledged writes per second until the cut."""
        threads = [threading.Thread(target=self.client, daemon=True) for _ in range(CLIENTS)]
        self.started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(seconds)  # the moment of the cut, chosen by the caller
        return len(self.acknowledged) / (time.monotonic() - self.started)


@pytest.fixture(autouse=True)
def _sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded default, whatever database the rest of the suite runs on."""
    monkeypatch.delenv("DATABASE_URL", raising=False)


def _installation(data: Path, **env: str) -> LiveCis:
    return LiveCis(data, settings_module="cis.config.settings.base", extra_env=env)


@pytest.fixture
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite installation, shut down cleanly: every cut starts from a copy of it."""
    data = tmp_path_factory.mktemp("pristine")
    _installation(data).migrate()
    return data


@pytest.fixture(scope="module")
def writelog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return powerloss.build(tmp_path_factory.mktemp("writelog"))


@dataclass
class Cut:
    acknowledged: int
    rate: float
    lost: dict[str, int]  # per rebuilt variant: acknowledged writes missing


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(p.resolve()): p.read_bytes()
        for p in directory.iterdir()
        if p.name.startswith(DB) and not p.name.endswith("-shm")
    }


def _present(files: dict[str, bytes], where: Path) -> set[str]:
    """Open the rebuilt files as SQLite would after the cut; the challenges it still holds."""
    where.mkdir()
    for name, content in files.items():
        (where / Path(name).name).write_bytes(content)
    db = sqlite3.connect(where / DB)
    try:
        (check,) = db.execute("PRAGMA integrity_check").fetchone()
        assert check == "ok", f"{where.name}: {check}"
        return {row[0] for row in db.execute("SELECT id FROM signin_loginchallenge")}
    finally:
        db.close()


def _cut_once(pristine: Path, library: Path, work: Path, mode: str, seconds: float) -> Cut:
    data = work / "data"
    shutil.copytree(pristine, data)
    before = _files(data)
    log = work / "writes.log"
    server = _installation(
        data,
        CIS_SQLITE_SYNCHRONOUS=mode,
        LD_PRELOAD=str(library),
        CIS_WRITELOG=str(log),
        CIS_WRITELOG_MATCH=str((data / DB).resolve()),
    )
    server.start(workers=WORKERS, args=("--skip-collectstatic",))
    load = Load(server.url)
    try:
        rate = load.run_until(seconds)
        server.signal(signal.SIGKILL)  # the cut: every process at once
    finally:
        load.stop.set()
        server.close()  # reaps what the cut left (or stops it, if the load failed first)
    acknowledged = set(load.acknowledged)
    assert acknowledged, "no write was acknowledged before the cut"
    records = list(powerloss.read_log(log))
    # The log is whole: replaying every write gives the files the processes left, but for at
    # most the one write each process had made and not yet logged when it was killed.
    regions = powerloss.unlogged(powerloss.everything(before, records), _files(data))
    assert len(regions) <= PROCESSES, regions
    assert all(length <= powerloss.WRITE_LIMIT for _, _, length in regions), regions
    lost = {}
    variants = {"worst": 0.0, "half_a": 0.5, "half_b": 0.5, "half_c": 0.5}
    for seed, (variant, survivors) in enumerate(variants.items()):
        rebuilt = powerloss.rebuild(before, records, survivors=survivors, seed=seed)
        present = _present(rebuilt, work / variant)
        lost[variant] = len(acknowledged - present)
    return Cut(len(acknowledged), rate, lost)


def _cuts(pristine: Path, library: Path, tmp_path: Path, mode: str, count: int) -> Iterator[Cut]:
    moments = random.Random(f"{mode}{count}")  # noqa: S311 - when to cut, not a secret
    for n in range(count):
        yield _cut_once(pristine, library, tmp_path / f"{mode}{n}", mode, moments.uniform(2, 5))


def test_power_cut_with_synchronous_full_loses_nothing(
    pristine: Path, writelog: Path, tmp_path: Path, scale: Scale, figures: Figures
) -> None:
    cuts = list(_cuts(pristine, writelog, tmp_path, "FULL", scale.pick(short=2, full=10)))
    figures["db"] = "sqlite"
    figures["cuts"] = len(cuts)
    figures["acknowledged"] = sum(c.acknowledged for c in cuts)
    figures["lost_worst_case"] = sum(c.lost["worst"] for c in cuts)
    figures["lost_random"] = sum(c.lost[v] for c in cuts for v in c.lost if v != "worst")
    figures["writes_per_s"] = sum(c.rate for c in cuts) / len(cuts)
    assert all(not any(c.lost.values()) for c in cuts), [c.lost for c in cuts]


def test_power_cut_with_synchronous_normal_loses_only_the_unsynced_tail(
    pristine: Path, writelog: Path, tmp_path: Path, scale: Scale, figures: Figures
) -> None:
    """NORMAL syncs the WAL at checkpoints only: what it may lose is measured, not hidden."""
    cuts = list(_cuts(pristine, writelog, tmp_path, "NORMAL", scale.pick(short=2, full=10)))
    figures["db"] = "sqlite"
    figures["cuts"] = len(cuts)
    figures["acknowledged"] = sum(c.acknowledged for c in cuts)
    figures["lost_worst_case"] = sum(c.lost["worst"] for c in cuts)
    figures["lost_random"] = sum(c.lost[v] for c in cuts for v in c.lost if v != "worst")
    figures["writes_per_s"] = sum(c.rate for c in cuts) / len(cuts)
    # Never corrupt (checked in every variant above), and never more than was acknowledged.
    assert all(c.lost["worst"] <= c.acknowledged for c in cuts)


def _write_rate(pristine: Path, work: Path, mode: str, seconds: float) -> float:
    data = work / f"rate-{mode}"
    shutil.copytree(pristine, data)
    server = _installation(data, CIS_SQLITE_SYNCHRONOUS=mode)
    server.start(workers=2, args=("--skip-collectstatic",))
    load = Load(server.url)
    try:
        return load.run_until(seconds)
    finally:
        load.stop.set()
        server.close()


def test_what_synchronous_full_costs(
    pristine: Path, tmp_path: Path, scale: Scale, figures: Figures
) -> None:
    """Acknowledged writes a second with each mode, in one run, without the write log."""
    seconds = scale.pick(short=5, full=20)
    normal = _write_rate(pristine, tmp_path, "NORMAL", seconds)
    full = _write_rate(pristine, tmp_path, "FULL", seconds)
    figures["db"] = "sqlite"
    figures["normal_writes_per_s"] = normal
    figures["full_writes_per_s"] = full
    figures["full_vs_normal"] = full / normal
    assert full > 0 and normal > 0


def test_the_whole_log_check_finds_an_unlogged_write() -> None:
    """The harness's own check: a write the log lacks shows as one region, where it was."""
    before = {"db": bytes(16384)}
    logged = powerloss.Record("W", "db", 4096, b"\1" * 4096)
    replayed = powerloss.everything(before, [logged])
    assert powerloss.unlogged(replayed, replayed) == []
    actual = {"db": bytes(replayed["db"][:12288]) + b"\2" * 100 + bytes(replayed["db"][12388:])}
    assert powerloss.unlogged(replayed, actual) == [("db", 12288, 512)]
    grown = {"db": replayed["db"] + b"\3" * 1000}
    assert powerloss.unlogged(replayed, grown) == [("db", 16384, 1000)]
