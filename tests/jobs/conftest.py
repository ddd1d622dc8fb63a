"""A real SMTP server on loopback that the jobs send through, and the desk to work at."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.live import free_port
from tests.workflow.desk import Desk, build_desk


@dataclass
class Mailbox:
    """Every message the server accepted, as parsed email messages."""

    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.original_content)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                message["X-Delivered-To"] = rcpt
                self.messages.append(message)
        return "250 Message accepted for delivery"

    def deliveries(self) -> list[tuple[str, str]]:
        with self.lock:
            return [(str(m["X-CIS-Event"]), str(m["X-Delivered-To"])) for m in self.messages]


@pytest.fixture
def smtp(settings: Any) -> Iterator[Mailbox]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 10
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def desk(db: None) -> Desk:
    return build_desk()
