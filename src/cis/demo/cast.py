"""The demo world's fixed cast: one RA, the organisations it serves, their positions and staff.

Everything here is fictional. Contact details use placeholder domains (example.nhs.uk) and the
Ofcom drama range of mobile numbers (07700 900xxx), so no message can reach a real person.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cis.organisations.models import OrganisationType
from cis.rights.models import Right

RA_CODE = "RA-NP"
RA_NAME = "Northern Pharmacy Registration Authority"
# The RA's published contact details (a drama-range phone number and an example domain).
RA_CONTACT = {
    "email": "ra.northern-pharmacy@example.org",
    "phone": "0113 496 0000",
    "hours": "Monday to Friday, 9am to 5pm",
}

# Every persona's virtual card is unlocked with this passcode (the demo's cards come later).
DEMO_PASSCODE = "2468"


@dataclass(frozen=True)
class OrganisationSpec:
    ods_code: str
    name: str
    org_type: str
    address: str
    parent: str | None = None


RA_OFFICE = "YNP01"
HEAD_OFFICE = "PPG01"
BRANCHES = ("FLM49", "FPH27", "FRK63", "FWD18", "FCN84")
INDEPENDENTS = ("FTA41", "FBE72", "FHG95")
GP_PRACTICE = "A81001"

_PHARMACY = OrganisationType.COMMUNITY_PHARMACY
ORGANISATIONS: tuple[OrganisationSpec, ...] = (
    OrganisationSpec(
        RA_OFFICE,
        "Northern Pharmacy RA Office",
        OrganisationType.RA_HOST,
        "Unit 4, Dean Clough Mills, Halifax HX3 5AX",
    ),
    OrganisationSpec(
        HEAD_OFFICE,
        "Pennine Pharmacy Group Head Office",
        OrganisationType.PHARMACY_HEAD_OFFICE,
        "Pennine House, 1 Square Road, Halifax HX1 1QG",
    ),
    OrganisationSpec(
        "FLM49",
        "Pennine Pharmacy Hebden Bridge",
        _PHARMACY,
        "14 Market Street, Hebden Bridge HX7 6AD",
        HEAD_OFFICE,
    ),
    OrganisationSpec(
        "FPH27",
        "Pennine Pharmacy Todmorden",
        _PHARMACY,
        "3 Halifax Road, Todmorden OL14 5AB",
        HEAD_OFFICE,
    ),
    OrganisationSpec(
        "FRK63",
        "Pennine Pharmacy Halifax",
        _PHARMACY,
        "88 Commercial Street, Halifax HX1 1BA",
        HEAD_OFFICE,
    ),
    OrganisationSpec(
        "FWD18",
        "Pennine Pharmacy Sowerby Bridge",
        _PHARMACY,
        "21 Wharf Street, Sowerby Bridge HX6 2AF",
        HEAD_OFFICE,
    ),
    OrganisationSpec(
        "FCN84",
        "Pennine Pharmacy Brighouse",
        _PHARMACY,
        "5 Bethel Street, Brighouse HD6 1JR",
        HEAD_OFFICE,
    ),
    OrganisationSpec(
        "FTA41", "Calder Valley Chemist", _PHARMACY, "2 Burnley Road, Mytholmroyd HX7 5LH"
    ),
    OrganisationSpec(
        "FBE72", "Skipton Road Pharmacy", _PHARMACY, "140 Skipton Road, Keighley BD21 2TB"
    ),
    OrganisationSpec(
        "FHG95", "Moorside Pharmacy", _PHARMACY, "9 Moorside Parade, Bradford BD2 2QE"
    ),
    OrganisationSpec(
        GP_PRACTICE,
        "Riverside Medical Practice",
        OrganisationType.GP_PRACTICE,
        "Riverside Health Centre, Huddersfield Road, Elland HX5 9BW",
    ),
)


@dataclass(frozen=True)
class PositionSpec:
    name: str
    job_roles: tuple[str, ...]
    area_of_work: str
    assignable: bool = False
    activities: tuple[str, ...] = ()


# Job roles from the catalogue (src/cis/rbac/data/catalogue.json): the national access roles
# (R8003 Health Professional, R8008 Admin/Clinical Support, ...) with the job role that names the
# profession (R1290 Pharmacist, R0011 Dispenser, ...), as RAs build positions.
PHARMACIST = PositionSpec("Pharmacist", ("R8003", "R1290"), "")
TECHNICIAN = PositionSpec(
    "Pharmacy Technician", ("R8008", "R1979"), "", assignable=True, activities=("B0570",)
)
DISPENSER = PositionSpec(
    "Dispenser", ("R8008", "R0011"), "", assignable=True, activities=("B0570",)
)
COUNTER = PositionSpec("Counter Assistant", ("R8008",), "", assignable=True)

POSITIONS: dict[str, tuple[PositionSpec, ...]] = {
    RA_OFFICE: (
        PositionSpec("RA Manager", ("R5080",), "", activities=("B1300", "B0274")),
        PositionSpec("RA Agent", ("R5090",), "", activities=("B1300", "B0274")),
        PositionSpec("RA ID Checker", ("R5090",), "", activities=("B0267",)),
        PositionSpec("Service Desk Analyst", ("R8015",), ""),
    ),
    HEAD_OFFICE: (
        PositionSpec("Superintendent Pharmacist", ("R8003", "R1290"), "", activities=("B1300",)),
        PositionSpec("Area Manager", ("R8008",), ""),
        PositionSpec("Head Office Administrator", ("R8010",), "", assignable=True),
    ),
    **{code: (PHARMACIST, TECHNICIAN, DISPENSER, COUNTER) for code in BRANCHES},
    **{code: (PHARMACIST, DISPENSER, COUNTER) for code in INDEPENDENTS},
    GP_PRACTICE: (
        PositionSpec("GP", ("R8000", "R0260"), ""),
        PositionSpec("Practice Nurse", ("R8001", "R0620"), ""),
        PositionSpec("Practice Manager", ("R8008",), ""),
        PositionSpec("Receptionist", ("R8009", "R1730"), "", assignable=True),
    ),
}


@dataclass(frozen=True)
class StaffSpec:
    number: int
    given_name: str
    family_name: str
    date_of_birth: dt.date
    posts: tuple[tuple[str, str], ...]  # (ODS code, position name)
    since: dt.date
    professional_body: str = ""
    professional_number: str = ""
    kind: str = "person"

    @property
    def user_id(self) -> str:
        return f"{100_000_000_000 + self.number}"

    @property
    def email(self) -> str:
        return f"{self.given_name}.{self.family_name}@example.nhs.uk".lower()

    @property
    def mobile(self) -> str:
        return f"07700 900{100 + self.number:03d}"


# number | name | born | in post since | registration | posts ("ODS position", ";" between)
_STAFF_TABLE = """
 1 | Margaret Whitfield | 1966-03-14 | 2016-04-01 |              | YNP01 RA Manager
 2 | Daniel Okafor      | 1984-07-22 | 2019-09-02 |              | YNP01 RA Agent
 3 | Aisha Rahman       | 1990-11-05 | 2020-01-06 |              | YNP01 RA Agent
 4 | Thomas Hargreaves  | 1972-01-30 | 2018-06-11 |              | YNP01 RA ID Checker
 5 | Sophie Brennan     | 1993-06-18 | 2021-03-01 |              | YNP01 Service Desk Analyst
 6 | Richard Ashworth   | 1969-09-09 | 2012-05-14 | GPhC 2041187 | PPG01 Superintendent Pharmacist
 7 | Helen Marsden      | 1975-04-27 | 2015-10-05 |              | PPG01 Area Manager
 8 | Imran Hussain      | 1988-12-12 | 2022-02-07 |              | PPG01 Head Office Administrator
 9 | Priya Shah         | 1986-02-03 | 2017-08-01 | GPhC 2063391 | FLM49 Pharmacist
