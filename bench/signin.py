"""Sign-in figures: smartcard logins end to end, and OIDC token grants, through the WSGI stack.

A smartcard login is what the agent does: POST /signin/agent/challenge, sign the nonce (with
the card's key held in memory here, so the figure is the server's, not a card's), and POST
/signin/agent/respond, which checks the chain, revocation, card, person and role, starts the
session, hands out the browser link and the heartbeat token, and writes the audit event.
The logins cycle through CARDS cards, so after the warm-up each certificate's path to the CIS
root is one the process has already validated this hour (the server remembers that, as it would
for a holder who signed in earlier); the certificate's revocation, the card's status and the
holder's status and roles are read from the database on every login, as in service.

A token grant is POST /oidc/token with an authorization code and its PKCE verifier: client
authentication, code claim, PKCE, the tokens, an ES256-signed ID token, and the lineage rows.
The codes are made beforehand, as /oidc/authorize makes them, in batches outside the timing,
and so are the request bodies that carry them: encoding a form is the relying party's work.

Django is set up by the harness after this module is imported, so Django imports are inside.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import itertools
import json
import secrets
import sys
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

from .harness import Bench, benchmark

CARDS = 300  # distinct cards (and certificates) the logins cycle through
CODES_PER_BATCH = 4000
CODES_AHEAD = 12000  # made before timing starts; more only if a fast machine runs out


def _world(bench: Bench) -> dict[str, Any]:
    """A CA, a pharmacy and its staff, each with a card and certificate; made once per run."""
    if "signin_world" in bench.state:
        return bench.state["signin_world"]  # type: ignore[no-any-return]
    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    from cis.authz.policy import CONSOLE  # noqa: PLC0415
    from cis.core import clock  # noqa: PLC0415
    from cis.organisations.models import (  # noqa: PLC0415
        Organisation,
        OrganisationType,
        RegistrationAuthority,
    )
    from cis.people.models import AssuranceLevel, Person, PersonStatus  # noqa: PLC0415
    from cis.pki import hierarchy  # noqa: PLC0415
    from cis.pki.services import certificate_issue  # noqa: PLC0415
    from cis.rbac.models import JobRole, Position, PositionAssignment  # noqa: PLC0415
    from cis.smartcards.models import CardCertificate, Smartcard  # noqa: PLC0415
    from cis.smartcards.states import CardStatus  # noqa: PLC0415

    hierarchy.ca_init()
    ra, _ = RegistrationAuthority.objects.get_or_create(code="RA-SIGN", name="Sign-in RA")
    org = Organisation.objects.create(
        ods_code="FSI01",
        name="Sign-in Pharmacy",
        org_type=OrganisationType.COMMUNITY_PHARMACY,
        serving_ra=ra,
    )
    role, _ = JobRole.objects.get_or_create(
        code="R8000",
        defaults={
            "name": "Clinical Practitioner Access Role",
            "sector_code": "S8001",
            "group_code": "G8005",
        },
    )
    post = Position.objects.create(organisation=org, name="Pharmacist")
    post.job_roles.add(role)
    start = clock.today() - dt.timedelta(days=10)
    now = clock.now()
    cards = []
    for n in range(CARDS):
        person = Person(
            user_id=f"{910000000000 + n}",
            given_name="Signin",
            family_name=f"Bench{n}",
            status=PersonStatus.ACTIVE,
            assurance_level=AssuranceLevel.HIGH,
            registered_ra=ra,
        )
        person.set_unusable_password()
        person.save()
        PositionAssignment.objects.create(person=person, position=post, start_date=start)
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "card")]))
            .sign(key, hashes.SHA256())
            .public_bytes(serialization.Encoding.PEM)
        )
        chip = f"BENCH{n:06d}"
        cert = certificate_issue(actor=CONSOLE, person=person, csr_pem=csr, card_ref=chip)
        card = Smartcard.objects.create(
            chip_serial=chip,
            holder=person,
            status=CardStatus.ACTIVE,
            issued_at=now,
            activated_at=now,
            so_pin_sealed="bench",
        )
        CardCertificate.objects.create(card=card, certificate=cert, installed_at=now)
        cards.append({"chip": chip, "key": key, "der": bytes(cert.der), "person": person})
    bench.state["signin_world"] = {"cards": cards}
    return bench.state["signin_world"]  # type: ignore[no-any-return]


def _call(
    bench: Bench, method: str, path: str, body: bytes, *, content_type: str, headers: dict[str, str]
) -> tuple[int, bytes]:
    """Like the harness's client, with request headers (the token endpoint's client auth)."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": content_type,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()},
    }
    status: list[str] = []

    def start_response(line: str, _headers: list[tuple[str, str]], exc: Any = None) -> Any:
        status.append(line)
        return lambda data: None

    response = bench.client.app(environ, start_response)
    try:
        content = b"".join(response)
    finally:
        response.close()
    return int(status[0].split()[0]), content


