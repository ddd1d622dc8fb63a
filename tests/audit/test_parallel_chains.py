"""Several hash chains: writers on PostgreSQL take whichever chain is free, and verify() checks
each chain from its first event to its head.

The threaded test needs a database that lets several writers in at once: PostgreSQL. SQLite lets
one write transaction in at a time, so there a single chain serves and this cannot happen.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, connections, transaction

from cis.audit.models import AuditEvent, AuditHead
from cis.audit.trail import record
from cis.audit.verify import verify
from cis.authz.policy import CONSOLE

SQLITE_REASON = "SQLite admits one writer at a time, so it writes to a single chain"


def _record(n: int, *, hold: float = 0.0) -> int:
    with transaction.atomic():
        seq = record(
            actor=CONSOLE, rule="test", action="test.action", target_type="t", target_ref=str(n)
        )
        time.sleep(hold)  # the change goes on a while after its event: commits overlap
    return seq


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_take_free_chains_and_every_chain_verifies(settings: object) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(SQLITE_REASON)
    settings.CIS_AUDIT_CHAINS = 4  # type: ignore[attr-defined]
    writers, each = 4, 5
    barrier = threading.Barrier(writers)

    def write(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            for n in range(each):
                _record(index * 100 + n, hold=0.2)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert AuditEvent.objects.count() == writers * each
    used = set(AuditEvent.objects.values_list("chain", flat=True))
    # Each writer holds its chain for 0.2 s after writing: the others took other chains
    # rather than queue behind it.
    assert len(used) > 1
    for chain in used:
        seqs = list(
            AuditEvent.objects.filter(chain=chain).order_by("id").values_list("seq", flat=True)
        )
        assert seqs == list(range(1, len(seqs) + 1))
        assert AuditHead.objects.get(id=chain).seq == len(seqs)
    result = verify()
    assert result.intact and result.events == writers * each


@pytest.mark.django_db
def test_verify_checks_every_chain(settings: object) -> None:
    """Whatever wrote them, events in a second chain are checked like the first's."""
    from cis.audit.chain import GENESIS, SEALED_FIELDS, event_seal

    from .tamper import as_database_owner

    for n in range(3):
        _record(n)
    # Move the last two events to a chain of their own, as a second writer would have written
    # them (sealed with the key, as that writer would), and give that chain its head: intact.
    first, second, third = AuditEvent.objects.order_by("id")
    prev = GENESIS
    with as_database_owner():
        AuditHead.objects.filter(id=1).update(seq=1, hash=first.hash)
        for seq, event in enumerate((second, third), start=1):
            event.chain, event.seq, event.prev_hash = 2, seq, prev
            fields = {name: getattr(event, name) for name in SEALED_FIELDS}
            fields["at"] = event.at.astimezone(dt.UTC).isoformat(timespec="microseconds")
            event.hash = event_seal(prev, fields)
            event.save()
            prev = event.hash
    AuditHead.objects.create(id=2, seq=2, hash=prev)
    result = verify()
    assert result.intact and result.events == 3

    # Cutting off chain 2's latest event is found, and named in that chain.
    with as_database_owner():
        AuditEvent.objects.filter(pk=third.pk).delete()
    broken = verify().problem
    assert broken is not None
    assert broken.chain == 2
    assert broken.where == "event #2 of chain 2"
    assert "latest events were deleted" in broken.reason
