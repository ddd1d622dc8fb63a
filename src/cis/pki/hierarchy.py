"""Creating the CA hierarchy once: a root, an issuing CA, a responder and the first CRL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from cis.audit.trail import record
from cis.authz.actions import Action
from cis.authz.policy import CONSOLE, ConsoleOperator, require
from cis.core import clock
from cis.core.errors import InvalidState

from . import authority, crl, profiles
from .constants import ISSUING_VALIDITY, ROOT_VALIDITY
from .keystore import KeyAlgorithm, key_store
from .models import AuthorityRole, CertificateAuthority
from .serials import new_serial


@dataclass(frozen=True)
class Hierarchy:
    created: bool
    root: CertificateAuthority
    issuing: CertificateAuthority
    ocsp: CertificateAuthority
    crl_number: int


def _existing() -> Hierarchy | None:
    root = authority.active_row(AuthorityRole.ROOT)
    issuing = authority.active_row(AuthorityRole.ISSUING)
    if root is None and issuing is None:
        return None
    if root is None or issuing is None:
        raise InvalidState(
            "The CA records are incomplete (a root without an issuing CA, or the reverse); "
            "restore the database from backup."
        )
    authority.load(root)  # proves the keys are still there and match
    loaded = authority.issuing()
    signer = authority.ocsp_signer(loaded)
    published = crl.crl_publish_if_due()
    ocsp_row = CertificateAuthority.objects.get(id=signer.id)
    return Hierarchy(False, root, issuing, ocsp_row, published.number)


def ca_init(
    *,
    actor: ConsoleOperator = CONSOLE,
    algorithm: str | None = None,
    store_kind: str | None = None,
) -> Hierarchy:
    """Create the hierarchy, or check and return the existing one (idempotent)."""
    authority.forget_current()
    found = _existing()
    if found is not None:
        return found
    chosen = KeyAlgorithm.parse(algorithm or settings.CIS_CA_KEY_ALGORITHM)
    store = key_store(store_kind)
    try:
        with transaction.atomic():
            now = clock.now()
            root_label = authority.new_key_label("root")
            root_key = store.generate(label=root_label, algorithm=chosen)
            root_cert = profiles.root_certificate(
                key=root_key,
                serial=new_serial(),
                not_before=now - dt.timedelta(minutes=5),
                not_after=now + ROOT_VALIDITY,
            )
            root = authority.record_authority(
                role=AuthorityRole.ROOT,
                certificate=root_cert,
                store_kind=store.kind,
                label=root_label,
                algorithm=chosen,
                issuer=None,
            )
            issuing_label = authority.new_key_label("issuing")
            issuing_key = store.generate(label=issuing_label, algorithm=chosen)
            issuing_cert = profiles.issuing_certificate(
                issuer=profiles.Issuer(name=root_cert.subject, key=root_key, certificate=root_cert),
                public_key=issuing_key.public_key(),
                serial=new_serial(),
                not_before=now - dt.timedelta(minutes=5),
                not_after=now + ISSUING_VALIDITY,
            )
            issuing = authority.record_authority(
                role=AuthorityRole.ISSUING,
                certificate=issuing_cert,
                store_kind=store.kind,
                label=issuing_label,
                algorithm=chosen,
                issuer=root,
            )
            decision = require(actor, Action.PKI_CA_CREATE)
            for row in (root, issuing):
                record(
                    actor=actor,
                    rule=decision.rule,
                    action=Action.PKI_CA_CREATE,
                    target_type="certificate_authority",
                    target_ref=row.serial_hex,
                    after={
                        "role": row.role,
                        "subject": row.subject,
                        "key_store": row.key_store,
                        "key_algorithm": row.key_algorithm,
                        "not_after": row.not_after,
                    },
                )
            loaded = authority.load(issuing)
            ocsp_row = authority.rotate_ocsp_signer(loaded)
            published = crl.publish_locked(loaded)
            crl.publish_locked(authority.load(root))
    except IntegrityError:
        # Another `cis ca init` won the race; theirs is the CA.
        found = _existing()
        if found is None:
            raise
        return found
    authority.forget_current()
    return Hierarchy(True, root, issuing, ocsp_row, published.number)