@benchmark(name="signin_smartcard_logins", unit="logins/s", goal=500)
def smartcard_logins(bench: Bench) -> Callable[[], None]:
    """Challenge, card signature, answer: a verified smartcard login and its new session."""
    from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415

    from cis_wire.messages import signin_message  # noqa: PLC0415

    cards = bench.share(itertools.cycle(_world(bench)["cards"]))  # no card on two workstations
    client = bench.client

    def op() -> None:
        card = next(cards)
        status, raw = client.post("/signin/agent/challenge", b"", "application/json")
        if status != 201:
            raise RuntimeError(f"challenge answered HTTP {status}")
        challenge = json.loads(raw)
        message = signin_message(
            challenge_id=challenge["challenge_id"],
            nonce=challenge["nonce"],
            chip_serial=card["chip"],
        )
        body = {
            "challenge_id": challenge["challenge_id"],
            "chip_serial": card["chip"],
            "certificate": base64.b64encode(card["der"]).decode(),
            "signature": base64.b64encode(
                card["key"].sign(message, ec.ECDSA(hashes.SHA256()))
            ).decode(),
            "workstation": "BENCH-WS",
        }
        status, raw = client.post(
            "/signin/agent/respond", json.dumps(body).encode(), "application/json"
        )
        if status != 201:
            raise RuntimeError(f"respond answered HTTP {status}: {raw[:200]!r}")

    return op


def _codes(
    bench: Bench, client_app: Any, session: Any, challenge: str, body: Callable[[str], bytes]
) -> Iterator[bytes]:
    """Token requests for authorization codes stored as /oidc/authorize stores them, made
    CODES_AHEAD at a time; each request body is encoded with its code, as the relying party
    (another process, in service) would send it."""
    from oauth2_provider.models import Grant  # noqa: PLC0415

    from cis.core import clock  # noqa: PLC0415
    from cis.oidc.models import CodeIssue  # noqa: PLC0415
    from cis.oidc.validator import code_digest  # noqa: PLC0415

    scope = "openid profile nhsperson nationalrbacaccess selectedrole"
    while True:
        now = clock.now()
        codes = [secrets.token_urlsafe(30) for _ in range(CODES_AHEAD)]
        Grant.objects.bulk_create(
            [
                Grant(
                    application=client_app,
                    user=session.person,
                    code=code,
                    expires=now + dt.timedelta(hours=1),
                    redirect_uri="https://rp.bench.example/callback",
                    scope=scope,
                    code_challenge=challenge,
                    code_challenge_method="S256",
                    nonce="bench",
                    claims="{}",
                )
                for code in codes
            ],
            batch_size=CODES_PER_BATCH,
        )
        CodeIssue.objects.bulk_create(
            [
                CodeIssue(
                    digest=code_digest(code),
                    client_id=client_app.client_id,
                    session=session,
                    created_at=now,
                )
                for code in codes
            ],
            batch_size=CODES_PER_BATCH,
        )
        yield from [body(code) for code in codes]


@benchmark(name="oidc_token_grants", unit="grants/s", goal=800)
def token_grants(bench: Bench) -> Callable[[], None]:
    """POST /oidc/token, authorization_code with PKCE S256: tokens and a signed ID token."""
    from cis.authz.policy import CONSOLE  # noqa: PLC0415
    from cis.oidc.clients import oidc_client_add  # noqa: PLC0415
    from cis.signin.constants import ACR_AAL3, AMR_SMARTCARD  # noqa: PLC0415
    from cis.signin.models import SignInMethod  # noqa: PLC0415
    from cis.signin.services import session_start  # noqa: PLC0415

    person = _world(bench)["cards"][0]["person"]
    registered = oidc_client_add(
        actor=CONSOLE, name="Bench RP", redirect_uris=["https://rp.bench.example/callback"]
    )
    session = session_start(
        person=person, method=SignInMethod.SMARTCARD, acr=ACR_AAL3, amr=list(AMR_SMARTCARD)
    )
    verifier = "bench-" + "v" * 60
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    client_id = registered.application.client_id
    secret = registered.client_secret

    def body(code: str) -> bytes:
        return urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": "https://rp.bench.example/callback",
                "code_verifier": verifier,
                "client_id": client_id,
                "client_secret": secret,
            }
        ).encode()

    made = _codes(bench, registered.application, session, challenge, body)
    first = next(made)  # makes the first CODES_AHEAD codes now, outside the timed rounds
    requests = bench.share(itertools.chain([first], made))  # each code is good once

    def op() -> None:
        status, raw = _call(
            bench,
            "POST",
            "/oidc/token",
            next(requests),
            content_type="application/x-www-form-urlencoded",
            headers={},
        )
        if status != 200:
            raise RuntimeError(f"token endpoint answered HTTP {status}: {raw[:200]!r}")

    return op
