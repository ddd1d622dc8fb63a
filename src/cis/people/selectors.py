"""Reads about people, always through the policy's visible() filter."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.authz.scoping import visible
from cis.core.errors import NotFound

from .models import IdentityCheck, Person


def person_search(*, actor: Actor, query: str = "", limit: int | None = 50) -> QuerySet[Person]:
    """People in scope matching every word, by name order; all of them when `limit` is None
    (for keyset pages). Names match by substring, user ids by prefix, email whole."""
    people = visible(actor, Action.PERSON_SEARCH, Person.objects.all())
    terms = query.split()
    for term in terms:
        people = people.filter(
            Q(given_name__icontains=term)
            | Q(family_name__icontains=term)
            | Q(user_id__startswith=term)
            | Q(email__iexact=term)
        )
    if terms:
        people = _matches_first(people)
    people = people.select_related("registered_ra").order_by("family_name", "given_name", "id")
    return people if limit is None else people[:limit]


# A search matches few people, found through the name indexes (trigram on PostgreSQL). Asked for
# them in name order, a page at a time, PostgreSQL cannot tell how few of them are in the
# actor's scope (it guesses half) and walks the name index from "A", testing each person: 164,000
# people for "Smi" at 200,000 (140 ms), ever more as the country grows. So the matching people
# in scope are listed first (index lookups, no order), and only they are put in order and paged.
# A term that matches more than this many is common enough for the walk to find a page quickly.
MATCHES_LISTED = 2000


def _matches_first(people: QuerySet[Person]) -> QuerySet[Person]:
    """The same people, as the list of their ids when there are not many of them."""
    ids = list(people.order_by().values_list("pk", flat=True)[: MATCHES_LISTED + 1])
    if len(ids) > MATCHES_LISTED:
        return people
    return Person.objects.filter(pk__in=ids)


def person_get(*, actor: Actor, user_id: str) -> Person:
    """One person, if the actor may see them; otherwise 'not found', so nothing leaks."""
    person = Person.objects.select_related("registered_ra").filter(user_id=user_id).first()
    if person is None:
        raise NotFound("No such person, or not one you can see.")
    try:
        require(actor, Action.PERSON_VIEW, person)
    except Exception:  # noqa: BLE001 - any refusal reads the same as absence
        raise NotFound("No such person, or not one you can see.") from None
    return person


def identity_checks(*, actor: Actor, person: Person) -> QuerySet[IdentityCheck]:
    require(actor, Action.PERSON_VIEW, person)
    return person.identity_checks.select_related("checker").all()
