"""Indexes for the organisation search on PostgreSQL: name by substring, ODS code in any case."""

from django.db import migrations

from cis.core.migration_ops import TRIGRAM_EXTENSION, trigram_index, upper_index


class Migration(migrations.Migration):
    dependencies = [("organisations", "0002_ra_contact_area_geography")]

    operations = [
        TRIGRAM_EXTENSION,
        trigram_index("organisations_organisation", "name"),
        upper_index("organisations_organisation", "ods_code"),
    ]
