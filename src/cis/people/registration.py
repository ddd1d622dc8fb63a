"""Professional registration numbers, checked in the shape each regulator issues them.

- GMC (doctors): a 7-digit reference number.
- GPhC (pharmacists and pharmacy technicians): a 7-digit registration number.
- NMC (nurses, midwives, nursing associates): an 8-character PIN, two digits, a letter,
  four digits and a letter (e.g. 12A3456E).
- HCPC (allied health professions): the profession's letters and digits (PH123456 for a
  physiotherapist, PA12345 for a paramedic).
"""

from __future__ import annotations

import re

from cis.core.errors import ValidationFailed

BODIES: dict[str, tuple[str, re.Pattern[str], str]] = {
    "GMC": ("General Medical Council", re.compile(r"^[0-9]{7}$"), "7 digits, e.g. 1234567"),
    "GPhC": (
        "General Pharmaceutical Council",
        re.compile(r"^[0-9]{7}$"),
        "7 digits, e.g. 2012345",
    ),
    "NMC": (
        "Nursing and Midwifery Council",
        re.compile(r"^[0-9]{2}[A-Z][0-9]{4}[A-Z]$"),
        "two digits, a letter, four digits and a letter, e.g. 12A3456E",
    ),
    "HCPC": (
        "Health and Care Professions Council",
        # The register's profession prefixes: arts therapists AS, biomedical scientists BS,
        # chiropodists CH, clinical scientists CS, dietitians DT, hearing aid dispensers HAD,
        # operating department practitioners ODP, orthoptists OR, occupational therapists OT,
        # paramedics PA, physiotherapists PH, prosthetists PO, psychologists PYL,
        # radiographers RA, speech and language therapists SL.
        re.compile(r"^(AS|BS|CH|CS|DT|HAD|ODP|OR|OT|PA|PH|PO|PYL|RA|SL)[0-9]{5,6}$"),
        "the profession's letters and 5 or 6 digits, e.g. PH123456",
    ),
}
_BY_NAME = {key.casefold(): key for key in BODIES} | {
    title.casefold(): key for key, (title, _, _) in BODIES.items()
}


def check_registration(body: str, number: str) -> tuple[str, str]:
    """(body code, number) cleaned, or a ValidationFailed naming the field and the shape."""
    body, number = body.strip(), re.sub(r"[\s-]", "", number).upper()
    if not body and not number:
        return "", ""
    if not body:
        raise ValidationFailed(
            "Choose the professional body (GMC, GPhC, NMC or HCPC) for the registration number.",
            field="professional_body",
        )
    key = _BY_NAME.get(body.casefold())
    if key is None:
        raise ValidationFailed(
            f"'{body}' is not a professional body CIS checks: use GMC, GPhC, NMC or HCPC.",
            field="professional_body",
        )
    if not number:
        raise ValidationFailed(f"Enter the {key} registration number.", field="professional_number")
    title, shape, example = BODIES[key]
    if not shape.fullmatch(number):
        raise ValidationFailed(
            f"This is not a {key} ({title}) registration number: use {example}.",
            field="professional_number",
        )
    return key, number