10 | Gareth Lloyd       | 1979-08-16 | 2014-03-03 | GPhC 5012284 | FLM49 Pharmacy Technician
11 | Chloe Barker       | 1997-05-24 | 2020-07-13 |              | FLM49 Dispenser
12 | Megan Holt         | 2001-10-01 | 2023-06-05 |              | FLM49 Counter Assistant
13 | Oluwaseun Adeyemi  | 1983-03-29 | 2016-01-11 | GPhC 2058712 | FPH27 Pharmacist
14 | Rebecca Stott      | 1991-07-07 | 2018-09-17 | GPhC 5020417 | FPH27 Pharmacy Technician
15 | Jack Pearson       | 1995-01-19 | 2019-11-04 |              | FPH27 Dispenser
16 | Emily Crossley     | 1999-09-30 | 2022-08-22 |              | FPH27 Counter Assistant
17 | Mohammed Iqbal     | 1977-06-11 | 2011-02-28 | GPhC 2036540 | FRK63 Pharmacist
18 | Laura Greenwood    | 1987-11-23 | 2015-05-18 | GPhC 5008873 | FRK63 Pharmacy Technician
19 | Ben Sutcliffe      | 1994-04-04 | 2021-01-04 |              | FRK63 Dispenser
20 | Hannah Firth       | 2000-02-14 | 2023-09-11 |              | FRK63 Counter Assistant
21 | Catherine Doyle    | 1981-12-02 | 2013-07-01 | GPhC 2049926 | FWD18 Pharmacist
22 | Nathan Bairstow    | 1989-03-17 | 2017-04-24 | GPhC 5015530 | FWD18 Pharmacy Technician
23 | Zara Ali           | 1998-08-08 | 2021-10-18 |              | FWD18 Dispenser
24 | Joanne Kershaw     | 1970-05-05 | 2009-09-07 |              | FWD18 Counter Assistant
25 | Andrew Leach       | 1974-10-10 | 2010-03-15 | GPhC 2029814 | FCN84 Pharmacist
26 | Fatima Begum       | 1992-12-20 | 2019-02-25 | GPhC 5024461 | FCN84 Pharmacy Technician
27 | Liam Horsfall      | 1996-06-26 | 2020-11-30 |              | FCN84 Dispenser
28 | Rachel Illingworth | 1985-01-08 | 2016-06-20 |              | FCN84 Counter Assistant
29 | Anil Patel         | 1964-07-31 | 1998-04-01 | GPhC 2011573 | FTA41 Pharmacist
30 | Susan Wade         | 1968-02-21 | 2005-01-10 |              | FTA41 Dispenser
31 | Kirsty Naylor      | 1990-09-13 | 2018-03-26 |              | FTA41 Counter Assistant
32 | Eleanor Pickles    | 1982-04-16 | 2012-09-03 | GPhC 2052208 | FBE72 Pharmacist
33 | Tariq Mahmood      | 1987-05-29 | 2014-11-17 |              | FBE72 Dispenser
34 | Gemma Rhodes       | 1993-11-11 | 2022-04-04 |              | FBE72 Counter Assistant
35 | Joseph Mitchell    | 1976-08-25 | 2008-06-30 | GPhC 2033105 | FHG95 Pharmacist
36 | Amy Lister         | 1999-03-03 | 2021-05-10 |              | FHG95 Dispenser
37 | Dawn Hirst         | 1967-12-28 | 2003-10-13 |              | FHG95 Counter Assistant
38 | Sarah Fenwick      | 1980-06-06 | 2011-08-03 | GMC 6098123  | A81001 GP
39 | Rajesh Kumar       | 1971-02-09 | 2002-02-04 | GMC 4571209  | A81001 GP
40 | Claire Dobson      | 1984-10-19 | 2013-01-14 | NMC 04I2381E | A81001 Practice Nurse
41 | Paul Haigh         | 1973-07-14 | 2010-05-04 |              | A81001 Practice Manager
42 | Lucy Shackleton    | 1998-01-27 | 2022-11-07 |              | A81001 Receptionist
43 | Matthew Brook      | 1988-09-02 | 2020-04-01 | GPhC 2067745 | FRK63 Pharmacist;FBE72 Pharmacist
44 | Dispensing Robot   | 2000-01-01 | 2024-03-04 |              | FLM49 Dispenser
45 | Olivia Turner      | 2002-07-15 | 2026-11-02 |              | FLM49 Counter Assistant
46 | Sam Whitworth      | 1999-04-21 | 2026-11-30 |              | FLM49 Dispenser
"""

# Who is not a plain person (DESIGN §3 kinds): the Hebden Bridge branch's dispensing robot is a
# robotic process account, and its Christmas cover a temporary-access profile.
KINDS = {44: "rpa", 45: "temporary"}


def _post(text: str) -> tuple[str, str]:
    ods_code, position = text.strip().split(" ", 1)
    return ods_code, position


def _parse_staff(table: str) -> tuple[StaffSpec, ...]:
    staff = []
    for row in table.strip().splitlines():
        number, name, born, since, registration, posts = (c.strip() for c in row.split("|"))
        given, family = name.split(" ", 1)
        body, _, reg_number = registration.partition(" ")
        staff.append(
            StaffSpec(
                number=int(number),
                given_name=given,
                family_name=family,
                date_of_birth=dt.date.fromisoformat(born),
                posts=tuple(_post(post) for post in posts.split(";")),
                since=dt.date.fromisoformat(since),
                professional_body=body,
                professional_number=reg_number,
                kind=KINDS.get(int(number), "person"),
            )
        )
    return tuple(staff)


STAFF = _parse_staff(_STAFF_TABLE)


@dataclass(frozen=True)
class PersonaSpec:
    staff_number: int
    right: Right | None
    # Where the right reaches: ("org", ODS code), ("org+children", ODS code), ("ra", RA code)
    # or ("national", "").
    scope: tuple[str, str]
    try_this: str
    # The persona's demo card: "active", "renewal" (certificate in its renewal window), "expired"
    # (certificate past expiry), "locked" (three wrong passcodes) or "none" (no card yet).
    card: str = "active"


# How many days the demo's certificates in and past their renewal window have left (or are past).
RENEWAL_DAYS_LEFT = 30
EXPIRED_DAYS_AGO = 10
# Blank virtual cards for issuing at the RA's workstation: $CIS_DATA_DIR/cards/blank-N.card.
BLANK_CARDS = 3


PERSONAS: tuple[PersonaSpec, ...] = (
    PersonaSpec(
        9,
        Right.LSA,
        ("org", "FLM49"),
        "Unlock cards and renew certificates for the Hebden Bridge branch.",
    ),
    PersonaSpec(
        6,
        Right.SPONSOR,
        ("org+children", HEAD_OFFICE),
        "Raise requests and assign assignable positions across the chain's five branches.",
    ),
    PersonaSpec(
        4,
        Right.ID_CHECKER,
        ("ra", RA_CODE),
        "Record face-to-face identity checks for anyone the RA serves.",
    ),
    PersonaSpec(
        2,
        Right.RA_AGENT,
        ("ra", RA_CODE),
        "Create and verify people, assign positions, issue cards across the RA's area.",
    ),
    PersonaSpec(
        3,
        Right.RA_AGENT_ADVANCED,
        ("ra", RA_CODE),
        "Everything an RA Agent does, plus creating and editing positions.",
    ),
    PersonaSpec(
        1,
        Right.RA_MANAGER,
        ("ra", RA_CODE),
        "Grant and revoke LSA, Sponsor, ID Checker and RA Agent rights in the RA's area.",
    ),
    PersonaSpec(
        5,
        Right.SERVICE_DESK,
        ("national", ""),
        "Manage Registration Authorities and the role catalogue, nationally.",
    ),
    PersonaSpec(
        15,
        None,
        ("", ""),
        "A dispenser at a branch: see your own details, change your contact details.",
    ),
    PersonaSpec(
        38,
        None,
        ("", ""),
        "A GP at the practice: see your own profile and roles.",
    ),
    PersonaSpec(
        43,
        None,
        ("", ""),
        "A locum pharmacist with positions at two organisations: choose a role at sign-in.",
    ),
    PersonaSpec(
        10,
        None,
        ("", ""),
        f"A technician at Hebden Bridge whose certificate expires in {RENEWAL_DAYS_LEFT} days: "
        "renew it yourself.",
        card="renewal",
    ),
    PersonaSpec(
        11,
        None,
        ("", ""),
        f"A dispenser at Hebden Bridge whose certificate expired {EXPIRED_DAYS_AGO} days ago: "
        "only an RA Agent can renew it, with her present.",
        card="expired",
    ),
    PersonaSpec(
        12,
        None,
        ("", ""),
        "A counter assistant at Hebden Bridge whose card is locked: unlock it with a code, or "
        "with the LSA.",
        card="locked",
    ),
    PersonaSpec(
        46,
        None,
        ("", ""),
        "A new dispenser at Hebden Bridge with no card yet: the Sponsor requests one.",
        card="none",
    ),
    PersonaSpec(
        45,
        None,
        ("", ""),
        "Temporary cover at Hebden Bridge (a temporary-access profile).",
    ),
)


@dataclass(frozen=True)
class JourneySpec:
    title: str
    who: str  # the persona(s) to sign in as
    how: str


# What `cis demo` prints: for each journey, who to sign in as and what to do.
JOURNEYS: tuple[JourneySpec, ...] = (
    JourneySpec(
        "A card for a new starter",
        "Richard Ashworth (Sponsor), then Daniel Okafor (RA Agent)",
        "People > search 'Whitworth' > Request a card; the RA Agent approves it under Requests "
        "and presses Issue the card on its page, with cis-agent serve reading blank-1.card; "
        "the request shows Applied.",
    ),
    JourneySpec(
        "Replace a damaged card",
        "Richard Ashworth (Sponsor), then Daniel Okafor (RA Agent)",
        "Gareth Lloyd's page > Request a replacement card; the RA Agent approves it and "
        "presses Replace the card, with blank-2.card in the agent's reader; the request closes.",
    ),
    JourneySpec(
        "Renew in the renewal window",
        "Gareth Lloyd (card holder), or Priya Shah (LSA)",
        "My smartcard > Renew (or the LSA's Certificates expiring list).",
    ),
    JourneySpec(
        "Renew after expiry",
        "Richard Ashworth (Sponsor), then Daniel Okafor (RA Agent)",
        "Chloe Barker's page > Request renewal of an expired certificate; the RA Agent approves "
        "it and presses Renew the certificate on its page, with her card in the agent's reader; "
        "the request closes.",
    ),
    JourneySpec(
        "Unlock a locked card",
        "Megan Holt (card holder), or Priya Shah (LSA)",
        "My smartcard > Unlock it with a code (sent to var/sms.jsonl), or the LSA's Locked "
        "cards with Megan present.",
    ),
    JourneySpec(
        "Resolve an escalation",
        "Sophie Brennan (service desk), or Margaret Whitfield (RA Manager)",
        "Requests > Escalated > a request > Reassign to an RA Agent, comment, approve or reject; "
        "the RA Agent then approves it.",
    ),
    JourneySpec(
        "Register a new person",
        "Richard Ashworth (Sponsor), then Daniel Okafor (RA Agent)",
        "Raise a request > Register a new person; the RA Agent approves it, recording the "
        "identity check (or approving in part, with a reason).",
    ),
    JourneySpec(
        "Sign in to a clinical system",
        "Matthew Brook (card holder, two positions)",
        "Open http://127.0.0.1:8001 > Sign in with NHS Care Identity > choose a role.",
    ),
)
