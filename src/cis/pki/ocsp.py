"""The OCSP responder (RFC 6960, nonces per RFC 9654): one request in, one signed answer out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from django.conf import settings

from cis.core import clock

from . import authority, config, ocsp_cache
from .constants import MAX_NONCE_OCTETS, MAX_OCSP_REQUEST_BYTES
from .models import AuthorityRole, Certificate, serial_to_hex
from .states import REASON_FLAGS, CertificateStatus


@dataclass(frozen=True)
class OcspAnswer:
    der: bytes
    response_status: str  # successful, malformed_request, unauthorized, ...
    cert_status: str = ""  # good, revoked, unknown
    this_update: dt.datetime | None = None
    next_update: dt.datetime | None = None
    cached: bool = False
    nonce: bool = False


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> OcspAnswer:
    der = ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER
    )
    return OcspAnswer(der=der, response_status=status.name.lower())


def _parse(request_der: bytes) -> tuple[ocsp.OCSPRequest, bytes | None] | None:
    """The request and its nonce; None when it is malformed (RFC 9654 §2.1 nonce lengths too)."""
    if not request_der or len(request_der) > MAX_OCSP_REQUEST_BYTES:
        return None
    try:
        request = ocsp.load_der_ocsp_request(request_der)
        extensions = request.extensions
        request.hash_algorithm  # noqa: B018 - fails here on a hash we cannot compute
    except (ValueError, NotImplementedError, UnsupportedAlgorithm, x509.DuplicateExtension):
        return None
    nonce: bytes | None = None
    try:
        nonce = extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        pass
    if nonce is not None and not 1 <= len(nonce) <= MAX_NONCE_OCTETS:
        return None
    return request, nonce


def sign_response(  # noqa: PLR0913 - the fields of one SingleResponse
    issuing_ca: authority.LoadedAuthority,
    signer: authority.LoadedAuthority,
    *,
    serial_number: int,
    algorithm: hashes.HashAlgorithm,
    cert_status: str,
    reason: str,
    revoked_at: dt.datetime | None,
    nonce: bytes | None = None,
) -> tuple[bytes, dt.datetime, dt.datetime]:
    """A signed response about one certificate: (DER, thisUpdate, nextUpdate)."""
    name_hash, key_hash = issuing_ca.cert_id_hashes(algorithm)
    this_update = clock.now().astimezone(dt.UTC).replace(microsecond=0)
    next_update = this_update + config.ocsp_validity()
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=name_hash,
            issuer_key_hash=key_hash,
            serial_number=serial_number,
            algorithm=algorithm,
            cert_status={
                "good": ocsp.OCSPCertStatus.GOOD,
                "revoked": ocsp.OCSPCertStatus.REVOKED,
                "unknown": ocsp.OCSPCertStatus.UNKNOWN,
            }[cert_status],
            this_update=this_update,
            next_update=next_update,
            revocation_time=(
                revoked_at.astimezone(dt.UTC).replace(microsecond=0) if revoked_at else None
            ),
            revocation_reason=REASON_FLAGS.get(reason) if cert_status == "revoked" else None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, signer.certificate)
        .certificates([signer.certificate])
    )
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    der = builder.sign(signer.key, signer.signature_hash).public_bytes(serialization.Encoding.DER)
    return der, this_update, next_update


def fingerprint_of(
    issuing_ca: authority.LoadedAuthority,
    signer: authority.LoadedAuthority,
    status: str,
    reason: str,
) -> str:
    """What a stored answer was signed for; revocation is final, so status and reason say it."""
    return f"{issuing_ca.serial_hex}:{signer.serial_hex}:{status}:{reason}"


def _status(found: ocsp_cache.Found) -> tuple[str, str]:
    if not found.status:
        return "unknown", ""
    if found.status == CertificateStatus.VALID:
        return "good", ""
    return "revoked", found.reason


def _revoked_at(issuer_id: int, serial_hex: str) -> dt.datetime | None:
    return (
        Certificate.objects.filter(issuer_id=issuer_id, serial_hex=serial_hex)
        .values_list("revoked_at", flat=True)
        .first()
    )


def respond(request_der: bytes) -> OcspAnswer:
    parsed = _parse(request_der)
    if parsed is None:
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    request, nonce = parsed
    issuing_ca = authority.current(AuthorityRole.ISSUING)
    if issuing_ca is None:
        return _unsuccessful(ocsp.OCSPResponseStatus.TRY_LATER)
    algorithm = request.hash_algorithm
    name_hash, key_hash = issuing_ca.cert_id_hashes(algorithm)
    if request.issuer_name_hash != name_hash or request.issuer_key_hash != key_hash:
        # Not a certificate of this CA: RFC 6960 §2.3 "unauthorized".
        return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)

    serial_hex = serial_to_hex(request.serial_number)
    # The status as the database has it now, read on every request, with the stored answer.
    found = ocsp_cache.lookup(issuing_ca.id, serial_hex, algorithm.name)
    cert_status, reason = _status(found)
    signer = authority.ocsp_signer(issuing_ca)
    echo = nonce is not None and settings.CIS_OCSP_ECHO_NONCE
    fingerprint = fingerprint_of(issuing_ca, signer, cert_status, reason)
    if not echo:
        cached = ocsp_cache.usable(found.stored, fingerprint)
        if cached is not None:
            return OcspAnswer(
                der=cached.der,
                response_status="successful",
                cert_status=cert_status,
                this_update=cached.this_update,
                next_update=cached.next_update,
                cached=True,
            )

    revoked_at = _revoked_at(issuing_ca.id, serial_hex) if cert_status == "revoked" else None
    der, this_update, next_update = sign_response(
        issuing_ca,
        signer,
        serial_number=request.serial_number,
        algorithm=algorithm,
        cert_status=cert_status,
        reason=reason,
        revoked_at=revoked_at,
        nonce=nonce if echo else None,
    )
    if not echo and cert_status != "unknown":
        ocsp_cache.put(
            issuing_ca.id,
            algorithm.name,
            serial_hex,
            ocsp_cache.CachedResponse(
                fingerprint=fingerprint,
                der=der,
                this_update=this_update,
                next_update=next_update,
                refresh_at=this_update + config.ocsp_cache_lifetime(),
            ),
        )
    return OcspAnswer(
        der=der,
        response_status="successful",
        cert_status=cert_status,
        this_update=this_update,
        next_update=next_update,
        nonce=echo,
    )
