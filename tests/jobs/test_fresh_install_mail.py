"""A fresh install with no SMTP relay configured: `cis jobs run` writes email to files.

Without `CIS_EMAIL_HOST` there is no relay to send through, so email goes under the data
directory (as SMS does) instead of failing every run with refused connections to port 25.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.live import LiveCis

pytestmark = pytest.mark.django_db(transaction=True)


def test_jobs_run_delivers_email_to_files_when_no_relay_is_configured(tmp_path: Path) -> None:
    live = LiveCis(tmp_path, settings_module="cis.config.settings.base")
    try:
        live.migrate()
        live.init_ca()
        live.shell(
            "from django.db import transaction\n"
            "from cis.workflow.notifications import enqueue\n"
            "with transaction.atomic():\n"
            "    enqueue(event_key='fresh-install', recipients=['ra@example.nhs.uk'],"
            " subject='A new request', body='Review it')\n"
        )
        run = live.cis("jobs", "run", check=False)
        assert run.returncode == 0, run.stdout + run.stderr
        written = list((tmp_path / "mail").glob("*"))
        assert len(written) == 1
        message = written[0].read_text()
        assert "To: ra@example.nhs.uk" in message
        assert "Subject: A new request" in message
        again = live.cis("jobs", "run", check=False)
        assert again.returncode == 0
        assert len(list((tmp_path / "mail").glob("*"))) == 1  # each email once
    finally:
        live.close()
