"""The CIS API over HTTPS, as the agent's flows use it (httpx; nothing from the server side)."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from cis_wire.errors import NOT_AUTHENTICATED, SIGNED_OUT

from .errors import NOT_SIGNED_IN, REFUSED, SERVER_DOWN, AgentError, from_http

Json = dict[str, Any]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class ApiClient:
    """One server, optionally with the bearer token of a signed-in agent."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Accept": "application/json", "User-Agent": "cis-agent/1"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.signed_in = token is not None
        self._http = httpx.Client(
            base_url=f"{self.base_url}/api/v1/",
            headers=headers,
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, url: str, body: Json | None = None) -> Any:
        try:
            response = self._http.request(method, url, json=body)
        except httpx.TransportError as exc:
            raise AgentError(
                f"Cannot reach CIS at {self.base_url}: {exc.__class__.__name__}.", SERVER_DOWN
            ) from None
        if response.status_code == 204:
            return {}
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.is_success:
            return data
        if not isinstance(data, dict):
            data = {}
        if (
            response.status_code in (401, 403)
            and not self.signed_in
            and data.get("error") in SIGNED_OUT
        ):
            raise AgentError(
                "Sign in first: cis-agent login --server URL --card SPEC.",
                NOT_SIGNED_IN,
                code=NOT_AUTHENTICATED,
            )
        raise from_http(
            response.status_code, str(data.get("error", "")), str(data.get("detail", ""))
        )

    # -- open steps --------------------------------------------------------------------------

    def passcode_policy(self) -> Json:
        result: Json = self._call("GET", "cards/passcode-policy/")
        return result

    def login_challenge(self) -> str:
        return str(self._call("POST", "agent/challenge/")["challenge"])

    def login(
        self, *, chip_serial: str, certificate_der: bytes, challenge: str, signature: bytes
    ) -> Json:
        try:
            result: Json = self._call(
                "POST",
                "agent/sign-in/",
                {
                    "chip_serial": chip_serial,
                    "certificate": _b64(certificate_der),
                    "challenge": challenge,
                    "signature": _b64(signature),
                },
            )
        except AgentError as exc:
            if exc.status == REFUSED:  # a refused sign-in is "not signed in", whatever the cause
                raise AgentError(exc.message, NOT_SIGNED_IN, code=exc.code) from None
            raise
        return result

    def lock_report(self, *, chip_serial: str, challenge: str, mac: bytes) -> Json:
        result: Json = self._call(
            "POST", f"cards/{chip_serial}/lock-report/", {"challenge": challenge, "mac": _b64(mac)}
        )
        return result

    # -- card tasks the portal asked for (the task's secret is the credential) ---------------

    def task_describe(self, *, task: str, secret: str) -> Json:
        result: Json = self._call("POST", f"card-tasks/{task}/", {"secret": secret})
        return result

    def task_claim(self, *, task: str, secret: str, chip_serial: str) -> Json:
        result: Json = self._call(
            "POST", f"card-tasks/{task}/claim/", {"secret": secret, "chip_serial": chip_serial}
        )
        return result

    def task_finish(self, *, task: str, secret: str, outcome: str, detail: str = "") -> Json:
        result: Json = self._call(
            "POST",
            f"card-tasks/{task}/finish/",
            {"secret": secret, "outcome": outcome, "detail": detail[:300]},
        )
        return result

    def logout(self) -> None:
        self._call("POST", "agent/sign-out/")

    def self_unlock_send_code(
        self, *, chip_serial: str, certificate_der: bytes, channel: str
    ) -> Json:
        result: Json = self._call(
            "POST",
            f"cards/{chip_serial}/self-unlock/code/",
            {"certificate": _b64(certificate_der), "channel": channel},
        )
        return result

    def self_unlock_verify(self, *, chip_serial: str, certificate_der: bytes, code: str) -> Json:
        result: Json = self._call(
            "POST",
            f"cards/{chip_serial}/self-unlock/verify/",
            {"certificate": _b64(certificate_der), "code": code},
        )
        return result

    # -- signed-in steps -----------------------------------------------------------------------

    def card(self, *, chip_serial: str) -> Json:
        result: Json = self._call("GET", f"cards/{chip_serial}/")
        return result

    def issue(self, *, holder: str, chip_serial: str, holder_present: bool) -> Json:
        result: Json = self._call(
            "POST",
            "cards/issue/",
            {"holder": holder, "chip_serial": chip_serial, "holder_present": holder_present},
        )
        return result

    def replace(
        self, *, chip_serial: str, new_chip_serial: str, reason: str, holder_present: bool
    ) -> Json:
        result: Json = self._call(
            "POST",
            f"cards/{chip_serial}/replace/",
            {
                "new_chip_serial": new_chip_serial,
                "reason": reason,
                "holder_present": holder_present,
            },
        )
        return result

    def repair(self, *, chip_serial: str, holder_present: bool) -> Json:
        result: Json = self._call(
            "POST", f"cards/{chip_serial}/repair/", {"holder_present": holder_present}
        )
        return result

    def clear(self, *, chip_serial: str) -> Json:
        result: Json = self._call("POST", f"cards/{chip_serial}/clear/")
        return result

    def renew(self, *, chip_serial: str, holder_present: bool) -> Json:
        result: Json = self._call(
            "POST", f"cards/{chip_serial}/renew/", {"holder_present": holder_present}
        )
        return result

    def unlock(self, *, chip_serial: str, holder_present: bool) -> Json:
        result: Json = self._call(
            "POST", f"cards/{chip_serial}/unlock/", {"holder_present": holder_present}
        )
        return result

    def report_locked(self, *, chip_serial: str) -> Json:
        result: Json = self._call("POST", f"cards/{chip_serial}/report-locked/")
        return result

    def request_certificate(
        self,
        *,
        operation: str,
        chip_serial: str,
        csr_pem: bytes,
        renewal_proof: bytes | None = None,
        secret: str = "",
    ) -> Json:
        body: Json = {"chip_serial": chip_serial, "csr": csr_pem.decode(), "secret": secret}
        if renewal_proof is not None:
            body["renewal_proof"] = _b64(renewal_proof)
        result: Json = self._call("POST", f"card-operations/{operation}/certificate/", body)
        return result

    def complete(
        self,
        *,
        operation: str,
        chip_serial: str,
        certificate_serial: str = "",
        so_pin_rotated: bool = False,
        secret: str = "",
    ) -> Json:
        result: Json = self._call(
            "POST",
            f"card-operations/{operation}/complete/",
            {
                "chip_serial": chip_serial,
                "certificate_serial": certificate_serial,
                "so_pin_rotated": so_pin_rotated,
                "secret": secret,
            },
        )
        return result
