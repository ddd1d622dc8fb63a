"""What each CIS right covers: the organisations (and RAs) an actor's grants reach today."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Set
from functools import cached_property
from typing import Any, NamedTuple

from django.db import connections, router
from django.db.models import Model, Q

from cis.core import clock, context
from cis.organisations.models import Organisation, OrganisationStatus
from cis.people.models import Person, PersonStatus
from cis.rbac.models import PositionAssignment, PositionStatus
from cis.rights.models import Right, RightGrant

# What each right carries: the higher rights include the lower ones (DESIGN §2).
INCLUDES: dict[Right, frozenset[Right]] = {
    Right.LSA: frozenset({Right.LSA}),
    Right.SPONSOR: frozenset({Right.LSA, Right.SPONSOR}),
    Right.ID_CHECKER: frozenset({Right.ID_CHECKER}),
    Right.RA_AGENT: frozenset({Right.LSA, Right.SPONSOR, Right.ID_CHECKER, Right.RA_AGENT}),
    Right.RA_AGENT_ADVANCED: frozenset(
        {Right.LSA, Right.SPONSOR, Right.ID_CHECKER, Right.RA_AGENT, Right.RA_AGENT_ADVANCED}
    ),
    Right.RA_MANAGER: frozenset(
        {
            Right.LSA,
            Right.SPONSOR,
            Right.ID_CHECKER,
            Right.RA_AGENT,
            Right.RA_AGENT_ADVANCED,
            Right.RA_MANAGER,
        }
    ),
    Right.SERVICE_DESK: frozenset({Right.SERVICE_DESK}),
}

# The policy runs inside every write, and what it reads is small: an actor's grants, where a
# person works, the organisations below one. Built through the ORM, each of these lookups cost
# twenty times more to compose and compile than to run (about 0.5 ms against 25 us on SQLite, in
# the issuance benchmark), so they are written out here in SQL that SQLite and PostgreSQL both
# read. active_assignments() below stays the definition that lists filter with;
# tests/authz/test_scope_queries.py checks that the two agree on every kind of row.

# What a decision reads of a grant; any other field loads from the database if someone asks.
GRANT_FIELDS = ("id", "person", "right", "organisation", "include_children", "ra")
_GRANT_COLUMNS = [f for f in RightGrant._meta.concrete_fields if f.name in GRANT_FIELDS]

_GRANT_SELECT = ", ".join(f'"{f.column}"' for f in _GRANT_COLUMNS)  # model order, for from_db()
GRANTS_SQL = (
    f'SELECT {_GRANT_SELECT} FROM "rights_rightgrant"'  # noqa: S608 - names from the model
    ' WHERE "person_id" = %s AND "revoked_at" IS NULL'
    ' AND "start_date" <= %s AND ("end_date" IS NULL OR "end_date" >= %s) ORDER BY "id"'
)

# active_assignments() for one person on one day, as plain SQL: the assignment as a, its
# position as p and the position's organisation as o. Sign-in and the OIDC claims select other
# columns of the same rows (active_assignments_query), so the rule is written here only.
_ACTIVE_ASSIGNMENTS_FROM = (
    ' FROM "rbac_positionassignment" a'
    ' JOIN "rbac_position" p ON p."id" = a."position_id"'
    ' JOIN "organisations_organisation" o ON o."id" = p."organisation_id"'
    ' WHERE a."person_id" = %s AND a."start_date" <= %s'
    ' AND (a."end_date" IS NULL OR a."end_date" >= %s) AND p."status" = %s AND o."status" = %s'
)
WORKPLACES_SQL = 'SELECT o."id", o."serving_ra_id", o."ods_code"' + _ACTIVE_ASSIGNMENTS_FROM

# UNION (not UNION ALL) also ends the walk should parent links ever form a loop.
DESCENDANTS_SQL = (
    'WITH RECURSIVE below(id) AS (SELECT "id" FROM "organisations_organisation"'
    ' WHERE "parent_id" IN ({marks}) UNION SELECT o."id" FROM "organisations_organisation" o'
    ' JOIN below b ON o."parent_id" = b.id) SELECT id FROM below'
)


def _fetch(model: type[Model], sql: str, params: list[Any]) -> tuple[str, list[tuple[Any, ...]]]:
    """Run one read on the model's database; its alias and the rows."""
    connection = connections[router.db_for_read(model)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return connection.alias, cursor.fetchall()


def _day(model: type[Model], on: dt.date | None) -> Any:
    connection = connections[router.db_for_read(model)]
    return connection.ops.adapt_datefield_value(on or clock.today())


def effective_grants(actor: Person, on: dt.date | None = None) -> list[RightGrant]:
    """Grants in force today for an active actor; a closed or restricted actor has none.

    Read once per read-only request (context.request_memo): a page of several scoped lists asks
    for the same actor's grants once per list, and a GET changes no grant. A request that
    writes, a job and a command read them every time.
    """
    if actor.status != PersonStatus.ACTIVE:
        return []
    day = _day(RightGrant, on)
    memo = context.request_memo()
    key = ("effective_grants", actor.pk, day)
    if memo is not None and key in memo:
        return list(memo[key])
    alias, rows = _fetch(RightGrant, GRANTS_SQL, [actor.pk, day, day])
    names = [f.attname for f in _GRANT_COLUMNS]
    grants = [RightGrant.from_db(alias, names, row) for row in rows]
    for grant in grants:
        grant.include_children = bool(grant.include_children)  # SQLite answers 0 or 1
    if memo is not None:
        memo[key] = tuple(grants)
    return grants


def descendants(org_ids: Iterable[int]) -> set[int]:
    """The organisations given and every organisation below them, in one query."""
    found = set(org_ids)
    if found:
        sql = DESCENDANTS_SQL.format(marks=", ".join(["%s"] * len(found)))
        _alias, rows = _fetch(Organisation, sql, sorted(found))
        found.update(row[0] for row in rows)
    return found


class GrantScope:
    """The reach of one grant: every organisation (national) or a set, plus RAs wholly covered.

    The set of organisations is listed only when something asks for all of it: a decision about
    one target is usually settled by the RA, or by the grant's own organisation, without reading
    every organisation an RA serves.
    """

    def __init__(self, grant: RightGrant) -> None:
        self.grant = grant
        self.national = (
            grant.right == Right.SERVICE_DESK
            and grant.organisation_id is None
            and grant.ra_id is None
        )
        self.ra_ids: set[int] = {grant.ra_id} if grant.ra_id is not None else set()

    @property
    def rule(self) -> str:
        return f"{self.grant.right}:grant#{self.grant.id}"

    @cached_property
    def org_ids(self) -> set[int]:
        """Every organisation this grant reaches by name (empty for the national scope)."""
        grant = self.grant
        if self.national:
            return set()
        if grant.ra_id is not None:
            return set(
                Organisation.objects.filter(serving_ra_id=grant.ra_id)
                .order_by()
                .values_list("id", flat=True)
            )
        if grant.organisation_id is not None:
            if grant.include_children:
                return descendants([grant.organisation_id])
            return {grant.organisation_id}
        return set()

    def covers_org(self, org_id: int | None) -> bool:
        return org_id is not None and (self.national or org_id in self.org_ids)

    def reaches(
        self, org_ids: Set[int], serving_ra: Mapping[int, int | None] | None = None
    ) -> bool:
        """Whether any of these organisations is in scope: `org_ids & self.org_ids`, cheaply.

        `serving_ra`, when the caller already knows it, maps each organisation to its RA.
        """
        if not org_ids:
            return False
        if self.national:
            return True
        grant = self.grant
        if "org_ids" not in self.__dict__ and grant.ra_id is not None:
            if serving_ra is not None and all(org in serving_ra for org in org_ids):
                return any(serving_ra[org] == grant.ra_id for org in org_ids)
            return Organisation.objects.filter(id__in=org_ids, serving_ra_id=grant.ra_id).exists()
        return not self.org_ids.isdisjoint(org_ids)


def grant_scope(grant: RightGrant) -> GrantScope:
    return GrantScope(grant)


def active_assignments(on: dt.date | None = None) -> Q:
    """Assignments in force on a day, at a position and organisation that are still open.

    WORKPLACES_SQL states the same rule for one person; change the two together.
    """
    day = on or clock.today()
    return (
        Q(start_date__lte=day)
        & (Q(end_date__isnull=True) | Q(end_date__gte=day))
        & Q(position__status=PositionStatus.ACTIVE)
        & Q(position__organisation__status=OrganisationStatus.OPEN)
    )


class Workplace(NamedTuple):
    """An organisation where someone holds an active position."""

    serving_ra_id: int | None
    ods_code: str


def person_workplaces(person: Person, on: dt.date | None = None) -> dict[int, Workplace]:
    """Where a person holds an active position today: organisation id -> its RA and ODS code.

    The same rule as active_assignments(), as one small query (see GRANTS_SQL above for why);
    read once per person in a read-only request, as the grants are (effective_grants).
    """
    sql, values = workplaces_query(person.pk, on)
    memo = context.request_memo()
    key = ("person_workplaces", person.pk, values[1])
    if memo is not None and key in memo:
        return dict(memo[key])
    _alias, rows = _fetch(PositionAssignment, sql, values)
    found = {org_id: Workplace(ra_id, ods_code) for org_id, ra_id, ods_code in rows}
    if memo is not None:
        memo[key] = dict(found)
    return found


def workplaces_query(person_id: int, on: dt.date | None = None) -> tuple[str, list[Any]]:
    """WORKPLACES_SQL and its values, for a caller that reads it inside a statement of its own."""
    return active_assignments_query(person_id, 'o."id", o."serving_ra_id", o."ods_code"', on)


def active_assignments_query(
    person_id: int, columns: str, on: dt.date | None = None
) -> tuple[str, list[Any]]:
    """SELECT `columns` of a person's active assignments (a), their positions (p) and those
    positions' organisations (o), and the statement's values: active_assignments() in SQL."""
    day = _day(PositionAssignment, on)
    values = [person_id, day, day, PositionStatus.ACTIVE.value, OrganisationStatus.OPEN.value]
    return f"SELECT {columns}{_ACTIVE_ASSIGNMENTS_FROM}", values


def person_org_ids(person: Person) -> set[int]:
    """Where a person holds an active position today."""
    return set(person_workplaces(person))
