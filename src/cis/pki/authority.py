"""The live CA: its active certificates, handles on their keys, and the responder's rotation."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from django.db import transaction

from cis.audit.trail import record
from cis.authz.actions import Action
from cis.core import clock
from cis.core.errors import InvalidState

from . import config, profiles
from .keystore import KeyAlgorithm, SignatureHash, SigningKey, key_store
from .models import AuthorityRole, CertificateAuthority, serial_to_hex
from .serials import new_serial

NOT_SET_UP = "The certificate authority is not set up yet: run `cis ca init`."


@dataclass
class LoadedAuthority:
    """An active CA or responder certificate with a key handle that signs."""

    id: int
    serial_hex: str
    certificate: x509.Certificate
    key: SigningKey
    not_after: dt.datetime
    issuer_id: int | None = None
    key_store: str = ""
    key_label: str = ""
    _hashes: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)

    @property
    def issuer(self) -> profiles.Issuer:
        return profiles.Issuer(
            name=self.certificate.subject, key=self.key, certificate=self.certificate
        )

    @property
    def signature_hash(self) -> SignatureHash:
        return KeyAlgorithm.of(self.key).signature_hash()

    def cert_id_hashes(self, algorithm: hashes.HashAlgorithm) -> tuple[bytes, bytes]:
        """(issuerNameHash, issuerKeyHash) as an OCSP CertID computes them (RFC 6960 §4.1.1)."""
        found = self._hashes.get(algorithm.name)
        if found is None:
            name_hash = hashes.Hash(algorithm)
            name_hash.update(self.certificate.subject.public_bytes())
            spki = self.certificate.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            key_hash = hashes.Hash(algorithm)
            key_hash.update(_subject_public_key_bits(spki))
            found = (name_hash.finalize(), key_hash.finalize())
            self._hashes[algorithm.name] = found
        return found


def _subject_public_key_bits(spki: bytes) -> bytes:
    """The BIT STRING contents of a SubjectPublicKeyInfo (what issuerKeyHash covers)."""
    from asn1crypto import keys  # noqa: PLC0415 - only needed once per CA and hash

    info = keys.PublicKeyInfo.load(spki)
    return bytes(info["public_key"].contents[1:])  # skip the unused-bits octet


_loaded: dict[tuple[int, str, str], LoadedAuthority] = {}
_loaded_lock = threading.Lock()


def load(row: CertificateAuthority) -> LoadedAuthority:
    """The row's certificate and a key handle, kept per process (keys are costly to open)."""
    cache_key = (row.id, row.serial_hex, row.key_label)
    with _loaded_lock:
        found = _loaded.get(cache_key)
    if found is not None:
        return found
    certificate = x509.load_der_x509_certificate(bytes(row.der))
    key = key_store(row.key_store).load(row.key_label)
    if key.public_key() != certificate.public_key():
        raise InvalidState(
            f"The key '{row.key_label}' does not match the {row.get_role_display()} certificate."
        )
    found = LoadedAuthority(
        id=row.id,
        serial_hex=row.serial_hex,
        certificate=certificate,
        key=key,
        not_after=row.not_after,
        issuer_id=row.issuer_id,
        key_store=row.key_store,
        key_label=row.key_label,
    )
    with _loaded_lock:
        _loaded[cache_key] = found
    return found


def active_row(role: str) -> CertificateAuthority | None:
    return CertificateAuthority.objects.filter(role=role, active=True).first()


# The active CA and responder change only at `cis ca init` and at a responder rotation, yet
# the OCSP responder and issuance need them on every call. Each process keeps them for a few
# seconds; a rotation in another process is picked up within that time, and a retired
# responder key is kept long enough (RETIRED_KEY_GRACE) for every process to have moved on.
CURRENT_TTL_SECONDS = 5.0
RETIRED_KEY_GRACE = dt.timedelta(hours=1)
_current: dict[str, tuple[float, LoadedAuthority]] = {}


def current(role: str) -> LoadedAuthority | None:
    """The active authority for a role, loaded, as this process last saw it (a few seconds)."""
    hit = _current.get(role)
    if hit is not None and time.monotonic() - hit[0] < CURRENT_TTL_SECONDS:
        return hit[1]
    row = active_row(role)
    if row is None:
        _current.pop(role, None)
        return None
    loaded = load(row)
    _current[role] = (time.monotonic(), loaded)
    return loaded


