"""Create the single chain-head row up front, so that concurrent first writers never race."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def create_head(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    head = apps.get_model("audit", "AuditHead")
    head.objects.get_or_create(id=1, defaults={"seq": 0, "hash": "0" * 64})


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(create_head, migrations.RunPython.noop)]
