"""visible(actor, action, queryset): only the rows this actor may see, as one filtered query."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet

from cis.audit.models import AuditEvent
from cis.organisations.models import Organisation
from cis.people.models import Person, PersonStatus
from cis.pki.models import Certificate
from cis.rbac.models import Position, PositionAssignment
from cis.rights.models import Right, RightGrant
from cis.workflow.models import Request

from .actions import Action
from .policy import NEEDS, OWN_REQUEST, SELF_SERVICE, Actor, ConsoleOperator
from .scope import INCLUDES, active_assignments, effective_grants, grant_scope, person_org_ids

M = TypeVar("M", bound=Model)


class Reach:
    """The union of an actor's grant scopes for one action."""

    def __init__(self, actor: Person, action: Action) -> None:
        self.national = False
        self.org_ids: set[int] = set()
        self.ra_ids: set[int] = set()
        needs = NEEDS[action]
        for grant in effective_grants(actor):
            if not INCLUDES[Right(grant.right)] & needs:
                continue
            scope = grant_scope(grant)
            self.national |= scope.national
            self.org_ids |= scope.org_ids
            self.ra_ids |= scope.ra_ids

    @property
    def empty(self) -> bool:
        return not (self.national or self.org_ids or self.ra_ids)


def _people_filter(actor: Person, reach: Reach, include_self: bool) -> Q:
    if reach.national:
        return Q()
    in_scope = PositionAssignment.objects.filter(
        active_assignments(), position__organisation_id__in=reach.org_ids
    ).values("person_id")
    q = Q(pk__in=in_scope) | Q(registered_ra_id__in=reach.ra_ids)
    if include_self:
        q |= Q(pk=actor.pk)
    return q


def visible(actor: Actor | None, action: Action, queryset: QuerySet[M]) -> QuerySet[M]:
    model: Any = queryset.model
    if isinstance(actor, ConsoleOperator):
        return queryset
    if not isinstance(actor, Person) or actor.status == PersonStatus.CLOSED:
        return queryset.none()
    reach = Reach(actor, action)
    own = action in SELF_SERVICE
    if reach.national:
        return queryset
    if model is Person:
        # The filter joins nothing (a subquery and a column of the person), so no row repeats;
        # DISTINCT would sort every matching person on every column before a page is cut.
        return queryset.filter(_people_filter(actor, reach, own))
    my_org_ids = person_org_ids(actor) if own else set()
    if model is Organisation:
        return queryset.filter(id__in=reach.org_ids | my_org_ids)
    if model is Position:
        q = Q(organisation_id__in=reach.org_ids)
        if own:
            q |= Q(assignments__person=actor)
        return queryset.filter(q).distinct()
    if model is PositionAssignment:
        q = Q(position__organisation_id__in=reach.org_ids)
        if own:
            q |= Q(person=actor)
        return queryset.filter(q)
    if model is RightGrant:
        q = Q(person__in=Person.objects.filter(_people_filter(actor, reach, include_self=False)))
        if own:
            q |= Q(person=actor)
        return queryset.filter(q)
    if model is Request:
        q = Q(organisation_id__in=reach.org_ids) | Q(ra_id__in=reach.ra_ids)
        if own:
            q |= Q(subject=actor)
        if action in OWN_REQUEST:
            q |= Q(raised_by=actor)
        return queryset.filter(q)
    if model is Certificate:
        q = Q(person__in=Person.objects.filter(_people_filter(actor, reach, include_self=False)))
        if own:
            q |= Q(person=actor)
        return queryset.filter(q)
    if model is AuditEvent:
        # Events at an organisation in reach, and events about a person in reach (a person's
        # own events carry no organisation: their registration, identity check, contact details).
        codes = Organisation.objects.filter(id__in=reach.org_ids).values_list("ods_code", flat=True)
        people = Person.objects.filter(_people_filter(actor, reach, include_self=False))
        return queryset.filter(
            Q(organisation_ref__in=list(codes)) | Q(subject_ref__in=people.values("user_id"))
        )
    raise TypeError(f"no visibility rule for {model.__name__}")
