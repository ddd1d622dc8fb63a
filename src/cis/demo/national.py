"""A national-size directory for benchmarks (`cis bench-data`): organisations in a hierarchy,
people, positions and their holders, rights, cards, real certificates, and a year of requests
with their audit events, loaded with COPY so that 1.5 million people take minutes, not hours.

The shape follows what the NHS has: NHS trusts (each hosting a Registration Authority) with
their sites, pharmacy chains' head offices over their branches, independent pharmacies and GP
practices; about a hundred people per organisation, two positions each on average, one live
card each (a few replaced after a loss), a certificate per card signed by the CA, and some
0.3 requests per person a year, most of them applied, a few still in the RA's queue.

Everything is made from a seeded random generator, so a size always gives the same directory.
It fills an empty directory only: it never mixes made-up people into real ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import transaction

from cis.audit.trail import record_many
from cis.authz.actions import Action
from cis.authz.policy import CONSOLE
from cis.core import clock, sql
from cis.core.errors import InvalidState
from cis.organisations.models import Organisation, OrganisationType, RegistrationAuthority
from cis.people.models import AssuranceLevel, Person, PersonKind, PersonStatus
from cis.pki import authority, hierarchy, profiles
from cis.pki.models import Certificate, serial_to_hex
from cis.pki.serials import new_serial
from cis.pki.states import CertificateStatus
from cis.rbac.catalogue import catalogue_load
from cis.rbac.models import JobRole, Position, PositionAssignment
from cis.rights.models import Right, RightGrant
from cis.smartcards.models import CardCertificate, Smartcard
from cis.smartcards.states import REVOCATION_FOR_CANCEL, CancelReason, CardStatus
from cis.workflow.models import Request, RequestEvent
from cis.workflow.states import EventKind, RequestState, RequestType

# People in each size; everything else follows from it.
SIZES = {"tiny": 1_000, "ci": 50_000, "national": 1_500_000}
PEOPLE_PER_ORGANISATION = 100
REQUESTS_PER_PERSON_YEAR = 0.3
KEY_POOL = 256  # holders' public keys, cycled (generating 1.5 million keys adds nothing)
# Marks the data as the generator's: every chip serial starts with it.
CHIP_PREFIX = "NB"

TOWNS = (
    "Aldershot Barnsley Bath Bedford Birkenhead Blackburn Blackpool Bolton Bournemouth Bradford "
    "Brighton Bristol Burnley Bury Cambridge Carlisle Chelmsford Cheltenham Chester Colchester "
    "Coventry Crawley Crewe Darlington Derby Doncaster Dudley Durham Eastbourne Exeter Gateshead "
    "Gloucester Grimsby Guildford Halifax Harrogate Hartlepool Hastings Hereford Huddersfield "
    "Hull Ipswich Kendal Kettering Lancaster Leeds Leicester Lincoln Liverpool Luton Maidstone "
    "Manchester Middlesbrough Milton Keynes Newcastle Northampton Norwich Nottingham Oldham "
    "Oxford Peterborough Plymouth Poole Portsmouth Preston Reading Redditch Rochdale Rotherham "
    "Salford Salisbury Scarborough Sheffield Shrewsbury Slough Southampton Southend Stafford "
    "Stockport Stoke Sunderland Swindon Taunton Telford Truro Wakefield Walsall Warrington "
    "Watford Wigan Winchester Wolverhampton Worcester Worthing Yeovil York"
).split()
GIVEN = (
    "Oliver George Harry Jack Jacob Noah Charlie Muhammad Thomas Oscar William James Henry Leo "
    "Alfie Joshua Freddie Archie Ethan Isaac Alexander Joseph Edward Samuel Max Daniel Arthur "
    "Lucas Mohammed Logan Olivia Amelia Isla Ava Emily Isabella Mia Poppy Ella Lily Sophia Grace "
    "Evie Scarlett Ruby Chloe Sophie Daisy Freya Alice Florence Sienna Phoebe Matilda Priya "
    "Aisha Fatima Zara Amira Ananya Wei Chen Kofi Ama Chinedu Ngozi Siobhan Niamh Rhys Cerys "
    "Eilidh Callum Fraser Morag Dafydd Bronwen Tomasz Agnieszka Andrei Elena Giulia Marco"
).split()
FAMILY = (
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
    "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson "
    "Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen "
    "James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook "
    "Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall "
    "Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray "
    "Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler "
    "Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Nguyen Okafor Kowalski Byrne"
).split()
SYLLABLES = (
    "ash ber bran brook by cal dale den don dun el fair far ford gar ham har hol ing kel "
    "ken lan lee lin mar mer mont mor nor ock pen rad ram ridge rose ry sel shaw ston tan "
    "thorn ton trev vel wick win wood worth"
).split()
POSTS: dict[str, tuple[str, ...]] = {
    OrganisationType.COMMUNITY_PHARMACY: (
        "Pharmacist",
        "Pharmacy Technician",
        "Dispenser",
        "Pharmacy Manager",
    ),
    OrganisationType.PHARMACY_HEAD_OFFICE: (
        "Superintendent Pharmacist",
        "Area Manager",
        "Registration Authority Sponsor",
    ),
    OrganisationType.GP_PRACTICE: (
        "General Practitioner",
        "Practice Nurse",
        "Practice Manager",
        "Receptionist",
        "Administrator",
    ),
    OrganisationType.NHS_TRUST: (
        "Consultant",
        "Staff Nurse",
        "Junior Doctor",
        "Registration Authority Agent",
        "Registration Authority Manager",
        "Ward Clerk",
    ),
    OrganisationType.NHS_TRUST_SITE: (
        "Consultant",
        "Staff Nurse",
        "Healthcare Assistant",
        "Ward Clerk",
        "Radiographer",
    ),
}
# People homed at each kind of organisation, relative to one another (a trust employs
# thousands, a pharmacy a handful); scaled so the total is the size asked for.
STAFF_WEIGHT: dict[str, int] = {
    OrganisationType.NHS_TRUST: 900,
    OrganisationType.NHS_TRUST_SITE: 250,
    OrganisationType.PHARMACY_HEAD_OFFICE: 40,
    OrganisationType.COMMUNITY_PHARMACY: 8,
    OrganisationType.GP_PRACTICE: 25,
}
GP_LETTERS = "ABCDEGHJKLMNP"
PRACTICE_NAMES = ("Medical Centre", "Surgery", "Health Centre", "Family Practice")
BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


# The action the service audits for each decided state: approving a request whose change is made
# at once applies it, so an applied request was audited as an approval.
DECISION_ACTION = {
    RequestState.APPLIED: Action.REQUEST_APPROVE,
    RequestState.REJECTED: Action.REQUEST_REJECT,
    RequestState.CANCELLED: Action.REQUEST_CANCEL,
    RequestState.EXPIRED: Action.REQUEST_EXPIRE,
}


@dataclass
class Counts:
    """What one run loaded, table by table, and how long it took."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def line(self) -> str:
        parts = ", ".join(f"{n:,} {name}" for name, n in self.rows.items())
        return f"{parts} in {self.seconds:.0f} s"


