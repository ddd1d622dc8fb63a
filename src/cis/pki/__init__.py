"""The CIS certificate authority: smartcard certificates, their revocation, the CRL and OCSP."""
