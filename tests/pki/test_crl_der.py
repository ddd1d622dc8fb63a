"""The CRL written directly (cis.pki.crl_der) is the CRL cryptography's builder writes: the same
tbsCertList byte for byte, for every CA key algorithm and every reason, a signature that verifies,
and a file that `openssl crl` reads and pkilint passes (the conftest lints every CRL made)."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from cis.core import clock
from cis.pki import authority, crl, crl_der, hierarchy
from cis.pki.states import REASON_FLAGS, RevocationReason

pytestmark = pytest.mark.django_db

SERIALS = [
    "01",  # the shortest
    "7f",  # top bit clear: no leading zero
    "80",  # top bit set: a leading zero octet
    "00ff" + "ab" * 18,  # a stored leading zero is not encoded
    "7" + "f" * 39,  # 159 bits, the most CIS issues (cis.pki.serials): 20 octets
    "ff" * 19,  # 152 bits, top bit set: 20 octets with the leading zero
]


def _entries(now: dt.datetime) -> list[tuple[str, dt.datetime, str]]:
    reasons = list(REASON_FLAGS)
    return [
        (serial, now - dt.timedelta(days=n, microseconds=n * 1001), reasons[n % len(reasons)])
        for n, serial in enumerate(SERIALS)
    ]


def _by_cryptography(
    ca: authority.LoadedAuthority,
    *,
    number: int,
    this_update: dt.datetime,
    next_update: dt.datetime,
    revoked: list[tuple[str, dt.datetime, str]],
) -> x509.CertificateRevocationList:
    """The CRL as cryptography's CertificateRevocationListBuilder makes it (CIS's old way)."""
    entries = []
    for serial_hex, revoked_at, reason in revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(int(serial_hex, 16))
            .revocation_date(revoked_at.replace(microsecond=0))
        )
        flag = REASON_FLAGS[reason]
        if flag is not None:
            entry = entry.add_extension(x509.CRLReason(flag), critical=False)
        entries.append(entry.build())
    builder = x509.CertificateRevocationListBuilder(
        issuer_name=ca.certificate.subject,
        last_update=this_update,
        next_update=next_update,
        extensions=[],
        revoked_certificates=entries,
    )
    builder = builder.add_extension(x509.CRLNumber(number), critical=False).add_extension(
        ca.issuer.key_identifier, critical=False
    )
    return builder.sign(ca.key, ca.signature_hash)


@pytest.mark.parametrize("algorithm", ["ec-p256", "ec-p384", "rsa-2048"])
@pytest.mark.parametrize("count", [0, 6])
def test_the_same_tbs_cert_list_as_cryptography_writes(algorithm: str, count: int) -> None:
    made = hierarchy.ca_init(algorithm=algorithm)
    ca = authority.issuing()
    now = clock.now().replace(microsecond=0)
    revoked = _entries(now)[:count]
    fields = {
        "number": 2**70 + 3,  # CRLNumber up to 20 octets (RFC 5280 §5.2.3)
        "this_update": now,
        "next_update": now + dt.timedelta(days=2),
        "revoked": revoked,
    }
    der = crl.build_crl(ca, **fields)  # type: ignore[arg-type]
    ours = x509.load_der_x509_crl(der)
    theirs = _by_cryptography(ca, **fields)  # type: ignore[arg-type]
    assert ours.tbs_certlist_bytes == theirs.tbs_certlist_bytes
    assert ours.signature_algorithm_oid == theirs.signature_algorithm_oid
    assert ours.is_signature_valid(made.issuing.certificate.public_key())
    assert len(ours) == count


def test_each_reason_and_time_reads_back(tmp_path: Path) -> None:
    hierarchy.ca_init()
    ca = authority.issuing()
    now = clock.now()
    revoked = _entries(now)
    der = crl.build_crl(
        ca, number=7, this_update=now, next_update=now + dt.timedelta(days=1), revoked=revoked
    )
    listed = x509.load_der_x509_crl(der)
    for (serial, at, reason), entry in zip(revoked, listed, strict=True):
        assert entry.serial_number == int(serial, 16)
        assert entry.revocation_date_utc == at.replace(microsecond=0)
        flag = REASON_FLAGS[reason]
        if flag is None:
            assert not list(entry.extensions)  # unspecified: no reasonCode (BR 7.2.2)
        else:
            assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == flag
    path = tmp_path / "issuing.crl"
    path.write_bytes(der)
    issuer = tmp_path / "issuing.pem"
    issuer.write_bytes(ca.certificate.public_bytes(serialization.Encoding.PEM))
    shown = subprocess.run(  # noqa: S603
        ["openssl", "crl", "-inform", "DER", "-in", str(path), "-noout", "-text"]  # noqa: S607
        + ["-verify", "-CAfile", str(issuer)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "verify OK" in shown.stderr + shown.stdout
    text = shown.stdout
    assert "Key Compromise" in text
    assert "X509v3 CRL Number" in text
    assert text.count("Serial Number:") == len(revoked)


def test_times_from_2050_are_generalized() -> None:
    """RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050."""
    assert crl_der.time(dt.datetime(2049, 12, 31, 23, 59, 59, tzinfo=dt.UTC)) == (
        b"\x17\x0d491231235959Z"
    )
    assert crl_der.time(dt.datetime(2050, 1, 1, tzinfo=dt.UTC)) == b"\x18\x0f20500101000000Z"


def test_a_large_crl_has_long_form_lengths() -> None:
    hierarchy.ca_init()
    ca = authority.issuing()
    now = clock.now()
    revoked = [(f"{n:040x}", now, RevocationReason.KEY_COMPROMISE) for n in range(1, 5_001)]
    der = crl.build_crl(
        ca, number=1, this_update=now, next_update=now + dt.timedelta(days=1), revoked=revoked
    )
    listed = x509.load_der_x509_crl(der)
    assert len(listed) == len(revoked)
    assert listed.get_revoked_certificate_by_serial_number(5_000) is not None
    assert listed.is_signature_valid(ca.certificate.public_key())
    assert listed.public_bytes(serialization.Encoding.DER) == der


def test_times_at_the_boundaries_match_cryptography() -> None:
    """Each entry's time is its day's date and its second's "HHMMSSZ", encoded once each: the
    same bytes as the builder's at midnight, at the last second of a day, before 1970 and
    either side of 2050's switch to GeneralizedTime."""
    hierarchy.ca_init()
    ca = authority.issuing()
    now = clock.now().replace(microsecond=0)
    times = [
        dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 4, 0, 0, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 4, 23, 59, 59, 999_999, tzinfo=dt.UTC),
        dt.datetime(2049, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
        dt.datetime(2050, 1, 1, 0, 0, 0, tzinfo=dt.UTC),
        dt.datetime(2050, 1, 1, 1, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    ]
    revoked = [(f"{n + 1:02x}", at, RevocationReason.KEY_COMPROMISE) for n, at in enumerate(times)]
    fields = {"this_update": now, "next_update": now + dt.timedelta(days=1), "revoked": revoked}
    ours = crl_der.certificate_list(
        issuer=ca.certificate.subject,
        key=ca.key,
        digest=ca.signature_hash,
        extensions=[x509.CRLNumber(1), ca.issuer.key_identifier],
        **fields,  # type: ignore[arg-type]
    )
    theirs = _by_cryptography(ca, number=1, **fields)  # type: ignore[arg-type]
    assert x509.load_der_x509_crl(ours).tbs_certlist_bytes == theirs.tbs_certlist_bytes
