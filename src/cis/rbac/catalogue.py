"""The national RBAC catalogue: loading its data file and the service desk's edits, each a version.

Codes never change and entries are never deleted: an entry leaves the catalogue by being retired,
which stops it being put on new positions but leaves every existing position (and the claims
built from it) exactly as it was. A change to a job role's baseline applies to positions created
from then on; existing positions keep the activities they were given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction

from cis.audit.trail import record
from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.core import clock
from cis.core.errors import Conflict, InvalidState, NotFound, ValidationFailed

from .models import Activity, AreaOfWork, CatalogueVersion, JobRole

CATALOGUE_FILE = Path(__file__).parent / "data" / "catalogue.json"

SHAPES = {
    "job_role": (re.compile(r"^R[0-9]{4}$"), "R and four digits, e.g. R8000"),
    "activity": (re.compile(r"^B[0-9]{4}$"), "B and four digits, e.g. B0825"),
    "area_of_work": (re.compile(r"^T[0-9]{4}$"), "T and four digits, e.g. T0640"),
    "sector": (re.compile(r"^S[0-9]{4}$"), "S and four digits, e.g. S8000"),
    "group": (re.compile(r"^G[0-9]{4}$"), "G and four digits, e.g. G8000"),
}
KINDS: dict[str, type[JobRole | Activity | AreaOfWork]] = {
    "job_role": JobRole,
    "activity": Activity,
    "area_of_work": AreaOfWork,
}
KIND_WORDS = {"job_role": "job role", "activity": "activity", "area_of_work": "area of work"}


def check_code(kind: str, value: str, *, field_name: str = "code", blank: bool = False) -> str:
    code = value.strip().upper()
    if blank and not code:
        return ""
    pattern, shape = SHAPES[kind]
    if not pattern.fullmatch(code):
        raise ValidationFailed(
            f"'{value}' is not a {KIND_WORDS.get(kind, kind)} code: use {shape}.",
            field=field_name,
        )
    return code


@dataclass(frozen=True)
class CatalogueLoad:
    label: str
    version: int | None  # None when the file matched the catalogue and nothing changed
    created: int = 0
    updated: int = 0
    retired: int = 0
    changes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def unchanged(self) -> bool:
        return self.version is None


# Reading and checking the data file


def _entries(data: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    entries = data.get(key)
    if not isinstance(entries, list):
        raise ValidationFailed(f"The catalogue file has no list '{key}'.")
    return [dict(e) for e in entries]


def read_catalogue(path: Path) -> dict[str, Any]:
    """The data file, checked whole before anything is written: codes, names, references."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise NotFound(f"No catalogue file at {path}.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"The catalogue file is not valid JSON: {exc}.") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).strip():
        raise ValidationFailed("The catalogue file has no 'version'.")
    sources = data.get("sources", {})
    if not isinstance(sources, dict):
        raise ValidationFailed("The catalogue file's 'sources' must be an object.")
    problems: list[str] = []
    seen: dict[str, set[str]] = {}
    for key, kind in (
        ("areas_of_work", "area_of_work"),
        ("activities", "activity"),
        ("job_roles", "job_role"),
    ):
        codes: set[str] = set()
        for entry in _entries(data, key):
            code = str(entry.get("code", ""))
            try:
                check_code(kind, code)
            except ValidationFailed as exc:
                problems.append(exc.message)
                continue
            if code in codes:
                problems.append(f"{code} appears twice in '{key}'.")
            codes.add(code)
            if not str(entry.get("name", "")).strip():
                problems.append(f"{code} has no name.")
            unknown = set(entry.get("sources", [])) - set(sources)
            unknown |= set(entry.get("baseline_sources", [])) - set(sources)
            if unknown:
                problems.append(f"{code} cites unknown sources: {', '.join(sorted(unknown))}.")
        seen[key] = codes
    for entry in _entries(data, "activities"):
        missing = set(entry.get("includes", [])) - seen["activities"]
        if missing:
            problems.append(
                f"Activity {entry.get('code')} includes unknown activities: "
                f"{', '.join(sorted(missing))}."
            )
    for entry in _entries(data, "job_roles"):
        missing = set(entry.get("baseline", [])) - seen["activities"]
        if missing:
            problems.append(
                f"Job role {entry.get('code')} names unknown activities: "
                f"{', '.join(sorted(missing))}."
            )
        for part, kind in (("sector", "sector"), ("group", "group")):
            try:
                check_code(kind, str(entry.get(part, "")), field_name=part, blank=True)
            except ValidationFailed as exc:
                problems.append(f"Job role {entry.get('code')}: {exc.message}")
        if bool(entry.get("sector")) != bool(entry.get("group")):
            problems.append(
                f"Job role {entry.get('code')} needs both a sector and a group, or neither."
            )
    if problems:
        raise ValidationFailed(
            f"The catalogue file has {len(problems)} problem(s): " + " ".join(problems[:10])
        )
    return dict(data)


