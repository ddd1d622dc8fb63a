"""Reading import runs: the service desk's list and one run's report."""

from __future__ import annotations

from django.db.models import QuerySet

from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.core.errors import NotFound

from .models import ImportRun


def import_list(*, actor: Actor) -> QuerySet[ImportRun]:
    require(actor, Action.IMPORT_RUN)
    return ImportRun.objects.defer("content").select_related("submitted_by")


def import_get(*, actor: Actor, run_id: int) -> ImportRun:
    run = import_list(actor=actor).filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"No import {run_id}.")
    return run