def forget_current() -> None:
    """Drop this process's view of the active authorities (after a change made here)."""
    _current.clear()


def issuing() -> LoadedAuthority:
    loaded = current(AuthorityRole.ISSUING)
    if loaded is None:
        raise InvalidState(NOT_SET_UP)
    return loaded


def new_key_label(role: str) -> str:
    return f"cis-{role}-{clock.now():%Y%m%d%H%M%S}-{secrets.token_hex(4)}"


def record_authority(
    *,
    role: str,
    certificate: x509.Certificate,
    store_kind: str,
    label: str,
    algorithm: KeyAlgorithm,
    issuer: CertificateAuthority | None,
) -> CertificateAuthority:
    return CertificateAuthority.objects.create(
        role=role,
        subject=certificate.subject.rfc4514_string(),
        serial_hex=serial_to_hex(certificate.serial_number),
        der=certificate.public_bytes(serialization.Encoding.DER),
        key_store=store_kind,
        key_label=label,
        key_algorithm=algorithm.value,
        issuer=issuer,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        active=True,
    )


def _signer_is_fresh(
    signer: CertificateAuthority | LoadedAuthority | None, issuing_id: int
) -> bool:
    if signer is None or signer.issuer_id != issuing_id:
        return False
    return signer.not_after - clock.now() > config.ocsp_signer_renew_before()


def ocsp_signer(issuing_ca: LoadedAuthority) -> LoadedAuthority:
    """The delegated OCSP signer for the issuing CA, replaced well before it expires."""
    signer = current(AuthorityRole.OCSP)
    if signer is not None and _signer_is_fresh(signer, issuing_ca.id):
        return signer
    forget_current()
    row = active_row(AuthorityRole.OCSP)
    if row is not None and _signer_is_fresh(row, issuing_ca.id):
        return load(row)
    rotated = load(rotate_ocsp_signer(issuing_ca))
    forget_current()
    return rotated


def destroy_retired_keys(*, grace: dt.timedelta = RETIRED_KEY_GRACE) -> int:
    """Destroy responder keys retired longer ago than the grace; returns how many."""
    cutoff = clock.now() - grace
    retired = CertificateAuthority.objects.filter(
        role=AuthorityRole.OCSP, active=False, retired_at__lte=cutoff
    ).exclude(key_label="")
    count = 0
    for row in retired:
        key_store(row.key_store).destroy(row.key_label)
        CertificateAuthority.objects.filter(pk=row.pk).update(key_label="")
        count += 1
    return count


def rotate_ocsp_signer(issuing_ca: LoadedAuthority, *, force: bool = False) -> CertificateAuthority:
    """A new responder key and certificate; the old key is destroyed after a grace period."""
    with transaction.atomic():
        # Whoever holds this lock rotates; the others find the new signer when they get it.
        issuing_row = CertificateAuthority.objects.select_for_update().get(id=issuing_ca.id)
        active = (
            CertificateAuthority.objects.select_for_update()
            .filter(role=AuthorityRole.OCSP, active=True)
            .first()
        )
        if not force and active is not None and _signer_is_fresh(active, issuing_ca.id):
            return active
        algorithm = KeyAlgorithm(issuing_row.key_algorithm)
        store = key_store(issuing_row.key_store)
        label = new_key_label("ocsp")
        key = store.generate(label=label, algorithm=algorithm)
        now = clock.now()
        certificate = profiles.ocsp_signer_certificate(
            issuer=issuing_ca.issuer,
            public_key=key.public_key(),
            serial=new_serial(),
            not_before=now - dt.timedelta(minutes=5),
            not_after=min(now + config.ocsp_signer_validity(), issuing_ca.not_after),
        )
        if active is not None:
            active.active = False
            active.retired_at = now
            active.save(update_fields=["active", "retired_at", "updated_at"])
        signer = record_authority(
            role=AuthorityRole.OCSP,
            certificate=certificate,
            store_kind=store.kind,
            label=label,
            algorithm=algorithm,
            issuer=issuing_row,
        )
        record(
            actor=None,
            rule="pki:ocsp-signer-rotation",
            action=Action.PKI_OCSP_SIGNER_ISSUE,
            target_type="certificate_authority",
            target_ref=signer.serial_hex,
            before={"serial": active.serial_hex} if active else {},
            after={"serial": signer.serial_hex, "not_after": signer.not_after},
        )
        return signer
