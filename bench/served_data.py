"""What the HTTP benchmarks send, made before any timing: request files for the load generator.

Runs in the runner's process with Django set up on the same database and data directory as the
server (`bench/served.py`). Each file holds one request a line, tab-separated: method, path,
content type, cookie, CSRF token, body in hex (bench/wrk/requests.lua reads it). What a client
would do before the request it sends is done here: authorization codes stored as
/oidc/authorize stores them, sign-in challenges issued as /signin/agent/challenge issues them
and signed with the card's key (the card's work, not the server's), browser sessions made as a
card sign-in makes them, CSRs made on the card.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OCSP_CACHED_CERTS = 1000


@dataclass(frozen=True)
class Line:
    method: str
    path: str
    body: bytes = b""
    content_type: str = ""
    cookie: str = ""
    csrf: str = ""

    def text(self) -> str:
        fields = (self.method, self.path, self.content_type, self.cookie, self.csrf)
        return "\t".join((*fields, self.body.hex())) + "\n"


def write(path: Path, lines: Iterable[Line]) -> int:
    count = 0
    with path.open("w") as out:
        for line in lines:
            out.write(line.text())
            count += 1
    return count


# Browser sessions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Browser:
    """A signed-in browser: its cookie header and CSRF token."""

    user_id: str
    cookie: str
    csrf: str


def browser_for(person: Any) -> Browser:
    """What a smartcard sign-in leaves in a browser: a Django session for the person, bound to
    a CIS sign-in session with their first active position selected (cis.signin.browser)."""
    from importlib import import_module  # noqa: PLC0415

    from django.conf import settings  # noqa: PLC0415
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: PLC0415

    from cis.core import clock  # noqa: PLC0415
    from cis.signin.constants import ACR_AAL3, AMR_SMARTCARD, SESSION_REF_KEY  # noqa: PLC0415
    from cis.signin.models import SignInMethod  # noqa: PLC0415
    from cis.signin.services import (  # noqa: PLC0415
        session_bind_browser,
        session_select_role,
        session_start,
    )

    session = session_start(
        person=person, method=SignInMethod.SMARTCARD, acr=ACR_AAL3, amr=list(AMR_SMARTCARD)
    )
    today = clock.today()
    held = person.assignments.filter(start_date__lte=today, end_date=None).order_by("id").first()
    if held is not None:
        session = session_select_role(actor=person, session=session, assignment_id=held.pk)
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(person.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = person.get_session_auth_hash()
    store[SESSION_REF_KEY] = str(session.ref)
    store.create()
    session_bind_browser(session=session, session_key=store.session_key or "")
    csrf = secrets.token_hex(16)  # 32 characters: a CSRF secret Django takes as it is
    cookie = (
        f"{settings.SESSION_COOKIE_NAME}={store.session_key};{settings.CSRF_COOKIE_NAME}={csrf}"
    )
    return Browser(person.user_id, cookie, csrf)


def staff(right: str, *, per_ra: bool) -> list[Any]:
    """Active holders of a right: one per RA (RA rights), or one per organisation (LSAs)."""
    from cis.people.models import PersonStatus  # noqa: PLC0415
    from cis.rights.models import RightGrant  # noqa: PLC0415

    grants = (
        RightGrant.objects.filter(right=right, revoked_at=None, person__status=PersonStatus.ACTIVE)
        .select_related("person")
        .order_by("id")
    )
    seen: set[Any] = set()
    people = []
    for grant in grants:
        where = grant.ra_id if per_ra else grant.organisation_id
        if where not in seen:
            seen.add(where)
            people.append(grant.person)
    return people


# OCSP ---------------------------------------------------------------------------------------


def ocsp_bodies(serials: Sequence[str], *, nonce: bool) -> list[bytes]:
    """DER OCSP requests (SHA-1 CertIDs, as RFC 5019 clients send) for these serials."""
    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.x509 import ocsp  # noqa: PLC0415

    from cis.pki.authority import issuing  # noqa: PLC0415

    ca = issuing()
    sha1 = hashes.SHA1()  # noqa: S303 - what OCSP clients use to name a certificate
    name_hash, key_hash = ca.cert_id_hashes(sha1)
    out = []
    for serial in serials:
        builder = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
            name_hash, key_hash, int(serial, 16), sha1
        )
        if nonce:
            builder = builder.add_extension(x509.OCSPNonce(secrets.token_bytes(16)), critical=False)
        out.append(builder.build().public_bytes(serialization.Encoding.DER))
    return out


def ocsp_serials(count: int) -> list[str]:
    """Serials of the directory's certificates, good and revoked, spread over the table."""
    from cis.pki.models import Certificate  # noqa: PLC0415

    total = Certificate.objects.count()
    step = max(1, total // count)
    ids = list(range(1, total + 1, step))[:count]
    return list(Certificate.objects.filter(id__in=ids).values_list("serial_hex", flat=True))


def openssl_material(out: Path) -> dict[str, Path]:
    """The issuing CA's certificate, the OCSP responder's certificate and key, and an index of
    every certificate the CA issued, as `openssl ocsp -index` reads it."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

    from cis.pki import authority  # noqa: PLC0415
    from cis.pki.models import Certificate  # noqa: PLC0415

    ca = authority.issuing()
    signer = authority.ocsp_signer(ca)
    paths = {name: out / f"{name}.pem" for name in ("ca", "signer", "key")}
    paths["ca"].write_bytes(ca.certificate.public_bytes(serialization.Encoding.PEM))
    paths["signer"].write_bytes(signer.certificate.public_bytes(serialization.Encoding.PEM))
    key = signer.key.private_bytes(  # type: ignore[union-attr]  # a file-store key
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    paths["key"].touch(mode=0o600)
    paths["key"].write_bytes(key)
    reasons = {
        "key_compromise": "keyCompromise",
        "affiliation_changed": "affiliationChanged",
        "superseded": "superseded",
        "cessation_of_operation": "cessationOfOperation",
        "privilege_withdrawn": "privilegeWithdrawn",
    }
    paths["index"] = out / "index.txt"
    rows = Certificate.objects.filter(issuer_id=ca.id).values_list(
        "serial_hex", "not_after", "status", "revoked_at", "revocation_reason"
    )
    with paths["index"].open("w") as index:
        for serial, not_after, status, revoked_at, reason in rows.iterator(chunk_size=20000):
            expires = not_after.strftime("%y%m%d%H%M%SZ")
            if status == "valid":
                index.write(f"V\t{expires}\t\t{serial.upper()}\tunknown\t/CN={serial}\n")
            else:
                when = revoked_at.strftime("%y%m%d%H%M%SZ")
                if reason in reasons:
                    when += f",{reasons[reason]}"
                index.write(f"R\t{expires}\t{when}\t{serial.upper()}\tunknown\t/CN={serial}\n")
    return paths


# Sign-in and tokens -------------------------------------------------------------------------


def login_answers(cards: list[dict[str, Any]], count: int) -> list[Line]:
    """Answers to challenges issued now (as the challenge endpoint issues them, with an hour to
    live instead of a minute, since they wait for the timed round), signed by the cards."""
    from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415

    from cis.core import clock  # noqa: PLC0415
    from cis.signin.models import ChallengePurpose, LoginChallenge  # noqa: PLC0415
    from cis_wire.messages import signin_message  # noqa: PLC0415

    now = clock.now()
    challenges = [
        LoginChallenge(
            purpose=ChallengePurpose.SMARTCARD,
            nonce=secrets.token_hex(32),
            created_at=now,
            expires_at=now + dt.timedelta(hours=1),
            client_address="127.0.0.1",
        )
        for _ in range(count)
    ]
    LoginChallenge.objects.bulk_create(challenges, batch_size=5000)
    lines = []
    for n, challenge in enumerate(challenges):
        card = cards[n % len(cards)]
        message = signin_message(
            challenge_id=str(challenge.id), nonce=challenge.nonce, chip_serial=card["chip"]
        )
        body = {
            "challenge_id": str(challenge.id),
            "chip_serial": card["chip"],
            "certificate": base64.b64encode(card["der"]).decode(),
            "signature": base64.b64encode(
                card["key"].sign(message, ec.ECDSA(hashes.SHA256()))
            ).decode(),
            "workstation": "BENCH-WS",
        }
        lines.append(
            Line("POST", "/signin/agent/respond", json.dumps(body).encode(), "application/json")
        )
    return lines


def csr() -> bytes:
    """A CSR as a card makes one: a new P-256 key, the request signed by it (PEM)."""
    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    key = ec.generate_private_key(ec.SECP256R1())
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "card")]))
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM)
