"""A CRL's DER written out directly, because cryptography's builder made a Python object per
entry: a million entries took 45 s to build, where their DER takes a few seconds to write.

Each entry of a CIS CRL has the same small shape (RFC 5280 §5.1, §5.3.1):

    SEQUENCE { INTEGER serial, Time revocationDate, [SEQUENCE { reasonCode extension }] }

so it is written with a few byte concatenations; the reasonCode extension's value and the CRL's
own extensions are encoded by cryptography (`ExtensionType.public_bytes`), object identifiers
by asn1crypto, and the issuer name is the CA certificate's subject as cryptography encodes it.
The signature is made by the CA's key handle (a file key or a PKCS#11
token, cis.pki.keystore), over the tbsCertList, as cryptography's builder would make it. The
result is byte for byte the tbsCertList cryptography's builder writes for the same CRL
(tests/pki/test_crl_der.py compares them), and passes `openssl crl` and pkilint's BR profile.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from .keystore import SignatureHash, SigningKey
from .states import REASON_FLAGS

# Tags (X.690).
SEQUENCE = 0x30
INTEGER = 0x02
OCTET_STRING = 0x04
BIT_STRING = 0x03
OID = 0x06
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18
CONTEXT_0 = 0xA0  # [0] EXPLICIT, constructed

# 2.5.29.21 id-ce-cRLReasons, and 2.5.29.20 / 2.5.29.35 for the CRL's own extensions, which
# cryptography's ExtensionType objects name by their `oid`.
_REASON_OID = bytes((OID, 3, 0x55, 0x1D, 0x15))


def _header(tag: int, size: int) -> bytes:
    """A DER element's tag and definite length."""
    if size < 0x80:
        return bytes((tag, size))
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(octets))) + octets


def tlv(tag: int, content: bytes) -> bytes:
    """One DER element: tag, definite length, content."""
    return _header(tag, len(content)) + content


def _oid(dotted: str) -> bytes:
    return bytes(core.ObjectIdentifier(dotted).dump())


def time(at: dt.datetime) -> bytes:
    """RFC 5280 §4.1.2.5: UTCTime up to 2049, GeneralizedTime from 2050, whole seconds, Z."""
    at = at.astimezone(dt.UTC)
    if 1950 <= at.year < 2050:  # noqa: PLR2004 - the RFC's boundaries
        return tlv(UTC_TIME, at.strftime("%y%m%d%H%M%SZ").encode())
    return tlv(GENERALIZED_TIME, at.strftime("%Y%m%d%H%M%SZ").encode())


def _extension(ext: x509.ExtensionType, *, critical: bool = False) -> bytes:
    flag = b"\x01\x01\xff" if critical else b""  # DEFAULT FALSE is left out (DER)
    return tlv(SEQUENCE, _oid(ext.oid.dotted_string) + flag + tlv(OCTET_STRING, ext.public_bytes()))


