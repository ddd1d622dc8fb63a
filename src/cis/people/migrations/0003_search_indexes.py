"""Indexes for the person search on PostgreSQL: names by substring, user id by prefix, email."""

from django.db import migrations

from cis.core.migration_ops import TRIGRAM_EXTENSION, prefix_index, trigram_index, upper_index


class Migration(migrations.Migration):
    dependencies = [("people", "0002_identitycheck_console_checker")]

    operations = [
        TRIGRAM_EXTENSION,
        trigram_index("people_person", "given_name"),
        trigram_index("people_person", "family_name"),
        prefix_index("people_person", "user_id"),
        upper_index("people_person", "email"),
    ]
