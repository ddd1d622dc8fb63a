"""`cis backup` and `cis restore`: a whole installation into one archive, and back.

The round trip runs as an operator would: the demo world served by `cis serve`, backed up with
`cis backup` while it runs, restored with `cis restore` into a new data directory and a new,
empty database (SQLite or PostgreSQL, as the suite runs), then `cis audit verify`, a portal
sign-in and a card sign-in with `cis-agent` against the restored installation. The refusals run
in-process: each leaves everything as it was.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from cis.audit.models import AuditEvent
from tests.live import LiveCis

AGENT = str(Path(sys.executable).with_name("cis-agent"))


@pytest.fixture(scope="module")
def restored(
    live_demo: LiveCis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveCis, LiveCis, Path]]:
    archive = tmp_path_factory.mktemp("backups") / "cis.tar.gz"
    made = live_demo.cis("backup", "--out", str(archive))
    assert "Backup written to" in made.stdout
    target = LiveCis(tmp_path_factory.mktemp("restored"))
    try:
        yield live_demo, target, archive
    finally:
        target.close()


def test_a_backup_restores_into_a_new_installation_that_verifies_and_signs_in(
    restored: tuple[LiveCis, LiveCis, Path],
) -> None:
    source, target, archive = restored
    assert archive.stat().st_mode & 0o077 == 0, "the archive holds keys: owner only"
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"manifest.json", "data/ca/key-passphrase"} <= names
    assert names & {"database.sqlite3", "database.dump"}
    assert not any(name.startswith("data/static/") for name in names)

    said = target.cis("restore", str(archive)).stdout
    assert "Restored the backup" in said
    verified = target.cis("audit", "verify")
    assert "intact" in verified.stdout.splitlines()[0]
    counted = "from cis.audit.models import AuditEvent; print(AuditEvent.objects.count())"
    assert target.shell(counted).split()[-1] == source.shell(counted).split()[-1]

    target.start()
    jack = source.persona("Jack Pearson")
    with target.signed_in(jack["user_id"]) as client:
        me = client.get("/api/v1/me/")
        assert me.status_code == 200, me.text
        assert me.json()["user_id"] == jack["user_id"]
    # The card's certificate, the CA that issued it and the sign-in keys all came back.
    card = jack["card"].replace(str(source.data_dir), str(target.data_dir))
    signed_in = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [AGENT, "login", "--server", target.url, "--card", card, "--passcode-stdin"],
        input=f"{jack['passcode']}\n",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**target.env, "HOME": str(target.data_dir)},
    )
    assert signed_in.returncode == 0, signed_in.stdout + signed_in.stderr


def test_a_restore_refuses_an_installation_that_holds_data_and_changes_nothing(
    restored: tuple[LiveCis, LiveCis, Path],
) -> None:
    source, _, archive = restored
    before = source.shell(
        "from cis.audit.models import AuditEvent; print(AuditEvent.objects.count())"
    )
    refused = source.cis("restore", str(archive), check=False)
    assert refused.returncode != 0
    assert "The database is not empty" in refused.stderr
    assert "Traceback" not in refused.stderr
    after = source.shell(
        "from cis.audit.models import AuditEvent; print(AuditEvent.objects.count())"
    )
    assert before == after
    source.cis("audit", "verify")


def _damaged(archive: Path, into: Path) -> Path:
    """The archive with one byte of one key file changed, its manifest left as it was."""
    damaged = into / "damaged.tar.gz"
    with tarfile.open(archive) as tar, tarfile.open(damaged, "w:gz") as out:
        for member in tar.getmembers():
            data = tar.extractfile(member).read() if member.isfile() else b""  # type: ignore[union-attr]
            if member.name == "data/ca/key-passphrase":
                data = bytes([data[0] ^ 1]) + data[1:]
            out.addfile(member, io.BytesIO(data))
    return damaged


def test_a_damaged_archive_is_refused_before_anything_is_written(
    restored: tuple[LiveCis, LiveCis, Path], tmp_path: Path
) -> None:
    _, _, archive = restored
    fresh = LiveCis(tmp_path / "fresh")
    try:
        refused = fresh.cis("restore", str(_damaged(archive, tmp_path)), check=False)
        assert refused.returncode != 0
        assert "damaged: data/ca/key-passphrase does not match its checksum" in refused.stderr
        kept = [p for p in fresh.data_dir.rglob("*") if p.is_file() and p.name != "secret-key"]
        assert not [p for p in kept if "ca" in p.parts or "audit" in p.parts]
        tables = fresh.shell(
            "from django.db import connection; print(len(connection.introspection.table_names()))"
        )
        assert tables.split()[-1] == "0"
    finally:
        fresh.close()


@pytest.mark.django_db(transaction=True)  # SQLite's backup waits for open transactions to end
def test_backup_never_overwrites_and_restore_names_what_is_wrong(tmp_path: Path) -> None:
    archive = tmp_path / "one.tar.gz"
    call_command("backup", "--out", str(archive), stdout=io.StringIO())
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert manifest["vendor"] == connection.vendor
    assert manifest["migrations"]["audit"].startswith("00")
    with pytest.raises(CommandError, match="exists already"):
        call_command("backup", "--out", str(archive), stdout=io.StringIO())
    not_ours = tmp_path / "not-ours.tar.gz"
    with tarfile.open(not_ours, "w:gz") as tar:
        tar.addfile(tarfile.TarInfo("hello.txt"), io.BytesIO(b""))
    with pytest.raises(CommandError, match="Not a CIS backup"):
        call_command("restore", str(not_ours), stdout=io.StringIO())
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("restore", str(tmp_path / "absent.tar.gz"), stdout=io.StringIO())
    events = AuditEvent.objects.count()
    with pytest.raises(CommandError, match="The database is not empty"):
        call_command("restore", str(archive), stdout=io.StringIO())
    assert AuditEvent.objects.count() == events
