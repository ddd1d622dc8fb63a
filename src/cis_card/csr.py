"""Certificate requests signed inside the card: the request body is built here, signed there."""

from __future__ import annotations

from collections.abc import Callable

from asn1crypto import csr as asn1_csr
from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509

Signer = Callable[[bytes], bytes]


def build_csr(*, public_key_der: bytes, common_name: str, sign: Signer) -> bytes:
    """A PKCS#10 request (PEM) for an EC P-256 key; `sign` is ECDSA-SHA256 by the card's key.

    cryptography's CertificateSigningRequestBuilder wants the private key object, which a card
    never gives out, so the CertificationRequestInfo is assembled with asn1crypto and only its
    DER bytes go to the card to be signed.
    """
    info = asn1_csr.CertificationRequestInfo(
        {
            "version": "v1",
            "subject": asn1_x509.Name.build({"common_name": common_name}),
            "subject_pk_info": asn1_keys.PublicKeyInfo.load(public_key_der),
            "attributes": [],
        }
    )
    signature = sign(info.dump())
    request = asn1_csr.CertificationRequest(
        {
            "certification_request_info": info,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature": signature,
        }
    )
    pem: bytes = asn1_pem.armor("CERTIFICATE REQUEST", request.dump())
    # Check what the card produced before anything leaves the workstation.
    loaded = x509.load_pem_x509_csr(pem)
    if not loaded.is_signature_valid:
        raise ValueError("the card returned a signature that does not verify")
    return pem
