"""`kill -9` of `cis jobs run` while it sends: at most the one email in flight goes out twice.

A real `cis jobs run` process sends through a real SMTP server (aiosmtpd) that kills the process
the moment a chosen message has arrived, before answering it: the worst moment, when the email is
out but the sender has not heard so. The next run sends the rest; the mailbox is then counted.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.live import CIS, LiveCis, free_port

from .conftest import Mailbox

EMAILS = 30


class KillingMailbox(Mailbox):
    """A mailbox that SIGKILLs the sender when the message numbered `kill_at` arrives."""

    kill_at: int = 0
    sender: subprocess.Popen[str] | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        answer = await super().handle_DATA(server, session, envelope)
        with self.lock:
            arrived = len(self.messages)
        if self.sender is not None and arrived == self.kill_at:
            os.kill(self.sender.pid, signal.SIGKILL)
            self.sender.wait(timeout=60)
        return answer


def _send(live: LiveCis, mailbox: KillingMailbox, *, kill_at: int = 0) -> int:
    mailbox.kill_at = kill_at
    mailbox.sender = subprocess.Popen(  # noqa: S603 - our own command
        [CIS, "jobs", "run", "--only", "send-notifications"],
        env=live.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        return mailbox.sender.wait(timeout=600)
    finally:
        mailbox.sender = None


def test_each_kill_duplicates_at_most_the_email_in_flight(tmp_path: Path) -> None:
    mailbox = KillingMailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    live = LiveCis(
        tmp_path,
        settings_module="cis.config.settings.base",
        extra_env={"CIS_EMAIL_HOST": "127.0.0.1", "CIS_EMAIL_PORT": str(controller.port)},
    )
    try:
        live.migrate()
        live.shell(
            "from cis.workflow.notifications import enqueue\n"
            f"for n in range({EMAILS}):\n"
            "    enqueue(event_key=f'test:{n}', recipients=[f'person{n}@example.org'],"
            " subject=f'Email {n}', body='Hello')\n"
        )
        assert _send(live, mailbox, kill_at=7) == -signal.SIGKILL
        assert _send(live, mailbox, kill_at=15) == -signal.SIGKILL
        assert _send(live, mailbox) == 0
        left = live.shell(
            "from cis.workflow.models import Notification\n"
            "print(Notification.objects.filter(sent_at__isnull=True).count())"
        )
    finally:
        controller.stop()
        live.close()
    assert left.strip().splitlines()[-1] == "0", "every email is marked sent"
    deliveries = Counter(mailbox.deliveries())
    assert len(deliveries) == EMAILS, "every email went out"
    duplicates = sum(times - 1 for times in deliveries.values())
    assert duplicates <= 2, f"{duplicates} duplicates after 2 kills: {deliveries.most_common(3)}"
