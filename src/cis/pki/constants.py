"""Protocol constants of the CA, CRL and OCSP responder: media types, bounds and profile limits."""

from __future__ import annotations

import datetime as dt

CERT_MEDIA_TYPE = "application/pkix-cert"
CHAIN_MEDIA_TYPE = "application/pem-certificate-chain"
CRL_MEDIA_TYPE = "application/pkix-crl"
OCSP_REQUEST_MEDIA_TYPE = "application/ocsp-request"
OCSP_RESPONSE_MEDIA_TYPE = "application/ocsp-response"

# Certificates: 2 years by default, never more than 3 (DESIGN §3).
MAX_VALIDITY_DAYS = 3 * 365
# A small backdate so a workstation whose clock runs a little slow accepts a new certificate.
NOT_BEFORE_BACKDATE = dt.timedelta(minutes=5)
ROOT_VALIDITY = dt.timedelta(days=20 * 365)
ISSUING_VALIDITY = dt.timedelta(days=10 * 365)

# Keys a CSR may carry.
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192
ALLOWED_CURVES = ("secp256r1", "secp384r1")
# CA/Browser Forum Baseline Requirements 6.1.6: an odd public exponent of at least 65537.
MIN_RSA_EXPONENT = 65537
# A CSR's own signature proves possession of the key only under a collision-resistant hash.
ALLOWED_CSR_HASHES = ("sha256", "sha384", "sha512")

# CRL: nextUpdate at most 7 days after thisUpdate (issue #3; BR allows 10).
MAX_CRL_LIFETIME = dt.timedelta(days=7)

# OCSP: BR §4.9.10 bounds on thisUpdate..nextUpdate, RFC 9654 bounds on the nonce.
MIN_OCSP_VALIDITY = dt.timedelta(hours=8)
MAX_OCSP_VALIDITY = dt.timedelta(days=10)
MAX_NONCE_OCTETS = 32
MAX_OCSP_REQUEST_BYTES = 16 * 1024