def _reason_extensions() -> dict[str, bytes]:
    """Each stored reason's crlEntryExtensions; none for unspecified (BR §7.2.2 leaves it out)."""
    out: dict[str, bytes] = {}
    for reason, flag in REASON_FLAGS.items():
        if flag is None:
            out[reason] = b""
            continue
        value = x509.CRLReason(flag).public_bytes()
        out[reason] = tlv(SEQUENCE, tlv(SEQUENCE, _REASON_OID + tlv(OCTET_STRING, value)))
    return out


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_SECOND = dt.timedelta(seconds=1)
_DAY = 86_400
# "HHMMSSZ" for each second of a day: a revocation time is its day's prefix and one of these.
_CLOCK = [b"%02d%02d%02dZ" % (s // 3600, s // 60 % 60, s % 60) for s in range(_DAY)]


def _day(days: int) -> bytes:
    """The tag, length and date of a Time on this day after 1970-01-01 (the same rule as
    `time`: the UTCTime/GeneralizedTime boundary falls at midnight)."""
    return time(_EPOCH + dt.timedelta(days=days))[:-7]


def revoked_certificates(revoked: Iterable[tuple[str, dt.datetime, str]]) -> bytes:
    """The revokedCertificates SEQUENCE's content for (serial hex, revocation time, reason).

    The hot loop of a large CRL, so written for speed: each day's date and each second's
    "HHMMSSZ" are encoded once, and entries are appended to one buffer.
    """
    reasons = _reason_extensions()
    days: dict[int, bytes] = {}
    clock = _CLOCK
    out = bytearray()
    for serial_hex, revoked_at, reason in revoked:
        number = int(serial_hex, 16)
        # Positive INTEGER, shortest form: a leading zero octet when the top bit would be set.
        size = (number.bit_length() + 8) // 8
        day, second = divmod((revoked_at - _EPOCH) // _SECOND, _DAY)  # whole seconds, UTC
        date = days.get(day)
        if date is None:
            date = days[day] = _day(day)
        extensions = reasons.get(reason, b"")
        length = 9 + size + len(date) + len(extensions)  # INTEGER header 2, "HHMMSSZ" 7
        if length < 0x80:  # always, for serials of up to 20 octets
            out += bytes((SEQUENCE, length, INTEGER, size))
        else:
            out += _header(SEQUENCE, length)
            out += bytes((INTEGER, size))
        out += number.to_bytes(size, "big")
        out += date
        out += clock[second]
        out += extensions
    return bytes(out)


_SIGNATURE_ALGORITHMS = {  # (key is RSA, hash) -> signature algorithm OID
    (False, "sha256"): "1.2.840.10045.4.3.2",  # ecdsa-with-SHA256
    (False, "sha384"): "1.2.840.10045.4.3.3",  # ecdsa-with-SHA384
    (True, "sha256"): "1.2.840.113549.1.1.11",  # sha256WithRSAEncryption
    (True, "sha384"): "1.2.840.113549.1.1.12",  # sha384WithRSAEncryption
}


def signature_algorithm(key: SigningKey, digest: SignatureHash) -> bytes:
    """The AlgorithmIdentifier for this key and hash: for ECDSA no parameters (RFC 5758 §3.2),
    for RSA PKCS #1 v1.5 an explicit NULL (RFC 4055 §5), as cryptography writes them."""
    is_rsa = isinstance(key, rsa.RSAPrivateKey)
    oid = _oid(_SIGNATURE_ALGORITHMS[is_rsa, digest.name])
    return tlv(SEQUENCE, oid + b"\x05\x00" if is_rsa else oid)


def sign(key: SigningKey, digest: SignatureHash, data: bytes) -> bytes:
    """The signature value cryptography's builders make with the same key (ECDSA: the DER
    Ecdsa-Sig-Value; RSA: PKCS #1 v1.5)."""
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), digest)
    return key.sign(data, ec.ECDSA(digest))


def certificate_list(  # noqa: PLR0913 - the fields of one tbsCertList
    *,
    issuer: x509.Name,
    key: SigningKey,
    digest: SignatureHash,
    this_update: dt.datetime,
    next_update: dt.datetime,
    revoked: Iterable[tuple[str, dt.datetime, str]],
    extensions: Sequence[x509.ExtensionType],
) -> bytes:
    """A signed v2 CRL (RFC 5280 §5.1) in DER."""
    algorithm = signature_algorithm(key, digest)
    entries = revoked_certificates(revoked)
    tbs = tlv(
        SEQUENCE,
        b"".join(
            (
                b"\x02\x01\x01",  # version v2
                algorithm,
                issuer.public_bytes(),
                time(this_update),
                time(next_update),
                tlv(SEQUENCE, entries) if entries else b"",  # absent when empty (§5.1.2.6)
                tlv(CONTEXT_0, tlv(SEQUENCE, b"".join(_extension(e) for e in extensions))),
            )
        ),
    )
    signature = sign(key, digest, tbs)
    return tlv(SEQUENCE, tbs + algorithm + tlv(BIT_STRING, b"\x00" + signature))
