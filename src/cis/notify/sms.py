"""SMS senders: GOV.UK Notify for real deployments, a file for the demo, memory for tests."""

from __future__ import annotations

import json
import time
import uuid
from typing import Protocol

import httpx
from django.conf import settings
from django.utils.module_loading import import_string
from jwcrypto import jwk, jwt
from jwcrypto.common import base64url_encode

from cis.core import clock


class SmsSender(Protocol):
    def send(self, *, to: str, body: str, reference: str = "") -> None: ...


class FileSmsSender:
    """Appends each message as a JSON line to $CIS_DATA_DIR/sms.jsonl (the demo reads it)."""

    def send(self, *, to: str, body: str, reference: str = "") -> None:
        path = settings.DATA_DIR / "sms.jsonl"
        line = json.dumps({"at": clock.now().isoformat(), "to": to, "body": body, "ref": reference})
        with path.open("a") as handle:
            handle.write(line + "\n")


class MemorySmsSender:
    """Keeps messages in a list, like Django's locmem mail backend."""

    outbox: list[dict[str, str]] = []  # noqa: RUF012 - shared on purpose, like mail.outbox

    def send(self, *, to: str, body: str, reference: str = "") -> None:
        MemorySmsSender.outbox.append({"to": to, "body": body, "ref": reference})


class NotifySmsSender:
    """GOV.UK Notify's send-SMS API; the API key is 'name-serviceid-secret', signed as a JWT."""

    def __init__(self) -> None:
        key = settings.CIS_NOTIFY_API_KEY
        if len(key) < 74:
            raise ValueError("CIS_NOTIFY_API_KEY is not a GOV.UK Notify API key")
        self.service_id = key[-73:-37]
        self.secret = key[-36:]
        self.template_id = settings.CIS_NOTIFY_SMS_TEMPLATE_ID
        self.base_url = settings.CIS_NOTIFY_BASE_URL.rstrip("/")

    def send(self, *, to: str, body: str, reference: str = "") -> None:
        key = jwk.JWK(kty="oct", k=base64url_encode(self.secret.encode()))
        token = jwt.JWT(
            header={"alg": "HS256", "typ": "JWT"},
            claims={"iss": self.service_id, "iat": int(time.time())},
        )
        token.make_signed_token(key)
        response = httpx.post(
            f"{self.base_url}/v2/notifications/sms",
            headers={"Authorization": f"Bearer {token.serialize()}"},
            json={
                "phone_number": to,
                "template_id": self.template_id,
                "personalisation": {"body": body},
                "reference": reference or uuid.uuid4().hex,
            },
            timeout=10,
        )
        response.raise_for_status()


def sender() -> SmsSender:
    cls = import_string(settings.CIS_SMS_BACKEND)
    return cls()  # type: ignore[no-any-return]  # the setting names a class implementing SmsSender
