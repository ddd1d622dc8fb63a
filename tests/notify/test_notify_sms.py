"""GOV.UK Notify SMS: the request CIS sends, received by a server on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from jwcrypto import jwk, jwt
from jwcrypto.common import base64url_encode

from cis.notify.sms import NotifySmsSender

SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"
API_KEY = f"cis_test-{SERVICE_ID}-{SECRET}"


@pytest.fixture
def notify_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            length = int(self.headers["Content-Length"])
            received.append(
                {
                    "path": self.path,
                    "authorization": self.headers["Authorization"],
                    "body": json.loads(self.rfile.read(length)),
                }
            )
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"id": "ok"}')

        def log_message(self, *args: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()


def test_an_sms_goes_to_notify_signed_with_the_api_key(
    notify_server: tuple[str, list[dict[str, Any]]], settings: Any
) -> None:
    base_url, received = notify_server
    settings.CIS_NOTIFY_API_KEY = API_KEY
    settings.CIS_NOTIFY_SMS_TEMPLATE_ID = "template-1"
    settings.CIS_NOTIFY_BASE_URL = base_url
    NotifySmsSender().send(to="+447700900123", body="Your code is 123456", reference="r1")
    [request] = received
    assert request["path"] == "/v2/notifications/sms"
    assert request["body"] == {
        "phone_number": "+447700900123",
        "template_id": "template-1",
        "personalisation": {"body": "Your code is 123456"},
        "reference": "r1",
    }
    scheme, token = request["authorization"].split(" ", 1)
    assert scheme == "Bearer"
    key = jwk.JWK(kty="oct", k=base64url_encode(SECRET.encode()))
    claims = json.loads(jwt.JWT(jwt=token, key=key, algs=["HS256"]).claims)
    assert claims["iss"] == SERVICE_ID


def test_a_malformed_api_key_is_refused(settings: Any) -> None:
    settings.CIS_NOTIFY_API_KEY = "not-a-key"
    with pytest.raises(ValueError, match="not a GOV.UK Notify API key"):
        NotifySmsSender()