@dataclass
class _Org:
    id: int
    code: str
    org_type: str
    ra: int
    posts: list[int] = field(default_factory=list)


def _b36(n: int, width: int) -> str:
    out = ""
    for _ in range(width):
        n, digit = divmod(n, 36)
        out = BASE36[digit] + out
    return out


class _Generator:
    def __init__(self, people: int, *, seed: int, log: Callable[[str], None]) -> None:
        self.people = people
        self.rng = random.Random(seed)  # noqa: S311 - made-up data, the same for one seed
        self.log = log
        self.now = clock.now().replace(microsecond=0)
        self.today = clock.today()
        self.counts = Counts()
        self.started = time.monotonic()
        self.orgs: list[_Org] = []
        self.ras: list[int] = []
        self.home: list[int] = []  # person index -> organisation index
        self.person_status: list[str] = []
        self.agents: dict[int, list[int]] = {}  # RA id -> person ids holding RA Agent there
        # (serial, person id, issued, status, revoked at) of every certificate made
        self.certificates: list[tuple[str, int, dt.datetime, str, dt.datetime | None]] = []
        self.audit_days: dict[int, list[dict[str, Any]]] = {}  # days ago -> events

    def _loaded(self, name: str, count: int) -> None:
        self.counts.rows[name] = self.counts.rows.get(name, 0) + count
        self.log(f"  {name}: {count:,} ({time.monotonic() - self.started:.0f} s)")

    # Organisations and Registration Authorities -----------------------------------------

    def organisations(self) -> None:
        total = max(20, self.people // PEOPLE_PER_ORGANISATION)
        trusts = max(2, total * 15 // 1000)
        sites = total * 10 // 100
        heads = max(1, total // 100)
        pharmacies = total * 40 // 100
        practices = total - trusts - sites - heads - pharmacies
        now = self.now
        ra_rows = []
        for n in range(trusts):
            town = TOWNS[n % len(TOWNS)]
            ra_rows.append(
                (
                    n + 1,
                    f"RA{n + 1:04d}",
                    f"{town} Registration Authority {n + 1}",
                    True,
                    f"ra{n + 1}@nhs.example",
                    "",
                    "Monday to Friday, 9am to 5pm",
                    "",
                    "[]",
                    now,
                    now,
                )
            )
            self.ras.append(n + 1)
        ra_fields = (
            "id code name is_active email phone hours address geographies created_at updated_at"
        ).split()
        self._loaded(
            "registration authorities", sql.copy_rows(RegistrationAuthority, ra_fields, ra_rows)
        )

        rows: list[tuple[Any, ...]] = []

        def add(code: str, name: str, org_type: str, parent: int | None, ra: int) -> int:
            org_id = len(self.orgs) + 1
            self.orgs.append(_Org(org_id, code, org_type, ra))
            opened = self.today - dt.timedelta(days=self.rng.randrange(365, 365 * 30))
            rows.append(
                (org_id, code, name, org_type, parent, ra, "open", None, "", "", opened, now, now)
            )
            return org_id

        trust_ids = []
        for n in range(trusts):
            town = TOWNS[n % len(TOWNS)]
            suffix = "" if n < len(TOWNS) else f" {n // len(TOWNS) + 1}"
            trust_ids.append(
                add(
                    "R" + _b36(n + 36 * 10, 2),
                    f"{town}{suffix} NHS Foundation Trust",
                    OrganisationType.NHS_TRUST,
                    None,
                    self.ras[n],
                )
            )
        for n in range(sites):
            t = n % trusts
            trust = self.orgs[trust_ids[t] - 1]
            add(
                f"{trust.code}{n // trusts + 1:02d}",
                f"{self.rng.choice(TOWNS)} {self.rng.choice(('General', 'Community', 'Royal'))} "
                "Hospital",
                OrganisationType.NHS_TRUST_SITE,
                trust.id,
                trust.ra,
            )
        head_ids = []
        for n in range(heads):
            head_ids.append(
                add(
                    f"Y{n + 10000:05d}",
                    f"{self.rng.choice(FAMILY)} {self.rng.choice(('Pharmacy', 'Chemists'))} "
                    f"Group {n + 1}",
                    OrganisationType.PHARMACY_HEAD_OFFICE,
                    None,
                    self.ras[n % trusts],
                )
            )
        for n in range(pharmacies):
            ra = self.ras[n * trusts // pharmacies]  # neighbouring codes share an RA, as areas do
            chain = head_ids[n % heads] if n % 5 < 3 else None
            owner = self.rng.choice(FAMILY)
            add(
                "F" + _b36(n + 36**3, 4),
                f"{owner} Pharmacy {self.rng.choice(TOWNS)}",
                OrganisationType.COMMUNITY_PHARMACY,
                chain,
                ra,
            )
        for n in range(practices):
            ra = self.ras[n * trusts // practices]
            add(
                f"{GP_LETTERS[n // 90000]}{10000 + n % 90000:05d}",
                f"{self.rng.choice(TOWNS)} {self.rng.choice(PRACTICE_NAMES)}",
                OrganisationType.GP_PRACTICE,
                None,
                ra,
            )
        fields = (
            "id ods_code name org_type parent_id serving_ra_id status closed_on address geography "
            "opened_on created_at updated_at"
        ).split()
        self._loaded("organisations", sql.copy_rows(Organisation, fields, rows))

    def positions(self) -> None:
        roles = list(JobRole.objects.order_by("code").values_list("id", flat=True))
        if not roles:
            raise InvalidState("The role catalogue is empty: load it first (`cis rbac load`).")
        now = self.now
        rows: list[tuple[Any, ...]] = []
        links: list[tuple[int, int, int]] = []
        for org in self.orgs:
            for name in POSTS[org.org_type]:
                post_id = len(rows) + 1
                org.posts.append(post_id)
                assignable = name in ("Receptionist", "Dispenser", "Ward Clerk", "Administrator")
                rows.append((post_id, org.id, name, None, "[]", assignable, "active", now, now))
                links.append((len(links) + 1, post_id, roles[sum(map(ord, name)) % len(roles)]))
        fields = (
            "id organisation_id name area_of_work_id workgroups assignable status "
            "created_at updated_at"
        ).split()
        self._loaded("positions", sql.copy_rows(Position, fields, rows))
        through = Position.job_roles.through
        self._loaded(
            "position job roles",
            sql.copy_rows(through, ("id", "position_id", "jobrole_id"), links),
        )

    # People, their positions and rights ------------------------------------------------

    def _family(self) -> str:
        if self.rng.random() < 0.6:
            return self.rng.choice(FAMILY)
        parts = self.rng.sample(SYLLABLES, 2)
        return (parts[0] + parts[1]).capitalize()

    def persons(self) -> None:
        weights = [STAFF_WEIGHT[org.org_type] for org in self.orgs]
        self.home = self.rng.choices(range(len(self.orgs)), weights=weights, k=self.people)
        now = self.now
        rng = self.rng

        def rows() -> Iterator[tuple[Any, ...]]:
            for n in range(self.people):
                roll = rng.random()
                status = (
                    PersonStatus.ACTIVE
                    if roll < 0.93
                    else PersonStatus.RESTRICTED
                    if roll < 0.96
                    else PersonStatus.CLOSED
                )
                self.person_status.append(status)
                kind = PersonKind.PERSON
                ends = None
                if n % 500 == 499:
                    kind = PersonKind.RPA if n % 1000 == 999 else PersonKind.TEMPORARY
                    ends = self.today + dt.timedelta(days=rng.randrange(30, 365))
                given, family = rng.choice(GIVEN), self._family()
                org = self.orgs[self.home[n]]
                created = now - dt.timedelta(days=rng.randrange(0, 365 * 8))
                verified = created if status == PersonStatus.ACTIVE else None
                yield (
                    n + 1,
                    UNUSABLE_PASSWORD_PREFIX,
                    None,
                    f"{500000000000 + n}",
                    given,
                    family,
                    dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 52)),
                    f"{given}.{family}{n}@nhs.example".lower(),
                    verified,
                    f"+447700{n % 1000000:06d}" if n % 3 else "",
                    verified if n % 3 else None,
                    "",
                    "",
                    AssuranceLevel.HIGH if status != PersonStatus.RESTRICTED else 0,
                    status,
                    kind,
                    ends,
                    org.ra,
                    created,
                    created,
                    created + dt.timedelta(days=300) if status == PersonStatus.CLOSED else None,
                )

        fields = (
            "id password last_login user_id given_name family_name date_of_birth email "
            "email_verified_at mobile mobile_verified_at professional_body professional_number "
            "assurance_level status kind access_ends_on registered_ra_id created_at updated_at "
            "closed_at"
        ).split()
        self._loaded("people", sql.copy_rows(Person, fields, rows()))

    def assignments(self) -> None:
        rng = self.rng
        now = self.now
        count = len(self.orgs)

        def rows() -> Iterator[tuple[Any, ...]]:
            n_id = 0
            for n in range(self.people):
                held = 1 + (rng.random() < 0.7) + (rng.random() < 0.3)
                closed = self.person_status[n] == PersonStatus.CLOSED
                for k in range(held):
                    org = self.orgs[self.home[n] if k == 0 else rng.randrange(count)]
                    start = self.today - dt.timedelta(days=rng.randrange(30, 365 * 8))
                    ended = closed or (k > 0 and rng.random() < 0.15)
                    end = start + dt.timedelta(days=rng.randrange(1, 29)) if ended else None
                    n_id += 1
                    yield (n_id, n + 1, rng.choice(org.posts), start, end, None, None, "", now, now)

        fields = (
            "id person_id position_id start_date end_date granted_by_id ended_by_id request_ref "
            "created_at updated_at"
        ).split()
        self._loaded("position assignments", sql.copy_rows(PositionAssignment, fields, rows()))

    def rights(self) -> None:
        """RA staff at each trust, LSAs and Sponsors at one organisation in ten, a service desk."""
        at_org: dict[int, list[int]] = {}
        for person, home in enumerate(self.home):
            if self.person_status[person] == PersonStatus.ACTIVE:
                at_org.setdefault(home, []).append(person + 1)
        start = self.today - dt.timedelta(days=400)
        now = self.now
        rows: list[tuple[Any, ...]] = []

        def grant(person: int, right: str, org: int | None, ra: int | None, children: bool) -> None:
            rows.append(
                (
                    len(rows) + 1,
                    person,
                    right,
                    org,
                    children,
                    ra,
                    start,
                    None,
                    None,
                    None,
                    None,
                    "",
                    now,
                    now,
                )
            )

        for org_index, org in enumerate(self.orgs):
            staff = at_org.get(org_index, [])
            if org.org_type == OrganisationType.NHS_TRUST and staff:
                self.agents[org.ra] = staff[:5]
                for person in staff[:5]:
                    grant(person, Right.RA_AGENT, None, org.ra, False)
                if len(staff) > 5:
                    grant(staff[5], Right.RA_MANAGER, None, org.ra, False)
                for person in staff[6:8]:
                    grant(person, Right.ID_CHECKER, None, org.ra, False)
            elif staff and org_index % 10 == 0:
                grant(
                    staff[0],
                    Right.LSA,
                    org.id,
                    None,
                    org.org_type == OrganisationType.PHARMACY_HEAD_OFFICE,
                )
            elif staff and org_index % 20 == 5:
                grant(staff[0], Right.SPONSOR, org.id, None, False)
        first_active = self.person_status.index(PersonStatus.ACTIVE) + 1
        grant(first_active, Right.SERVICE_DESK, None, None, False)
        fields = (
            "id person_id right organisation_id include_children ra_id start_date end_date "
            "granted_by_id revoked_at revoked_by_id request_ref created_at updated_at"
        ).split()
        self._loaded("rights", sql.copy_rows(RightGrant, fields, rows))

    # Cards and certificates ---------------------------------------------------------------

    def cards(self) -> None:  # noqa: PLR0915 - one card and certificate per person, in order
        """A card per person (a second, live one for those who lost theirs), and a certificate
        per card, signed by the issuing CA, valid for two years from when the card was issued."""
        issuing = authority.issuing()
        keys = [ec.generate_private_key(ec.SECP256R1()).public_key() for _ in range(KEY_POOL)]
        spki = [
            hashlib.sha256(
                key.public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            ).hexdigest()
            for key in keys
        ]
        rng = self.rng
        card_rows: list[tuple[Any, ...]] = []
        cert_rows: list[tuple[Any, ...]] = []
        link_rows: list[tuple[Any, ...]] = []
        given = dict(Person.objects.values_list("id", "given_name").iterator(chunk_size=20000))
        family = dict(Person.objects.values_list("id", "family_name").iterator(chunk_size=20000))

        def card(
            person: int, status: str, reason: str, issued: dt.datetime, replaces: int | None
        ) -> int:
            card_id = len(card_rows) + 1
            ended = (
                issued + dt.timedelta(days=rng.randrange(1, 300))
                if status == CardStatus.CANCELLED
                else None
            )
            if ended is not None and ended > self.now:
                ended = self.now - dt.timedelta(hours=1)
            card_rows.append(
                (
                    card_id,
                    f"{CHIP_PREFIX}{card_id:010d}",
                    person,
                    status,
                    reason,
                    None,
                    issued,
                    None if status == CardStatus.ISSUED else issued + dt.timedelta(minutes=5),
                    issued + dt.timedelta(days=100) if status == CardStatus.LOCKED else None,
                    ended,
                    "bench-data" if ended else "",
                    replaces,
                    "bench-data",
                    "[]",
                    issued,
                    ended or issued,
                )
            )
            serial = new_serial()
            user_id = f"{500000000000 + person - 1}"
            subject = profiles.person_name(
                full_name=f"{given[person]} {family[person]}", user_id=user_id
            )
            not_before = issued - dt.timedelta(minutes=5)
            not_after = issued + dt.timedelta(days=730)
            key = len(cert_rows) % KEY_POOL
            der = profiles.smartcard_certificate(
                issuer=issuing.issuer,
                subject=subject,
                public_key=keys[key],
                serial=serial,
                not_before=not_before,
                not_after=not_after,
            ).public_bytes(serialization.Encoding.DER)
            revocation = REVOCATION_FOR_CANCEL.get(CancelReason(reason)) if reason else ""
            cert_rows.append(
                (
                    card_id,
                    issuing.id,
                    serial_to_hex(serial),
                    person,
                    card_rows[-1][1],
                    subject.rfc4514_string(),
                    not_before.replace(microsecond=0),
                    not_after.replace(microsecond=0),
                    CertificateStatus.REVOKED if revocation else CertificateStatus.VALID,
                    ended.replace(microsecond=0) if revocation and ended else None,
                    revocation or "",
                    None,
                    "ec-p256",
                    spki[key],
                    "bench-data",
                    der,
                    issued,
                    ended or issued,
                )
            )
            link_rows.append(
                (card_id, card_id, card_id, None, issued, issued + dt.timedelta(minutes=5))
            )
            return card_id

        started = time.monotonic()
        for n in range(self.people):
            person = n + 1
            status = self.person_status[n]
            if status == PersonStatus.RESTRICTED:
                continue  # identity not verified yet: no card
            issued = self.now - dt.timedelta(
                days=rng.randrange(1, 700), minutes=rng.randrange(1440)
            )
            if status == PersonStatus.CLOSED:
                card(person, CardStatus.CANCELLED, CancelReason.LEFT, issued, None)
                continue
            roll = rng.random()
            if roll < 0.05:
                lost = card(
                    person,
                    CardStatus.CANCELLED,
                    rng.choice((CancelReason.LOST, CancelReason.DAMAGED, CancelReason.FAULTY)),
                    issued,
                    None,
                )
                card(
                    person,
                    CardStatus.ACTIVE,
                    "",
                    min(
                        card_rows[-1][9] + dt.timedelta(days=2), self.now - dt.timedelta(minutes=30)
                    ),
                    lost,
                )
            else:
                card(
                    person,
                    CardStatus.LOCKED
                    if roll < 0.08
                    else CardStatus.ISSUED
                    if roll < 0.09
                    else CardStatus.ACTIVE,
                    "",
                    issued,
                    None,
                )
            if n % 100_000 == 99_999:
                self.log(
                    f"  certificates signed: {len(cert_rows):,} "
                    f"({time.monotonic() - started:.0f} s)"
                )
        card_fields = (
            "id chip_serial holder_id status cancel_reason issued_by_id issued_at activated_at "
            "locked_at ended_at ended_by_ref replaces_id so_pin_sealed so_pin_unconfirmed "
            "created_at updated_at"
        ).split()
        # A replacement refers to the card it replaces, which comes before it.
        self._loaded("smartcards", sql.copy_rows(Smartcard, card_fields, card_rows))
        cert_fields = (
            "id issuer_id serial_hex person_id card_ref subject not_before not_after status "
            "revoked_at revocation_reason superseded_by_id key_algorithm spki_sha256 "
            "issued_by_ref der created_at updated_at"
        ).split()
        self._loaded("certificates", sql.copy_rows(Certificate, cert_fields, cert_rows))
        link_fields = "id card_id certificate_id operation_id installed_at created_at".split()
        self._loaded(
            "card certificates",
            sql.copy_rows(
                CardCertificate,
                [*link_fields, "updated_at"],
                ((*row, row[-1]) for row in link_rows),
            ),
        )
        self.certificates = [(row[2], row[3], row[16], row[8], row[9]) for row in cert_rows]

    # A year of requests and their audit events --------------------------------------------

    def requests(self) -> None:
        rng = self.rng
        total = int(self.people * REQUESTS_PER_PERSON_YEAR)
        types = [
            (RequestType.POSITION_ADD, 30),
            (RequestType.CARD_ISSUE, 15),
            (RequestType.CARD_REPLACE, 10),
            (RequestType.POSITION_END, 15),
            (RequestType.DETAILS_CHANGE, 20),
            (RequestType.CARD_RENEW, 5),
            (RequestType.PROFILE_CLOSE, 5),
        ]
        kinds, weights = zip(*types, strict=True)
        request_rows: list[tuple[Any, ...]] = []
        event_rows: list[tuple[Any, ...]] = []
        for n in range(total):
            subject = rng.randrange(self.people)
            org = self.orgs[self.home[subject]]
            agents = self.agents.get(org.ra) or next(iter(self.agents.values()))
            raised = self.now - dt.timedelta(seconds=rng.randrange(365 * 86400))
            age = (self.now - raised).days
            roll = rng.random()
            if age >= 14:
                state = (
                    RequestState.APPLIED
                    if roll < 0.8
                    else RequestState.REJECTED
                    if roll < 0.9
                    else RequestState.CANCELLED
                    if roll < 0.95
                    else RequestState.EXPIRED
                )
            else:
                state = (
                    RequestState.SUBMITTED
                    if roll < 0.35
                    else RequestState.ESCALATED
                    if roll < 0.4
                    else RequestState.APPLIED
                )
            kind = rng.choices(kinds, weights=weights)[0]
            raiser = rng.choice(agents)
            decider = agents[(agents.index(raiser) + 1) % len(agents)] if len(agents) > 1 else None
            open_ = state in (RequestState.SUBMITTED, RequestState.ESCALATED)
            decided = None if open_ else raised + dt.timedelta(hours=rng.randrange(1, 72))
            due = raised + dt.timedelta(days=5)
            escalated = state == RequestState.ESCALATED
            if escalated and due > self.now:
                state, escalated = RequestState.SUBMITTED, False
            request_id = n + 1
            request_rows.append(
                (
                    request_id,
                    kind,
                    state,
                    subject + 1,
                    org.id,
                    org.ra,
                    "{}",
                    "",
                    raiser,
                    raised,
                    due,
                    1 if escalated else 0,
                    due if escalated else None,
                    None,
                    1,
                    "[]",
                    decider if decided else None,
                    decided,
                    "",
                    decided if state == RequestState.APPLIED else None,
                    "",
                    decided,
                )
            )
            ref = f"REQ-{request_id:06d}"
            subject_ref = f"{500000000000 + subject}"
            event_rows.append(
                (
                    len(event_rows) + 1,
                    request_id,
                    raised,
                    EventKind.RAISED,
                    raiser,
                    "",
                    "",
                    RequestState.SUBMITTED,
                    "",
                )
            )
            self._audit(
                raised,
                str(Action.REQUEST_RAISE),
                ref,
                subject_ref,
                org.code,
                raiser,
                {"state": "submitted", "type": str(kind)},
            )
            if decided is not None:
                event_rows.append(
                    (
                        len(event_rows) + 1,
                        request_id,
                        decided,
                        state if state != RequestState.APPLIED else EventKind.APPLIED,
                        decider,
                        "",
                        RequestState.SUBMITTED,
                        state,
                        "",
                    )
                )
                self._audit(
                    decided,
                    str(DECISION_ACTION[state]),
                    ref,
                    subject_ref,
                    org.code,
                    decider,
                    {"state": str(state)},
                )
        fields = (
            "id request_type state subject_id organisation_id ra_id payload note raised_by_id "
            "raised_at due_at escalation_level escalated_at assigned_to_id approvals_needed "
            "approver_rights decided_by_id decided_at decision_reason applied_at result_ref "
            "closed_at"
        ).split()
        self._loaded("requests", sql.copy_rows(Request, fields, request_rows))
        event_fields = "id request_id at kind actor_id actor_name from_state to_state note".split()
        self._loaded("request events", sql.copy_rows(RequestEvent, event_fields, event_rows))
        year_ago = self.now - dt.timedelta(days=365)
        for serial, person, issued, status, revoked in self.certificates:
            if issued >= year_ago:
                self._audit(
                    issued,
                    str(Action.CERTIFICATE_ISSUE),
                    serial,
                    f"{500000000000 + person - 1}",
                    "",
                    None,
                    {"status": "valid"},
                    target_type="certificate",
                )
            if revoked is not None and revoked >= year_ago:
                self._audit(
                    revoked,
                    str(Action.CERTIFICATE_REVOKE),
                    serial,
                    f"{500000000000 + person - 1}",
                    "",
                    None,
                    {"status": str(status)},
                    target_type="certificate",
                )

    def _audit(  # noqa: PLR0913, PLR0917 - one event's fields, in the order they are read
        self,
        at: dt.datetime,
        action: str,
        ref: str,
        subject: str,
        org: str,
        actor: int | None,
        after: dict[str, Any],
        *,
        target_type: str = "request",
    ) -> None:
        day = (self.now - at).days
        self.audit_days.setdefault(day, []).append(
            {
                "at": at,
                "action": action,
                "target_type": target_type,
                "target_ref": ref,
                "subject_ref": subject,
                "organisation_ref": org,
                "after": after,
                "actor": actor,
            }
        )

    def audit(self) -> None:
        """Each day's events, sealed into the chain with the clock set to that day (the trail
        records when it was written, so the history reads as if written as it happened)."""
        written = 0
        actors = {
            p.pk: p
            for p in Person.objects.filter(
                pk__in={e["actor"] for day in self.audit_days.values() for e in day if e["actor"]}
            )
        }
        try:
            for day in sorted(self.audit_days, reverse=True):
                events = sorted(self.audit_days[day], key=lambda e: e["at"])
                clock.reset()
                clock.travel(events[0]["at"] - clock.now())
                for event in events:
                    event.pop("at")
                    actor = event.pop("actor")
                    event["actor"] = actors[actor] if actor else CONSOLE
                with transaction.atomic():
                    written += record_many(
                        actor=CONSOLE, rule="bench-data: generated history", events=events
                    )
        finally:
            clock.reset()
        self._loaded("audit events", written)


def bench_data(
    *, people: int, seed: int = 16, log: Callable[[str], None] = lambda _: None
) -> Counts:
    """Fill an empty directory with a national-shaped one of `people` people."""
    if people < 100:
        raise InvalidState("bench-data makes at least 100 people.")
    if Person.objects.exists() or Organisation.objects.exists():
        raise InvalidState(
            "bench-data fills an empty directory only, and this one has people or organisations: "
            "point DATABASE_URL at a new database."
        )
    started = time.monotonic()
    hierarchy.ca_init()
    catalogue_load(actor=CONSOLE)
    generator = _Generator(people, seed=seed, log=log)
    steps: Sequence[Callable[[], None]] = (
        generator.organisations,
        generator.positions,
        generator.persons,
        generator.assignments,
        generator.rights,
        generator.cards,
        generator.requests,
    )
    for step in steps:
        with transaction.atomic():
            step()
    sql.reset_sequences(
        RegistrationAuthority,
        Organisation,
        Position,
        Position.job_roles.through,
        Person,
        PositionAssignment,
        RightGrant,
        Smartcard,
        Certificate,
        CardCertificate,
        Request,
        RequestEvent,
    )
    generator.audit()
    connection = sql.connection()
    if connection.vendor == "postgresql":
        # VACUUM as well as ANALYZE, as autovacuum would soon after a load this size: it merges
        # the trigram indexes' pending lists (a name search otherwise reads megabytes of them:
        # 93 ms against 0.2 ms for one term at 200,000 people) and sets the visibility map, so
        # that the scope's covering index is read without visiting the table.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE")
    generator.counts.seconds = time.monotonic() - started
    return generator.counts
