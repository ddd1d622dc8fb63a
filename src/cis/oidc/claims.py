"""The claims CIS asserts about a person, their positions, the selected role and the sign-in.

Names follow NHS CIS2 Authentication (nhsid_useruid, nhsid_nrbac_roles, nhsid_user_orgs,
selected_roleid, id_assurance_level) so that systems built for CIS2 read them unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cis.authz.scope import active_assignments
from cis.people.models import Person
from cis.rbac.models import JobRole, PositionAssignment
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
        return f"{role['sector_code']}:{role['group_code']}:{role['code']}"

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


def role_claims(person: Person) -> list[dict[str, Any]]:
    """Every current position of a person, in two flat queries whatever their number.

    This runs for every token and userinfo call, so it reads values, not model instances: the
    positions with their own activities, then their job roles with the roles' baseline
    activities (a row per activity, joined outward, so a role without any still shows).
    """
    positions: dict[int, dict[str, Any]] = {}  # by assignment id, in display order
    own: dict[int, dict[str, str]] = {}  # position id -> activity code -> name
    for (
        assignment_id,
        position_id,
        position_name,
        workgroups,
        ods_code,
        org_name,
        activity_code,
        activity_name,
    ) in (
        PositionAssignment.objects.filter(active_assignments(), person=person)
        .order_by("position__organisation__name", "position__name", "id")
        .values_list(
            "id",
            "position_id",
            "position__name",
            "position__workgroups",
            "position__organisation__ods_code",
            "position__organisation__name",
            "position__activities__code",
            "position__activities__name",
        )
    ):
        positions.setdefault(
            assignment_id,
            {
                "position_id": position_id,
                "name": position_name,
                "workgroups": workgroups,
                "organisation__ods_code": ods_code,
                "organisation__name": org_name,
            },
        )
        activities = own.setdefault(position_id, {})
        if activity_code is not None:
            activities[activity_code] = activity_name
    roles_by_position: dict[int, dict[int, dict[str, str]]] = {}
    baseline: dict[int, dict[str, str]] = {}  # job role id -> activity code -> name
    if own:
        for pos_id, role_id, code, name, sector, group, activity_code, activity_name in (
            JobRole.objects.filter(positions__in=list(own))
            .order_by()
            .values_list(
                "positions",
                "id",
                "code",
                "name",
                "sector_code",
                "group_code",
                "baseline_activities__code",
                "baseline_activities__name",
            )
        ):
            roles_by_position.setdefault(pos_id, {})[role_id] = {
                "code": code,
                "name": name,
                "sector_code": sector,
                "group_code": group,
            }
            role_activities = baseline.setdefault(role_id, {})
            if activity_code is not None:
                role_activities[activity_code] = activity_name
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
