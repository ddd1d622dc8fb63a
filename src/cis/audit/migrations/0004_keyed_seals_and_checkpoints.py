"""Keyed seals: each event names the audit key that sealed it and the person it is about, and
signed checkpoints get a copy in the database. Events written before this are checked against the
old unkeyed recipe and then sealed again with the audit key (made now if missing), so that no
event is left that anyone could have sealed."""

import datetime as dt
import hashlib
import json
import re

from django.db import migrations, models

OLD_FIELDS = (
    "seq",
    "at",
    "actor_ref",
    "actor_name",
    "rule",
    "action",
    "target_type",
    "target_ref",
    "organisation_ref",
    "before",
    "after",
    "request_ref",
    "client_address",
    "channel",
    "correlation_id",
)
USER_ID = re.compile(r"^[0-9]{12}$")


def _at(value):
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _old_hash(prev, fields):
    body = json.dumps(
        {name: fields[name] for name in OLD_FIELDS},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(f"{prev}|{body}".encode()).hexdigest()


def _subject(event):
    if event.target_type == "person":
        return event.target_ref
    for snapshot in (event.after, event.before):
        for key in ("holder", "person", "subject", "user_id"):
            value = (snapshot or {}).get(key)
            if isinstance(value, str) and USER_ID.fullmatch(value):
                return value
    return ""


def reseal(apps, schema_editor):
    from cis.audit import keys  # noqa: PLC0415 - the live keys, not a frozen model
    from cis.audit.chain import GENESIS, event_seal  # noqa: PLC0415

    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditHead = apps.get_model("audit", "AuditHead")
    if not AuditEvent.objects.exists():
        return
    key_id = keys.ensure()
    for chain in sorted(set(AuditEvent.objects.values_list("chain", flat=True))):
        old_prev, new_prev, expected = GENESIS, GENESIS, 1
        for event in AuditEvent.objects.filter(chain=chain).order_by("id").iterator():
            fields = {name: getattr(event, name) for name in OLD_FIELDS}
            fields["at"] = _at(event.at)
            if (
                event.seq != expected
                or event.prev_hash != old_prev
                or _old_hash(old_prev, fields) != event.hash
            ):
                raise RuntimeError(
                    f"The audit trail is already broken at event #{expected} of chain {chain} "
                    "(`cis audit verify` on the previous version names why): investigate before "
                    "upgrading, since sealing it now would hide the break."
                )
            old_prev = event.hash
            event.key_id = key_id
            event.subject_ref = _subject(event)
            sealed = {**fields, "chain": chain, "key_id": key_id, "subject_ref": event.subject_ref}
            event.prev_hash = new_prev
            event.hash = event_seal(new_prev, sealed)
            event.save(update_fields=["key_id", "subject_ref", "prev_hash", "hash"])
            new_prev = event.hash
            expected += 1
        AuditHead.objects.filter(id=chain).update(seq=expected - 1, hash=new_prev)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_parallel_chains"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="key_id",
            field=models.CharField(default="", max_length=8),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="subject_ref",
            field=models.CharField(blank=True, db_index=True, default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["actor_ref", "id"], name="audit_actor_idx"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["at"], name="audit_at_idx"),
        ),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("node", models.CharField(max_length=32)),
                ("number", models.BigIntegerField()),
                ("at", models.DateTimeField()),
                ("line", models.TextField()),
            ],
            options={
                "ordering": ["node", "number"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("node", "number"), name="audit_unique_checkpoint"
                    )
                ],
            },
        ),
        migrations.RunPython(reseal, migrations.RunPython.noop),
    ]
