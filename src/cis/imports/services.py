"""Running an import: from the command line at once, or queued from the API or the portal and
processed by the jobs runner. Either way all-or-nothing per file, unless partial."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
from collections.abc import Iterator

from django.db import transaction

from cis.audit.trail import record
from cis.authz.actions import Action
from cis.authz.policy import CONSOLE, Actor, require
from cis.core import clock
from cis.core.errors import DomainError, ValidationFailed
from cis.organisations.models import RegistrationAuthority
from cis.people.models import Person

from . import esr, ods
from .models import ImportKind, ImportRun, ImportStatus
from .report import Outcome, Progress, decode

log = logging.getLogger(__name__)

MAX_BYTES = 64 * 1024 * 1024


class _Rollback(Exception):
    """Leave the transaction without keeping anything: a row failed while being applied."""


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Without Python's cycle collector while a file is applied: a national file makes hundreds of
    thousands of model instances, none of them garbage, and the collector walks them all again and
    again (20,000 ESR starters: 75 s with it, 47 s without, bench/README.md). Reference counting
    still frees everything; the collector is back on, as it was, once the file is done."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _layout_name(kind: str, filename: str, layout: str) -> str:
    if kind == ImportKind.ODS:
        return ods.layout_for(filename, layout).name
    if kind == ImportKind.ESR:
        return "esr"
    raise ValidationFailed(f"'{kind}' is not a kind of import: use ods or esr.", field="kind")


def import_file(
    *,
    actor: Actor,
    kind: str,
    data: bytes,
    filename: str = "",
    layout: str = "",
    partial: bool = False,
    default_ra: RegistrationAuthority | None = None,
    progress: Progress | None = None,
    run_ref: str = "",
) -> Outcome:
    """Import one file now. Nothing changes unless every row is good (or partial is set)."""
    decision = require(actor, Action.IMPORT_RUN)
    layout_name = _layout_name(kind, filename, layout)
    if len(data) > MAX_BYTES:
        raise ValidationFailed("The file is larger than 64 MB; split it.", field="file")
    text = decode(data)
    digest = hashlib.sha256(data).hexdigest()
    source = f"{kind}:{filename or digest[:12]}"
    outcome = Outcome(kind=kind, layout=layout_name, partial=partial)
    try:
        with _no_cyclic_gc(), transaction.atomic():
            if kind == ImportKind.ODS:
                outcome = ods.run(
                    actor=actor,
                    rule=decision.rule,
                    text=text,
                    layout=ods.LAYOUTS[layout_name],
                    partial=partial,
                    default_ra=default_ra,
                    source=source,
                    progress=progress,
                )
            else:
                outcome = esr.run(
                    actor=actor,
                    rule=decision.rule,
                    text=text,
                    partial=partial,
                    source=source,
                    progress=progress,
                )
            if not outcome.applied:
                raise _Rollback
            if outcome.changed:
                record(
                    actor=actor,
                    rule=decision.rule,
                    action=Action.IMPORT_RUN,
                    target_type="import",
                    target_ref=run_ref or digest[:16],
                    after={
                        "kind": kind,
                        "layout": layout_name,
                        "file": filename,
                        "sha256": digest,
                        "rows": outcome.rows,
                        "partial": partial,
                        "counts": dict(outcome.counts),
                        "rejected": len(outcome.rejected),
                    },
                )
    except _Rollback:
        outcome.applied = False
        outcome.counts.clear()
    log.info(
        "import %s %s: %s",
        kind,
        filename or digest[:12],
        outcome.summary(),
        extra={"rows": outcome.rows, "rejected": len(outcome.rejected)},
    )
    return outcome


def import_submit(
    *,
    actor: Actor,
    kind: str,
    data: bytes,
    filename: str = "",
    layout: str = "",
    partial: bool = False,
    default_ra: RegistrationAuthority | None = None,
) -> ImportRun:
    """Queue a file for the jobs runner; its status and report are read back from the run."""
    decision = require(actor, Action.IMPORT_RUN)
    layout_name = _layout_name(kind, filename, layout)
    if not data.strip():
        raise ValidationFailed("The file is empty.", field="file")
    if len(data) > MAX_BYTES:
        raise ValidationFailed("The file is larger than 64 MB; split it.", field="file")
    person = actor if isinstance(actor, Person) else None
    with transaction.atomic():
        run = ImportRun.objects.create(
            kind=kind,
            layout=layout_name,
            filename=filename[:200],
            content=decode(data),
            digest=hashlib.sha256(data).hexdigest(),
            partial=partial,
            default_ra=default_ra,
            submitted_by=person,
            submitted_by_name=person.full_name if person else str(actor),
        )
        record(
            actor=actor,
            rule=decision.rule,
            action=Action.IMPORT_RUN,
            target_type="import",
            target_ref=str(run.pk),
            after={
                "step": "queued",
                "kind": kind,
                "layout": layout_name,
                "file": run.filename,
                "sha256": run.digest,
                "partial": partial,
            },
        )
    return run


def _claim() -> ImportRun | None:
    with transaction.atomic():
        run = (
            ImportRun.objects.select_for_update(skip_locked=True)
            .filter(status=ImportStatus.QUEUED)
            .order_by("created_at", "id")
            .first()
        )
        if run is None:
            return None
        run.status = ImportStatus.RUNNING
        run.started_at = clock.now()
        run.save(update_fields=["status", "started_at", "updated_at"])
        return run


def import_process_queued(*, limit: int = 10) -> int:
    """Run queued imports, oldest first, each as the person who submitted it."""
    processed = 0
    while processed < limit:
        run = _claim()
        if run is None:
            break
        processed += 1
        actor: Actor = run.submitted_by if run.submitted_by is not None else CONSOLE
        try:
            outcome = import_file(
                actor=actor,
                kind=run.kind,
                data=run.content.encode(),
                filename=run.filename,
                layout=run.layout,
                partial=run.partial,
                default_ra=run.default_ra,
                run_ref=str(run.pk),
            )
        except DomainError as exc:
            run.status, run.message = ImportStatus.FAILED, exc.message[:500]
        except Exception:  # noqa: BLE001 - the run must not stay "running"; the log has why
            log.exception("import run %s failed", run.pk)
            run.status, run.message = ImportStatus.FAILED, "The import failed; nothing changed."
        else:
            run.status = ImportStatus.DONE if outcome.applied else ImportStatus.REJECTED
            run.rows = outcome.rows
            run.counts = dict(outcome.counts)
            run.rejected = [r.as_dict() for r in outcome.rejected]
            run.message = outcome.summary()[:500]
        run.finished_at = clock.now()
        run.content = ""  # the report stays; the file's contents (personal data) go
        run.save()
    return processed
