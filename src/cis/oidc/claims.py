"""The claims CIS asserts about a person, their positions, the selected role and the sign-in.

Names follow NHS CIS2 Authentication (nhsid_useruid, nhsid_nrbac_roles, nhsid_user_orgs,
selected_roleid, id_assurance_level) so that systems built for CIS2 read them unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from django.db.models import Model

from cis.authz.scope import active_assignments_query
from cis.core import sql
from cis.organisations.models import Organisation
from cis.people.models import Person
from cis.rbac.models import Activity, JobRole, Position, PositionAssignment, job_role_full_code
from cis.signin.models import SignInSession

from .constants import CLAIM_SCOPES


def _role_entry(
    assignment_id: int,
    position: dict[str, Any],
    roles: list[dict[str, str]],
    activities: dict[str, str],
) -> dict[str, Any]:
    """One position as CIS2's nhsid_nrbac_roles entry: organisation, job role, activities."""
    roles = sorted(roles, key=lambda r: r["code"])
    primary = roles[0] if roles else None
    codes = sorted(activities)

    def full(role: dict[str, str]) -> str:
        return job_role_full_code(role["sector_code"], role["group_code"], role["code"])

    return {
        "person_roleid": str(assignment_id),
        "org_code": position["organisation__ods_code"],
        "org_name": position["organisation__name"],
        "role_code": full(primary) if primary else "",
        "role_name": primary["name"] if primary else position["name"],
        "position_name": position["name"],
        "job_role_codes": [full(r) for r in roles],
        "activity_codes": codes,
        "activities": [activities[c] for c in codes],
        "workgroups": list(position["workgroups"] or []),
    }


def _through(model: type[Model], field: str) -> tuple[str, str, str]:
    """A many-to-many field's table and its two id columns (this side's, the other side's)."""
    relation = model._meta.get_field(field)
    through = relation.remote_field.through  # type: ignore[union-attr]
    source = relation.m2m_column_name()  # type: ignore[union-attr]
    target = relation.m2m_reverse_name()  # type: ignore[union-attr]
    return sql.table(through), f'"{source}"', f'"{target}"'


# What the claims read of each active assignment (a), its position (p) and organisation (o).
_MINE_COLUMNS = ", ".join(
    [
        f"a.{sql.column(PositionAssignment, 'id')} AS assignment_id",
        f"p.{sql.column(Position, 'id')} AS position_id",
        f"p.{sql.column(Position, 'name')} AS position_name",
        f"p.{sql.column(Position, 'workgroups')} AS workgroups",
        f"o.{sql.column(Organisation, 'ods_code')} AS ods_code",
        f"o.{sql.column(Organisation, 'name')} AS org_name",
    ]
)


@cache
def _role_claims_sql() -> str:
    """Positions with their own activities, then their job roles with baseline activities.

    One statement (two UNION ALL halves told apart by the first column) where the ORM needed
    two, written out because composing them cost twenty times more than running them (see
    cis.core.sql). Which assignments count is authz's own statement of active_assignments()
    (active_assignments_query). Each half is a row per activity, joined outward so that a
    position or role without any still shows.
    """
    pa, pa_position, pa_activity = _through(Position, "activities")
    pj, pj_position, pj_role = _through(Position, "job_roles")
    jb, jb_role, jb_activity = _through(JobRole, "baseline_activities")
    activity, role = sql.table(Activity), sql.table(JobRole)
    act_code, act_name = sql.column(Activity, "code"), sql.column(Activity, "name")

    def r(field: str) -> str:
        return f"r.{sql.column(JobRole, field)}"

    mine, _ = active_assignments_query(0, _MINE_COLUMNS)
    return (
        f"WITH mine AS ({mine})"  # noqa: S608 - names from the models, values as parameters
        " SELECT 0, m.assignment_id, m.position_id, m.position_name, m.workgroups, m.ods_code,"
        f" m.org_name, NULL, NULL, NULL, NULL, NULL, act.{act_code}, act.{act_name} FROM mine m"
        f" LEFT JOIN {pa} pa ON pa.{pa_position} = m.position_id"
        f" LEFT JOIN {activity} act ON act.{sql.column(Activity, 'id')} = pa.{pa_activity}"
        " UNION ALL"
        f" SELECT 1, NULL, held.position_id, NULL, NULL, NULL, NULL, {r('id')}, {r('code')},"
        f" {r('name')}, {r('sector_code')}, {r('group_code')}, act.{act_code}, act.{act_name}"
        " FROM (SELECT DISTINCT position_id FROM mine) held"
        f" JOIN {pj} pj ON pj.{pj_position} = held.position_id"
        f" JOIN {role} r ON {r('id')} = pj.{pj_role}"
        f" LEFT JOIN {jb} jb ON jb.{jb_role} = {r('id')}"
        f" LEFT JOIN {activity} act ON act.{sql.column(Activity, 'id')} = jb.{jb_activity}"
        " ORDER BY 1, 7, 4, 2"  # the positions by organisation, name and assignment
    )


