"""The JSON the workstation agent reads for an operation and a certificate, built in one place.

The API (cis.api.v1.cards) sends these over HTTP; provisioning.DirectServer hands the same
shapes to the agent's flows in-process, for the console and the demo.
"""

from __future__ import annotations

import base64
from typing import Any

from cis.people.models import Person

from . import conf
from .models import CardCertificate
from .services import Released
from .services.common import lock_report_key
from .states import OperationKind


def holder_json(person: Person) -> dict[str, str]:
    return {"user_id": person.user_id, "full_name": person.full_name}


def passcode_policy_json() -> dict[str, int]:
    low, high = conf.passcode_lengths()
    return {"min_length": low, "max_length": high}


def operation_json(released: Released) -> dict[str, Any]:
    op = released.operation
    return {
        "operation": op.ref,
        "kind": op.kind,
        "chip_serial": op.card.chip_serial,
        "holder": holder_json(op.card.holder),
        "expires_at": op.expires_at,
        "challenge": op.challenge,
        "so_pins": released.so_pins,
        "new_so_pin": released.new_so_pin,
        "secret": released.secret,
        # Every step that leaves the card in use also (re)writes its lock-report key.
        "lock_report_key": ""
        if op.kind == OperationKind.CLEAR
        else base64.b64encode(lock_report_key(op.card)).decode(),
        "passcode_policy": passcode_policy_json(),
    }


def certificate_json(link: CardCertificate) -> dict[str, Any]:
    cert = link.certificate
    return {
        "certificate_serial": cert.serial_hex,
        "certificate_pem": cert.pem,
        "not_after": cert.not_after,
    }
