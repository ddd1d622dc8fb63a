"""The CA's figures: certificates issued per second, OCSP answers signed fresh and precomputed.

Django is set up by the harness after this module is imported, so every Django import is
inside the prepare functions.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from typing import Any

from .harness import Bench, benchmark

POOL = 200  # distinct CSRs / certificates to cycle through


def _world(bench: Bench) -> dict[str, Any]:
    """A CA, an RA, a pharmacy, an RA Agent and a card holder, made once per run."""
    if "world" in bench.state:
        return bench.state["world"]  # type: ignore[no-any-return]
    import datetime as dt  # noqa: PLC0415

    from cis.core import clock  # noqa: PLC0415
    from cis.organisations.models import (  # noqa: PLC0415
        Organisation,
        OrganisationType,
        RegistrationAuthority,
    )
    from cis.people.models import AssuranceLevel, Person, PersonStatus  # noqa: PLC0415
    from cis.pki import hierarchy  # noqa: PLC0415
    from cis.rbac.models import Position, PositionAssignment  # noqa: PLC0415
    from cis.rights.models import Right, RightGrant  # noqa: PLC0415

    hierarchy.ca_init()
    ra = RegistrationAuthority.objects.create(code="RA-BENCH", name="Bench RA")
    org = Organisation.objects.create(
        ods_code="FBE01",
        name="Bench Pharmacy",
        org_type=OrganisationType.COMMUNITY_PHARMACY,
        serving_ra=ra,
    )
    post = Position.objects.create(organisation=org, name="Pharmacist")
    start = clock.today() - dt.timedelta(days=10)

    def person(user_id: str, given: str) -> Any:
        p = Person(
            user_id=user_id,
            given_name=given,
            family_name="Bench",
            status=PersonStatus.ACTIVE,
            assurance_level=AssuranceLevel.HIGH,
            registered_ra=ra,
        )
        p.set_unusable_password()
        p.save()
        PositionAssignment.objects.create(person=p, position=post, start_date=start)
        return p

    agent = person("900000000001", "Agent")
    RightGrant.objects.create(person=agent, right=Right.RA_AGENT, ra=ra, start_date=start)
    holder = person("900000000002", "Holder")
    bench.state["world"] = {"agent": agent, "holder": holder}
    return bench.state["world"]  # type: ignore[no-any-return]


def _csrs(count: int) -> list[bytes]:
    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    out = []
    for _ in range(count):
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "card")]))
            .sign(key, hashes.SHA256())
        )
        out.append(csr.public_bytes(serialization.Encoding.PEM))
    return out


@benchmark(name="pki_certificate_issue", unit="certificates/s", goal=500)
def certificate_issue(bench: Bench) -> Callable[[], None]:
    """certificate_issue() by an RA Agent: policy, CSR check, signing, row, audit event, commit."""
    from cis.pki.services import certificate_issue as issue  # noqa: PLC0415

    world = _world(bench)
    csrs = itertools.cycle(_csrs(POOL))

    def op() -> None:
        issue(actor=world["agent"], person=world["holder"], csr_pem=next(csrs))

    return op


@benchmark(name="pki_certificate_issue_console", unit="certificates/s", goal=500)
def certificate_issue_console(bench: Bench) -> Callable[[], None]:
    """The same by the CA operator (`cis ca issue`): no directory rights to look up."""
    from cis.authz.policy import CONSOLE  # noqa: PLC0415
    from cis.pki.services import certificate_issue as issue  # noqa: PLC0415

    world = _world(bench)
    csrs = itertools.cycle(_csrs(POOL))

    def op() -> None:
        issue(actor=CONSOLE, person=world["holder"], csr_pem=next(csrs))

    return op


def _issued(bench: Bench) -> list[Any]:
    """Certificates to ask about: good ones and revoked ones."""
    if "issued" in bench.state:
        return bench.state["issued"]  # type: ignore[no-any-return]
    from cis.authz.policy import CONSOLE  # noqa: PLC0415
    from cis.pki.services import certificate_issue, certificate_revoke  # noqa: PLC0415

    world = _world(bench)
    issued = [
        certificate_issue(actor=CONSOLE, person=world["holder"], csr_pem=csr) for csr in _csrs(POOL)
    ]
    for cert in issued[::4]:
        certificate_revoke(actor=CONSOLE, certificate=cert, reason="keyCompromise")
    bench.state["issued"] = issued
    return issued


def _ocsp_requests(bench: Bench, *, nonce: bool) -> list[bytes]:
    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.x509 import ocsp  # noqa: PLC0415

    from cis.pki.authority import issuing  # noqa: PLC0415

    # RFC 5019: OCSP clients name certificates by SHA-1 CertIDs; no collision resistance needed.
    cert_id_sha1 = hashes.SHA1()  # noqa: S303
    issued = _issued(bench)
    issuer = issuing().certificate
    bodies = []
    for _round in range(10 if nonce else 1):
        for row in issued:
            builder = ocsp.OCSPRequestBuilder().add_certificate(
                x509.load_der_x509_certificate(bytes(row.der)), issuer, cert_id_sha1
            )
            if nonce:
                builder = builder.add_extension(
                    x509.OCSPNonce(secrets.token_bytes(16)), critical=False
                )
            bodies.append(builder.build().public_bytes(serialization.Encoding.DER))
    return bodies


def _ocsp_op(bench: Bench, bodies: list[bytes], *, fresh: bool) -> Callable[[], None]:
    from cis.pki import ocsp as responder  # noqa: PLC0415

    client = bench.client
    cycle = itertools.cycle(bodies)
    for body in bodies[:POOL]:  # check the answers once before timing them
        answer = responder.respond(body)
        if answer.response_status != "successful" or (fresh and answer.cached):
            raise RuntimeError(f"unexpected OCSP answer: {answer.response_status}")

    def op() -> None:
        status, _ = client.post("/pki/ocsp", next(cycle), "application/ocsp-request")
        if status != 200:
            raise RuntimeError(f"OCSP answered HTTP {status}")

    return op


@benchmark(name="pki_ocsp_signed", unit="responses/s", goal=1200)
def ocsp_signed(bench: Bench) -> Callable[[], None]:
    """POST /pki/ocsp with a nonce: every answer is built and signed on demand."""
    return _ocsp_op(bench, _ocsp_requests(bench, nonce=True), fresh=True)


@benchmark(name="pki_ocsp_cached", unit="responses/s", goal=2000)
def ocsp_cached(bench: Bench) -> Callable[[], None]:
    """POST /pki/ocsp without a nonce: answers come precomputed from the cache."""
    bodies = _ocsp_requests(bench, nonce=False)
    op = _ocsp_op(bench, bodies, fresh=False)
    return op