def role_claims(person: Person) -> list[dict[str, Any]]:
    """Every current position of a person, in one flat query whatever their number.

    This runs for every token and userinfo call, so it reads plain rows, not model instances.
    """
    connection = sql.connection()
    _, values = active_assignments_query(person.pk, _MINE_COLUMNS)
    workgroups_field = Position._meta.get_field("workgroups")
    workgroups_column = workgroups_field.get_col("p")  # as the ORM would read it
    rows = sql.rows(_role_claims_sql(), values)
    positions: dict[int, dict[str, Any]] = {}  # by assignment id, in display order
    own: dict[int, dict[str, str]] = {}  # position id -> activity code -> name
    roles_by_position: dict[int, dict[int, dict[str, str]]] = {}
    baseline: dict[int, dict[str, str]] = {}  # job role id -> activity code -> name
    for (
        kind,
        assignment_id,
        position_id,
        position_name,
        workgroups,
        ods_code,
        org_name,
        role_id,
        code,
        name,
        sector,
        group,
        activity_code,
        activity_name,
    ) in rows:
        if kind == 0:
            if assignment_id not in positions:
                positions[assignment_id] = {
                    "position_id": position_id,
                    "name": position_name,
                    "workgroups": workgroups_field.from_db_value(
                        workgroups, workgroups_column, connection
                    ),
                    "organisation__ods_code": ods_code,
                    "organisation__name": org_name,
                }
            activities = own.setdefault(position_id, {})
        else:
            roles_by_position.setdefault(position_id, {})[role_id] = {
                "code": code,
                "name": name,
                "sector_code": sector,
                "group_code": group,
            }
            activities = baseline.setdefault(role_id, {})
        if activity_code is not None:
            activities[activity_code] = activity_name
    entries = []
    for assignment_id, position in positions.items():
        by_id = roles_by_position.get(position["position_id"], {})
        activities = dict(own[position["position_id"]])
        for role_id in by_id:
            for code, name in baseline[role_id].items():
                activities.setdefault(code, name)
        entries.append(_role_entry(assignment_id, position, list(by_id.values()), activities))
    return entries


# Scopes whose claims are made from the person's positions; without one, they are not read.
ROLE_SCOPES = frozenset({"associatedorgs", "nationalrbacaccess", "selectedrole"})


def all_claims(
    person: Person, session: SignInSession | None, scopes: Iterable[str] | None = None
) -> dict[str, Any]:
    """Every claim CIS can make; scopes decide which are released (see released()).

    Given the granted scopes, the position claims are left out when none of them releases any.
    """
    roles = role_claims(person) if scopes is None or ROLE_SCOPES & set(scopes) else []
    orgs: dict[str, str] = {}
    for role in roles:
        orgs.setdefault(role["org_code"], role["org_name"])
    claims: dict[str, Any] = {
        "sub": person.user_id,
        "uid": person.user_id,
        "nhsid_useruid": person.user_id,
        "name": person.full_name,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "id_assurance_level": int(person.assurance_level),
        "nhsid_nrbac_roles": roles,
        "nhsid_user_orgs": [{"org_code": c, "org_name": n} for c, n in sorted(orgs.items())],
    }
    if person.professional_body and person.professional_number:
        claims["professional_registration"] = {
            "body": person.professional_body,
            "number": person.professional_number,
        }
    if person.email and person.email_verified_at is not None:
        claims["email"] = person.email
        claims["email_verified"] = True
    if session is not None:
        claims["acr"] = session.acr
        claims["amr"] = list(session.amr)
        claims["auth_time"] = int(session.auth_time.timestamp())
        claims["sid"] = str(session.ref)
        claims["authentication_assurance_level"] = session.acr.removeprefix("AAL")
        selected = next(
            (r for r in roles if r["person_roleid"] == str(session.selected_assignment_id)), None
        )
        if selected is not None:
            claims["selected_roleid"] = selected["person_roleid"]
            claims["selected_role"] = selected
    return claims


def released(claims: dict[str, Any], scopes: Iterable[str]) -> dict[str, Any]:
    granted = set(scopes)
    return {k: v for k, v in claims.items() if CLAIM_SCOPES.get(k, frozenset()) & granted}
