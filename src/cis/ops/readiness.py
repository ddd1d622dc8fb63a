"""Whether this process can serve: the checks behind /readyz, each named with what it found.

/healthz says the process is alive and reaches its database; /readyz says whether it should be
sent work: the database answers, every migration this code expects has been applied, and the
issuing CA's key signs (a file key decrypts with its passphrase, a token is present and logged
in), checked by signing a fresh random message and verifying it with the CA certificate.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from cis.core.errors import DomainError
from cis.pki import authority

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def database() -> Check:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means not ready, reported not raised
        logger.warning("readiness: database unreachable: %s", type(exc).__name__)
        return Check("database", False, f"unreachable ({type(exc).__name__})")
    return Check("database", True, "reachable")


def migrations() -> Check:
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:  # noqa: BLE001
        return Check("migrations", False, f"could not be read ({type(exc).__name__})")
    if pending:
        return Check("migrations", False, f"{len(pending)} not applied: run cis migrate")
    return Check("migrations", True, "all applied")


def ca_key() -> Check:
    try:
        ca = authority.issuing()
        message = secrets.token_bytes(32)
        key, public = ca.key, ca.certificate.public_key()
        if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(
            public, ec.EllipticCurvePublicKey
        ):
            algorithm = ec.ECDSA(hashes.SHA256())
            public.verify(key.sign(message, algorithm), message, algorithm)
        elif isinstance(key, rsa.RSAPrivateKey) and isinstance(public, rsa.RSAPublicKey):
            public.verify(
                key.sign(message, padding.PKCS1v15(), hashes.SHA256()),
                message,
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        else:
            return Check("ca_key", False, "the key does not match the certificate's algorithm")
    except DomainError as exc:
        return Check("ca_key", False, exc.message)
    except InvalidSignature:
        return Check("ca_key", False, "the key does not match the issuing CA certificate")
    except Exception as exc:  # noqa: BLE001 - a token gone, a passphrase wrong: not ready
        logger.warning("readiness: CA key unusable: %s", type(exc).__name__)
        return Check("ca_key", False, f"cannot sign ({type(exc).__name__})")
    return Check("ca_key", True, f"signs ({ca.key_store or 'file'} key of CA {ca.serial_hex})")


def readiness() -> list[Check]:
    first = database()
    if not first.ok:
        return [first]
    return [first, migrations(), ca_key()]
