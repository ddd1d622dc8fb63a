"""The personas file: who to sign in as in the demo, with which card and passcode."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings

from cis.organisations.models import Organisation
from cis.people.models import Person
from cis.rights.models import Right

from . import cast

PERSONAS_FILE = "demo-personas.json"
CARD_HOLDER = "Card holder"


def personas_path() -> Path:
    return Path(settings.DATA_DIR) / PERSONAS_FILE


def card_spec(user_id: str) -> str:
    """The agent's SPEC for a persona's virtual card (the card files come with the cards issue)."""
    return f"virtual:{Path(settings.DATA_DIR).resolve() / 'cards' / f'{user_id}.card'}"


def _scope_label(persona: cast.PersonaSpec, orgs: dict[str, Organisation]) -> str:
    kind, key = persona.scope
    if kind == "org":
        return f"{orgs[key].name} ({key})"
    if kind == "org+children":
        return f"{orgs[key].name} ({key}) and its child organisations"
    if kind == "ra":
        return f"every organisation served by {cast.RA_NAME}"
    if kind == "national":
        return "national"
    return "own record"


def persona_records() -> list[dict[str, Any]]:
    """One record per persona, in the order of the cast, from what the database holds now."""
    staff = {spec.number: spec for spec in cast.STAFF}
    people = {
        p.user_id: p for p in Person.objects.filter(user_id__in=[s.user_id for s in cast.STAFF])
    }
    orgs = {o.ods_code: o for o in Organisation.objects.all()}
    records = []
    for persona in cast.PERSONAS:
        spec = staff[persona.staff_number]
        person = people[spec.user_id]
        records.append(
            {
                "name": person.full_name,
                "role": Right(persona.right).label if persona.right else CARD_HOLDER,
                "user_id": person.user_id,
                "card": card_spec(person.user_id) if persona.card != "none" else None,
                "card_state": persona.card,
                "passcode": cast.DEMO_PASSCODE,
                "right": persona.right.value if persona.right else None,
                "scope": _scope_label(persona, orgs),
                "positions": [
                    f"{position} at {orgs[ods_code].name} ({ods_code})"
                    for ods_code, position in spec.posts
                ],
                "try": persona.try_this,
            }
        )
    return records


def write_personas(records: list[dict[str, Any]]) -> Path:
    """Write the file whole, so that a reader never sees half of it."""
    path = personas_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(records, indent=2) + "\n")
    os.replace(partial, path)
    return path
