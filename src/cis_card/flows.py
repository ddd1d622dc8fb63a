"""What each card operation does with the card and CIS, in the order that keeps it safe.

The rule throughout: change the card first, then tell CIS, and never let CIS believe something
the card does not hold. A step cut short (card pulled, network gone) leaves a card that works
as before, and running the command again finishes or redoes it. The agent's commands run these
flows against CIS over HTTPS; the server's console runs `issue` in-process.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from cis_wire import messages

from .base import (
    Card,
    CardError,
    CardLocked,
    CardSession,
    PasscodePolicy,
    StoredCertificate,
    WrongSoPin,
    newest,
)
from .csr import build_csr

Json = dict[str, Any]
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


class Personaliser(Protocol):
    """What personalising a card needs of CIS: its passcode rules, a certificate, and finishing."""

    def passcode_policy(self) -> Json: ...
    def request_certificate(
        self,
        *,
        operation: str,
        chip_serial: str,
        csr_pem: bytes,
        renewal_proof: bytes | None = None,
        secret: str = "",
    ) -> Json: ...
    def complete(
        self,
        *,
        operation: str,
        chip_serial: str,
        certificate_serial: str = "",
        so_pin_rotated: bool = False,
        secret: str = "",
    ) -> Json: ...


class Issuer(Personaliser, Protocol):
    """What issuing a new card needs of CIS; the server's console serves just this, in-process
    (cis.smartcards.provisioning.DirectServer)."""

    def issue(self, *, holder: str, chip_serial: str, holder_present: bool) -> Json: ...


class Server(Issuer, Protocol):
    """The CIS API as the agent uses it (cis_agent.api.ApiClient speaks it over HTTPS)."""

    def card(self, *, chip_serial: str) -> Json: ...
    def replace(
        self, *, chip_serial: str, new_chip_serial: str, reason: str, holder_present: bool
    ) -> Json: ...
    def repair(self, *, chip_serial: str, holder_present: bool) -> Json: ...
    def clear(self, *, chip_serial: str) -> Json: ...
    def renew(self, *, chip_serial: str, holder_present: bool) -> Json: ...
    def unlock(self, *, chip_serial: str, holder_present: bool) -> Json: ...
    def report_locked(self, *, chip_serial: str) -> Json: ...
    def lock_report(self, *, chip_serial: str, challenge: str, mac: bytes) -> Json: ...
    def self_unlock_send_code(
        self, *, chip_serial: str, certificate_der: bytes, channel: str
    ) -> Json: ...
    def self_unlock_verify(
        self, *, chip_serial: str, certificate_der: bytes, code: str
    ) -> Json: ...
    def login_challenge(self) -> str: ...
    def login(
        self, *, chip_serial: str, certificate_der: bytes, challenge: str, signature: bytes
    ) -> Json: ...


def policy_of(server: Personaliser | None) -> PasscodePolicy:
    if server is None:
        return PasscodePolicy()
    data = server.passcode_policy()
    return PasscodePolicy(min_length=int(data["min_length"]), max_length=int(data["max_length"]))


def presented_certificate(card: Card) -> StoredCertificate:
    cert = newest(card.certificates())
    if cert is None:
        raise CardError("This card holds no certificate; ask your RA to issue or repair it.")
    return cert


def report_lock(card: Card, server: Server) -> Json:
    """Tell CIS the card is locked, authenticated by the card's own lock-report key.

    No sign-in is needed (the usual lock happens at sign-in, so there is none). A card
    personalised before lock-report keys existed has none: then only a signed-in agent can
    report it, through its token.
    """
    serial = card.serial()
    challenge = server.login_challenge()
    mac = card.lock_report_mac(
        messages.lock_report_message(challenge=challenge, chip_serial=serial)
    )
    if mac is None:
        return server.report_locked(chip_serial=serial)
    return server.lock_report(chip_serial=serial, challenge=challenge, mac=mac)


def _report_lock(card: Card, server: Server | None) -> None:
    """Report a lock met during a command; the lock itself is the real news, so never mask it."""
    if server is None:
        return
    try:
        report_lock(card, server)
    except Exception:  # noqa: BLE001, S110 - the caller raises the lock anyway; status retries
        pass


def _store_lock_report_key(session: CardSession, operation: Json) -> None:
    if key := operation.get("lock_report_key"):
        session.store_lock_report_key(base64.b64decode(key))


# -- signing in -----------------------------------------------------------------------------------


def login(*, card: Card, server: Server, passcode: str, progress: Progress = _quiet) -> Json:
    cert = presented_certificate(card)
    serial = card.serial()
    challenge = server.login_challenge()
    progress("Signing the challenge on the card")
    try:
        with card.session(passcode) as session:
            signature = session.sign(
                cert.key_id, messages.login_message(challenge=challenge, chip_serial=serial)
            )
    except CardLocked:
        _report_lock(card, server)
        raise
    return server.login(
        chip_serial=serial, certificate_der=cert.der, challenge=challenge, signature=signature
    )


# -- personalising: issue, replace, repair --------------------------------------------------------


@dataclass(frozen=True)
class Personalised:
    chip_serial: str
    certificate_serial: str
    not_after: str


def _initialise(card: Card, pins: list[str], new_so_pin: str, passcode: str) -> str:
    """Initialise with whichever SO PIN the card holds; return the one that worked."""
    last: CardError | None = None
    for pin in dict.fromkeys(pins):
        try:
            card.initialise(so_pin=pin, new_so_pin=new_so_pin, passcode=passcode)
        except WrongSoPin as exc:
            last = exc
            continue
        return pin
    raise CardError(
        "The card refused every administrator PIN CIS holds for it"
        + (f" ({last})" if last else "")
        + ". Ask your RA to check the card."
    )


def personalise(
    *,
    card: Card,
    server: Personaliser,
    operation: Json,
    passcode: str,
    transport_so_pin: str | None = None,
    progress: Progress = _quiet,
) -> Personalised:
    """Initialise the card, make its key, get it certified, write the certificate, finish."""
    policy = PasscodePolicy(**operation["passcode_policy"])
    policy.check(passcode)
    serial = card.serial()
    pins = list(operation["so_pins"])
    if transport_so_pin is not None:
        pins.append(transport_so_pin)
    progress("Initialising the card")
    _initialise(card, pins, operation["new_so_pin"], passcode)
    with card.session(passcode) as session:
        progress("Generating a key pair on the card")
        key_id, public = session.generate_key()
        csr = build_csr(
            public_key_der=public,
            common_name=operation["holder"]["user_id"],
            sign=lambda data: session.sign(key_id, data),
        )
        progress("Asking CIS for the certificate")
        issued = server.request_certificate(
            operation=operation["operation"],
            chip_serial=serial,
            csr_pem=csr,
            secret=operation.get("secret", ""),
        )
        der = x509.load_pem_x509_certificate(issued["certificate_pem"].encode()).public_bytes(
            serialization.Encoding.DER
        )
        progress("Writing the certificate to the card")
        session.write_certificate(key_id, der)
        _store_lock_report_key(session, operation)
    progress("Telling CIS the card is ready")
    server.complete(
        operation=operation["operation"],
        chip_serial=serial,
        certificate_serial=issued["certificate_serial"],
        so_pin_rotated=True,
        secret=operation.get("secret", ""),
    )
    return Personalised(serial, issued["certificate_serial"], issued["not_after"])


def issue(
    *,
    card: Card,
    server: Issuer,
    holder: str,
    passcode: str,
    transport_so_pin: str,
    progress: Progress = _quiet,
) -> Personalised:
    policy_of(server).check(passcode)  # before anything changes, on the card or in CIS
    operation = server.issue(holder=holder, chip_serial=card.serial(), holder_present=True)
    return personalise(
        card=card,
        server=server,
        operation=operation,
        passcode=passcode,
        transport_so_pin=transport_so_pin,
        progress=progress,
    )


def replace(
    *,
    old_chip_serial: str,
    card: Card,
    server: Server,
    reason: str,
    passcode: str,
    transport_so_pin: str,
    progress: Progress = _quiet,
) -> Personalised:
    policy_of(server).check(passcode)
    operation = server.replace(
        chip_serial=old_chip_serial,
        new_chip_serial=card.serial(),
        reason=reason,
        holder_present=True,
    )
    return personalise(
        card=card,
        server=server,
        operation=operation,
        passcode=passcode,
        transport_so_pin=transport_so_pin,
        progress=progress,
    )


def repair(
    *, card: Card, server: Server, passcode: str, progress: Progress = _quiet
) -> Personalised:
    policy_of(server).check(passcode)
    operation = server.repair(chip_serial=card.serial(), holder_present=True)
    return personalise(
        card=card, server=server, operation=operation, passcode=passcode, progress=progress
    )


# -- renewing -------------------------------------------------------------------------------------


def renew(
    *,
    card: Card,
    server: Server,
    passcode: str,
    holder_present: bool = False,
    progress: Progress = _quiet,
    operation: Json | None = None,
) -> Personalised:
    """New key on the card, CSR proven by the old key, new certificate written, then CIS told.

    The old key and certificate stay on the card until CIS confirms the new one, so a renewal
    cut short leaves the card working with its old certificate. `operation`: one already
    started (a card task the agent claimed); otherwise this starts it.
    """
    old = presented_certificate(card)
    serial = card.serial()
    if operation is None:
        operation = server.renew(chip_serial=serial, holder_present=holder_present)
    secret = str(operation.get("secret", ""))
    try:
        with card.session(passcode) as session:
            certified = {c.key_id for c in card.certificates()}
            for key_id in session.key_ids():
                if key_id not in certified:
                    session.delete_key(key_id)  # left by an earlier renewal cut short
            progress("Generating a new key pair on the card")
            key_id, public = session.generate_key()
            csr = build_csr(
                public_key_der=public,
                common_name=operation["holder"]["user_id"],
                sign=lambda data: session.sign(key_id, data),
            )
            csr_der = x509.load_pem_x509_csr(csr).public_bytes(serialization.Encoding.DER)
            proof = session.sign(
                old.key_id,
                messages.renewal_message(
                    challenge=operation["challenge"], chip_serial=serial, csr_der=csr_der
                ),
            )
            progress("Asking CIS for the new certificate")
            issued = server.request_certificate(
                operation=operation["operation"],
                chip_serial=serial,
                csr_pem=csr,
                renewal_proof=proof,
                secret=secret,
            )
            der = x509.load_pem_x509_certificate(issued["certificate_pem"].encode()).public_bytes(
                serialization.Encoding.DER
            )
            progress("Writing the new certificate to the card")
            session.write_certificate(key_id, der)
            _store_lock_report_key(session, operation)
            progress("Retiring the old certificate")
            server.complete(
                operation=operation["operation"],
                chip_serial=serial,
                certificate_serial=issued["certificate_serial"],
                secret=secret,
            )
            session.delete_key(old.key_id)
    except CardLocked:
        _report_lock(card, server)
        raise
    return Personalised(serial, issued["certificate_serial"], issued["not_after"])


# -- passcode and unlock --------------------------------------------------------------------------


def change_passcode(
    *, card: Card, current: str, new: str, policy: PasscodePolicy, server: Server | None = None
) -> None:
    policy.check(new)
    if new == current:
        raise CardError("The new passcode must differ from the current one.")
    try:
        card.change_passcode(current, new)
    except CardLocked:
        _report_lock(card, server)
        raise


@dataclass(frozen=True)
class Unlocked:
    chip_serial: str
    so_pin_rotated: bool


def unlock_with(
    *, card: Card, server: Server, operation: Json, new_passcode: str, progress: Progress
) -> Unlocked:
    PasscodePolicy(**operation["passcode_policy"]).check(new_passcode)
    serial = card.serial()
    progress("Unlocking the card")
    used = None
    for pin in dict.fromkeys(operation["so_pins"]):
        try:
            card.unlock(so_pin=pin, new_passcode=new_passcode)
        except WrongSoPin:
            continue
        used = pin
        break
    if used is None:
        raise CardError(
            "The card refused every administrator PIN CIS holds for it. Ask your RA to check it."
        )
    if operation.get("lock_report_key"):
        with card.session(new_passcode) as session:  # a card issued before keys existed gets one
            _store_lock_report_key(session, operation)
    rotated = False
    problem: CardError | None = None
    progress("Changing the card's administrator PIN")
    try:
        card.set_so_pin(current=used, new=operation["new_so_pin"])
        rotated = True
    except CardError as exc:
        problem = exc
    # The card is unlocked either way: tell CIS, and whether the rotation is still due.
    server.complete(
        operation=operation["operation"],
        chip_serial=serial,
        so_pin_rotated=rotated,
        secret=operation.get("secret", ""),
    )
    if problem is not None:
        raise problem
    return Unlocked(serial, rotated)


def unlock_assisted(
    *, card: Card, server: Server, new_passcode: str, progress: Progress = _quiet
) -> Unlocked:
    policy_of(server).check(new_passcode)
    operation = server.unlock(chip_serial=card.serial(), holder_present=True)
    return unlock_with(
        card=card, server=server, operation=operation, new_passcode=new_passcode, progress=progress
    )


def self_unlock_send_code(*, card: Card, server: Server, channel: str = "") -> Json:
    cert = presented_certificate(card)
    return server.self_unlock_send_code(
        chip_serial=card.serial(), certificate_der=cert.der, channel=channel
    )


def self_unlock(
    *, card: Card, server: Server, code: str, new_passcode: str, progress: Progress = _quiet
) -> Unlocked:
    cert = presented_certificate(card)
    policy_of(server).check(new_passcode)
    progress("Checking the code with CIS")
    operation = server.self_unlock_verify(
        chip_serial=card.serial(), certificate_der=cert.der, code=code
    )
    return unlock_with(
        card=card, server=server, operation=operation, new_passcode=new_passcode, progress=progress
    )


# -- clearing and status --------------------------------------------------------------------------


def clear(*, card: Card, server: Server, transport_so_pin: str, progress: Progress = _quiet) -> str:
    serial = card.serial()
    operation = server.clear(chip_serial=serial)
    progress("Wiping the card")
    done = False
    for pin in dict.fromkeys(operation["so_pins"]):
        try:
            card.wipe(so_pin=pin, transport_so_pin=transport_so_pin)
        except WrongSoPin:
            continue
        done = True
        break
    if not done:
        raise CardError("The card refused every administrator PIN CIS holds for it.")
    progress("Telling CIS the card is clear")
    server.complete(operation=operation["operation"], chip_serial=serial)
    return serial


def card_status(card: Card) -> Json:
    """What the card itself says, without a passcode."""
    certs = card.certificates()
    current = newest(certs)
    return {
        "chip_serial": card.serial(),
        "initialised": card.is_initialised(),
        "locked": card.is_locked(),
        "tries_left": card.tries_left(),
        "certificate": None
        if current is None
        else {
            "serial": current.serial_hex,
            "subject": current.subject,
            "not_after": current.not_after.isoformat(),
        },
        "certificates_on_card": len(certs),
    }
