"""`cis backup` and `cis restore`: the database, the key files and the audit checkpoints, in one.

An archive is a tar file (gzip-compressed) holding:

- `manifest.json`: when and from what it was made (database vendor, CIS version, the last
  migration of each app) and the SHA-256 of every other member;
- `database.dump` (PostgreSQL, `pg_dump --format=custom`) or `database.sqlite3` (SQLite's online
  backup API: a consistent copy while CIS keeps running);
- `data/...`: the data directory (CA key files and passphrase, the audit keys and node id, the
  Django secret key, photos, everything else), without what is rebuilt (static files) or taken
  through the database (the SQLite file and its journal);
- `checkpoints.jsonl`: the audit checkpoints, when they are kept outside the data directory.

Restoring checks the whole archive (every checksum, the vendor, an empty target) before it
writes anything, so a damaged archive, or a target that already holds data, changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from cis.audit.checkpoints import sink_path
from cis.core.errors import Conflict, ValidationFailed

FORMAT = 1
SKIPPED = {"static"}  # rebuilt by collectstatic
CHUNK = 1 << 20


@dataclass(frozen=True)
class Manifest:
    made_at: str
    vendor: str
    version: str
    migrations: dict[str, str]
    files: dict[str, str]  # member name -> SHA-256

    def as_json(self) -> bytes:
        return json.dumps({"format": FORMAT, **self.__dict__}, indent=2, sort_keys=True).encode()


def _digest(path: Path) -> str:
    found = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            found.update(block)
    return found.hexdigest()


def _database_files() -> set[Path]:
    """The SQLite database and its journal files (taken through the backup API, not copied)."""
    if connection.vendor != "sqlite":
        return set()
    database = Path(str(connection.settings_dict["NAME"])).resolve()
    return {database, *(Path(f"{database}-{end}") for end in ("wal", "shm", "journal"))}


def _data_files(data_dir: Path, skip: set[Path]) -> Iterator[tuple[Path, str]]:
    """Every file of the data directory to keep, with its name in the archive."""
    for path in sorted(data_dir.rglob("*")):
        relative = path.relative_to(data_dir)
        if relative.parts[0] in SKIPPED or not path.is_file() or path.is_symlink():
            continue
        if path.resolve() in skip or path.name.startswith("."):
            continue  # the database (taken through its own backup), drafts, the archive itself
        yield path, f"data/{relative.as_posix()}"


def _pg_env() -> tuple[list[str], dict[str, str]]:
    conf = connection.settings_dict
    env = dict(os.environ)
    if conf.get("PASSWORD"):
        env["PGPASSWORD"] = str(conf["PASSWORD"])
    args = [
        f"--host={conf.get('HOST') or '127.0.0.1'}",
        f"--port={conf.get('PORT') or 5432}",
        f"--username={conf.get('USER') or 'postgres'}",
        f"--dbname={conf['NAME']}",
    ]
    return args, env


def _dump_database(into: Path) -> str:
    """The database into a file in `into`; returns the member name."""
    if connection.vendor == "postgresql":
        target = into / "database.dump"
        args, env = _pg_env()
        done = subprocess.run(  # noqa: S603 - a fixed program, arguments from the settings
            [  # noqa: S607 - pg_dump from PATH, as the operator's shell would find it
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--file={target}",
                *args,
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise Conflict(f"pg_dump failed: {done.stderr.strip()}")
        return target.name
    if connection.vendor == "sqlite":
        target = into / "database.sqlite3"
        connection.ensure_connection()
        copy = sqlite3.connect(target)
        try:
            connection.connection.backup(copy)
        finally:
            copy.close()
        return target.name
    raise Conflict(f"cis backup does not know how to copy a {connection.vendor} database.")


def _migrations() -> dict[str, str]:
    last: dict[str, str] = {}
    for app, name in MigrationRecorder(connection).applied_migrations():
        if name > last.get(app, ""):
            last[app] = name
    return dict(sorted(last.items()))


def backup(output: Path) -> Manifest:
    """Write the archive to `output` (readable only by its owner); fails if it exists."""
    output = output.resolve()
    if output.exists():
        raise Conflict(f"{output} exists already: choose a new name, or move the old one away.")
    data_dir = Path(settings.DATA_DIR).resolve()
    skip = {output, *_database_files()}
    checkpoints = sink_path().resolve()
    with tempfile.TemporaryDirectory(prefix="cis-backup-") as work:
        # The files first, the database second: a checkpoint newer than the database copy
        # would make the restored trail look cut. Copies, so that what is archived is what
        # was taken, however the originals change meanwhile.
        sources = list(_data_files(data_dir, skip))
        if checkpoints.exists() and not checkpoints.is_relative_to(data_dir):
            sources.append((checkpoints, "checkpoints.jsonl"))
        members: list[tuple[Path, str]] = []
        for path, name in sources:
            copy = Path(work) / "files" / name
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)
            members.append((copy, name))
        dumped = _dump_database(Path(work))
        members.insert(0, (Path(work) / dumped, dumped))
        manifest = Manifest(
            made_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            vendor=connection.vendor,
            version=metadata.version("care-identity-service"),
            migrations=_migrations(),
            files={name: _digest(path) for path, name in members},
        )
        draft = output.with_name(f".{output.name}.part")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
                body = manifest.as_json()
                info = tarfile.TarInfo("manifest.json")
                info.size, info.mode = len(body), 0o600
                tar.addfile(info, io.BytesIO(body))
                for path, name in members:
                    tar.add(path, arcname=name, recursive=False)
                tar.close()
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(draft, output)
        finally:
            draft.unlink(missing_ok=True)
    return manifest


def read_manifest(tar: tarfile.TarFile) -> Manifest:
    try:
        member = tar.extractfile("manifest.json")
        raw: dict[str, Any] = json.loads(member.read() if member else b"")
        if raw.pop("format") != FORMAT:
            raise ValidationFailed("The archive was made by a newer CIS: upgrade CIS first.")
        return Manifest(**raw)
    except (KeyError, ValueError, TypeError) as exc:
        raise ValidationFailed(f"Not a CIS backup: no readable manifest ({exc}).") from None


def _database_is_empty() -> bool:
    return not connection.introspection.table_names()


def _data_dir_is_empty(data_dir: Path) -> list[str]:
    """What in the data directory a restore would overwrite (nothing: empty list)."""
    present = []
    database = _database_files()
    for path in data_dir.rglob("*"):
        relative = path.relative_to(data_dir)
        if path.resolve() in database or not path.is_file() or relative.parts[0] in SKIPPED:
            continue
        # A draft (leading dot) is nobody's data; the secret key is made by settings on start.
        if not path.name.startswith(".") and relative.as_posix() != "secret-key":
            present.append(relative.as_posix())
    return present


def _check(tar: tarfile.TarFile, manifest: Manifest, into: Path) -> None:
    """Extract every member into `into`, and check it against the manifest."""
    names = {m.name for m in tar.getmembers()} - {"manifest.json"}
    if names != set(manifest.files):
        missing = sorted(set(manifest.files) - names)
        extra = sorted(names - set(manifest.files))
        raise ValidationFailed(
            f"The archive does not match its manifest (missing: {missing[:5]}, extra: {extra[:5]})."
        )
    tar.extractall(into, filter="data")
    for name, expected in manifest.files.items():
        if _digest(into / name) != expected:
            raise ValidationFailed(f"The archive is damaged: {name} does not match its checksum.")


def restore(archive: Path) -> Manifest:
    """Restore the archive into this installation's database and data directory, both empty."""
    data_dir = Path(settings.DATA_DIR).resolve()
    try:
        tar = tarfile.open(archive, mode="r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise ValidationFailed(f"Cannot read {archive}: {exc}.") from None
    with tar, tempfile.TemporaryDirectory(prefix="cis-restore-", dir=data_dir) as work:
        manifest = read_manifest(tar)
        if manifest.vendor != connection.vendor:
            raise ValidationFailed(
                f"The archive holds a {manifest.vendor} database; this installation uses "
                f"{connection.vendor}. Restore into the same kind of database."
            )
        if not _database_is_empty():
            raise Conflict(
                "The database is not empty: restore only into a new, empty database "
                "(nothing was changed)."
            )
        present = _data_dir_is_empty(data_dir)
        if present:
            raise Conflict(
                f"The data directory {data_dir} holds files already ({', '.join(present[:3])}"
                f"{'...' if len(present) > 3 else ''}): restore into an empty one "
                "(nothing was changed)."
            )
        staged = Path(work)
        _check(tar, manifest, staged)
        _load_database(staged)
        for name in manifest.files:
            if name.startswith("data/"):
                target = data_dir / name.removeprefix("data/")
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                if target.name == "secret-key":
                    target.unlink(missing_ok=True)
                shutil.move(staged / name, target)
        if "checkpoints.jsonl" in manifest.files:
            sink = sink_path()
            sink.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.move(staged / "checkpoints.jsonl", sink)
    return manifest


def _load_database(staged: Path) -> None:
    if connection.vendor == "postgresql":
        args, env = _pg_env()
        done = subprocess.run(  # noqa: S603 - a fixed program, arguments from the settings
            [  # noqa: S607 - pg_restore from PATH, as the operator's shell would find it
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                *args,
                str(staged / "database.dump"),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise Conflict(f"pg_restore failed, and changed nothing: {done.stderr.strip()}")
        return
    connection.ensure_connection()
    source = sqlite3.connect(staged / "database.sqlite3")
    try:
        source.backup(connection.connection)
    finally:
        source.close()