# Versions


def _new_version(
    actor: Actor, label: str, summary: Mapping[str, Any], sources: Any
) -> CatalogueVersion:
    latest = CatalogueVersion.objects.select_for_update().order_by("-number").first()
    ref = getattr(actor, "audit_ref", None) or getattr(actor, "user_id", "")
    name = getattr(actor, "audit_name", None) or getattr(actor, "full_name", "")
    try:
        with transaction.atomic():
            return CatalogueVersion.objects.create(
                number=(latest.number + 1) if latest else 1,
                label=label[:80],
                made_at=clock.now(),
                made_by_ref=str(ref)[:40],
                made_by_name=str(name)[:200],
                summary=dict(summary),
                sources=sources or (latest.sources if latest else {}),
            )
    except IntegrityError:
        raise Conflict(
            "Someone else changed the catalogue at the same moment. Look again and repeat."
        ) from None


def current_version() -> CatalogueVersion | None:
    return CatalogueVersion.objects.order_by("-number").first()


# Loading the file


def _group_names(data: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    sectors = {s["code"]: s.get("name", "") for s in data.get("sectors", [])}
    groups = {g["code"]: g.get("name", "") for g in data.get("groups", [])}
    return sectors, groups


def _wanted(data: Mapping[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """What each entry should look like once loaded: field -> value, per kind and code."""
    sectors, groups = _group_names(data)
    wanted: dict[str, dict[str, dict[str, Any]]] = {
        "area_of_work": {},
        "activity": {},
        "job_role": {},
    }
    for entry in _entries(data, "areas_of_work"):
        wanted["area_of_work"][entry["code"]] = _common(entry)
    for entry in _entries(data, "activities"):
        wanted["activity"][entry["code"]] = {
            **_common(entry),
            "includes": sorted(entry.get("includes", [])),
        }
    for entry in _entries(data, "job_roles"):
        sector, group = entry.get("sector", ""), entry.get("group", "")
        wanted["job_role"][entry["code"]] = {
            **_common(entry),
            "sector_code": sector,
            "sector_name": sectors.get(sector, ""),
            "group_code": group,
            "group_name": groups.get(group, ""),
            "baseline": sorted(entry.get("baseline", [])),
        }
    return wanted


def _common(entry: Mapping[str, Any]) -> dict[str, Any]:
    cited = [*entry.get("sources", []), *entry.get("baseline_sources", [])]
    return {
        "name": " ".join(str(entry["name"]).split()),
        "note": str(entry.get("note", ""))[:500],
        "sources": sorted(set(cited)),
        "retired": False,
    }


def _held(kind: str, obj: Any) -> dict[str, Any]:
    held = {
        "name": obj.name,
        "note": obj.note,
        "sources": sorted(obj.sources),
        "retired": obj.retired,
    }
    if kind == "activity":
        held["includes"] = sorted(a.code for a in obj.includes.all())
    if kind == "job_role":
        held.update(
            sector_code=obj.sector_code,
            sector_name=obj.sector_name,
            group_code=obj.group_code,
            group_name=obj.group_name,
            baseline=sorted(a.code for a in obj.baseline_activities.all()),
        )
    return held


_LINKS = {"includes", "baseline"}


@transaction.atomic
def catalogue_load(*, actor: Actor, path: Path = CATALOGUE_FILE) -> CatalogueLoad:
    """Bring the catalogue to the file: a new version if anything differs, nothing otherwise.

    Entries gone from the file are retired, never deleted; an entry back in the file returns.
    """
    decision = require(actor, Action.CATALOGUE_MANAGE)
    data = read_catalogue(path)
    label = str(data["version"]).strip()
    wanted = _wanted(data)
    changes: dict[str, list[str]] = {"created": [], "updated": [], "retired": []}
    plan: list[tuple[str, str, dict[str, Any] | None, Any]] = []
    for kind, model in KINDS.items():
        existing = {o.code: o for o in model.objects.all()}
        for code, entry in wanted[kind].items():
            obj = existing.get(code)
            if obj is None:
                changes["created"].append(code)
                plan.append((kind, code, entry, None))
            elif _held(kind, obj) != entry:
                changes["updated"].append(code)
                plan.append((kind, code, entry, obj))
        for code, obj in existing.items():
            if code not in wanted[kind] and not obj.retired:
                changes["retired"].append(code)
                plan.append((kind, code, None, obj))
    if not plan:
        return CatalogueLoad(label=label, version=None)
    version = _new_version(
        actor, label, {k: v for k, v in changes.items() if v}, data.get("sources", {})
    )
    links: list[tuple[str, Any, dict[str, Any]]] = []
    for kind, code, fields, obj in plan:
        model = KINDS[kind]
        if fields is None:
            obj.retired = True
            obj.version = version
            obj.save(update_fields=["retired", "version", "updated_at"])
            continue
        plain = {k: v for k, v in fields.items() if k not in _LINKS}
        if obj is None:
            saved = model.objects.create(code=code, version=version, **plain)
        else:
            for key, value in plain.items():
                setattr(obj, key, value)
            obj.version = version
            obj.save()
            saved = obj
        links.append((kind, saved, fields))
    activities = {a.code: a for a in Activity.objects.all()}
    for kind, obj, fields in links:  # after every activity exists
        if kind == "activity":
            obj.includes.set([activities[c] for c in fields["includes"]])
        elif kind == "job_role":
            obj.baseline_activities.set([activities[c] for c in fields["baseline"]])
    result = CatalogueLoad(
        label=label,
        version=version.number,
        created=len(changes["created"]),
        updated=len(changes["updated"]),
        retired=len(changes["retired"]),
        changes=changes,
    )
    record(
        actor=actor,
        rule=decision.rule,
        action=Action.CATALOGUE_MANAGE,
        target_type="catalogue",
        target_ref=f"v{version.number}",
        after={"file": label, **{k: v for k, v in changes.items() if v}},
    )
    return result


# The service desk's edits


def _snapshot(kind: str, obj: Any) -> dict[str, Any]:
    return {"code": obj.code, **_held(kind, obj)}


def _activities(codes: Sequence[str], *, field_name: str) -> list[Activity]:
    wanted = [check_code("activity", c, field_name=field_name) for c in codes if c.strip()]
    found = {a.code: a for a in Activity.objects.filter(code__in=wanted, retired=False)}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise ValidationFailed(
            f"Not in the catalogue (or retired): {', '.join(missing)}.", field=field_name
        )
    return [found[c] for c in dict.fromkeys(wanted)]


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValidationFailed(
            "Enter the name as the national RBAC database gives it.", field="name"
        )
    if len(cleaned) > 200:
        raise ValidationFailed("The name is too long (200 characters).", field="name")
    return cleaned


def _audit_edit(
    actor: Actor, rule: str, kind: str, obj: Any, before: Any, *, version: CatalogueVersion
) -> None:
    record(
        actor=actor,
        rule=rule,
        action=Action.CATALOGUE_MANAGE,
        target_type=f"catalogue.{kind}",
        target_ref=obj.code,
        before=before or {},
        after={**_snapshot(kind, obj), "version": version.number},
    )


@transaction.atomic
def catalogue_entry_save(
    *,
    actor: Actor,
    kind: str,
    code: str,
    name: str,
    note: str = "",
    sources: Sequence[str] = (),
    sector_code: str = "",
    sector_name: str = "",
    group_code: str = "",
    group_name: str = "",
    baseline: Sequence[str] | None = None,
    includes: Sequence[str] | None = None,
) -> JobRole | Activity | AreaOfWork:
    """Add an entry, or change one's name, note, sources, full code parts and links.

    A job role's new baseline applies to positions made from now on; an existing position keeps
    its own activities. Retired entries are changed only by reinstating them first.
    """
    decision = require(actor, Action.CATALOGUE_MANAGE)
    if kind not in KINDS:
        raise ValidationFailed(f"'{kind}' is not a kind of catalogue entry.", field="kind")
    model = KINDS[kind]
    code = check_code(kind, code)
    name = _clean_name(name)
    obj = model.objects.select_for_update().filter(code=code).first()
    if obj is not None and obj.retired:
        raise InvalidState(f"{code} is retired; reinstate it before changing it.")
    before = _snapshot(kind, obj) if obj is not None else None
    values: dict[str, Any] = {
        "name": name,
        "note": " ".join(note.split())[:500],
        "sources": sorted({s.strip() for s in sources if s.strip()}),
    }
    linked: list[Activity] | None = None
    if kind == "job_role":
        sector = check_code("sector", sector_code, field_name="sector_code", blank=True)
        group = check_code("group", group_code, field_name="group_code", blank=True)
        if bool(sector) != bool(group):
            raise ValidationFailed(
                "Give both the sector and the group code, or neither.", field="group_code"
            )
        values.update(
            sector_code=sector,
            sector_name=" ".join(sector_name.split())[:100],
            group_code=group,
            group_name=" ".join(group_name.split())[:100],
        )
        if baseline is not None:
            linked = _activities(baseline, field_name="baseline")
    if kind == "activity" and includes is not None:
        linked = _activities(includes, field_name="includes")
        if any(a.code == code for a in linked):
            raise ValidationFailed("An activity cannot include itself.", field="includes")
    if obj is not None and before is not None:
        unchanged = all(before.get(k) == v for k, v in values.items())
        if unchanged and (
            linked is None
            or sorted(a.code for a in linked)
            == before.get("baseline" if kind == "job_role" else "includes")
        ):
            raise ValidationFailed(f"Nothing to change: {code} is already like this.")
    version = _new_version(actor, "edit", {"saved": [code]}, None)
    if obj is None:
        obj = model.objects.create(code=code, version=version, **values)
    else:
        for key, value in values.items():
            setattr(obj, key, value)
        obj.version = version
        obj.save()
    if linked is not None:
        if isinstance(obj, JobRole):
            obj.baseline_activities.set(linked)
        elif isinstance(obj, Activity):
            obj.includes.set(linked)
    _audit_edit(actor, decision.rule, kind, obj, before, version=version)
    return obj


@transaction.atomic
def catalogue_entry_retire(*, actor: Actor, kind: str, code: str, retire: bool = True) -> Any:
    """Retire an entry (no new positions may use it) or reinstate it; positions keep theirs."""
    decision = require(actor, Action.CATALOGUE_MANAGE)
    if kind not in KINDS:
        raise ValidationFailed(f"'{kind}' is not a kind of catalogue entry.", field="kind")
    code = check_code(kind, code)
    obj = KINDS[kind].objects.select_for_update().filter(code=code).first()
    if obj is None:
        raise NotFound(f"There is no {KIND_WORDS[kind]} {code} in the catalogue.")
    if obj.retired == retire:
        raise InvalidState(f"{code} is already {'retired' if retire else 'in use'}.")
    before = _snapshot(kind, obj)
    version = _new_version(actor, "edit", {"retired" if retire else "reinstated": [code]}, None)
    obj.retired = retire
    obj.version = version
    obj.save(update_fields=["retired", "version", "updated_at"])
    _audit_edit(actor, decision.rule, kind, obj, before, version=version)
    return obj
