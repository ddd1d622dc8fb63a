"""Reads about organisations, through the policy's visible() filter."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from cis.authz.actions import Action
from cis.authz.policy import Actor, require
from cis.authz.scoping import visible
from cis.core.errors import NotFound, NotPermitted

from .models import Organisation, RegistrationAuthority


def organisation_list(*, actor: Actor, query: str = "") -> QuerySet[Organisation]:
    orgs = visible(actor, Action.ORGANISATION_VIEW, Organisation.objects.all())
    if query.strip():
        q = query.strip()
        orgs = orgs.filter(Q(ods_code__iexact=q) | Q(name__icontains=q))
    return orgs.select_related("parent", "serving_ra").order_by("ods_code")


def organisation_get(*, actor: Actor, ods_code: str) -> Organisation:
    org = (
        Organisation.objects.select_related("parent", "serving_ra")
        .filter(ods_code=ods_code.upper())
        .first()
    )
    missing = NotFound(f"No organisation with ODS code {ods_code} that you can see.")
    if org is None:
        raise missing
    try:
        require(actor, Action.ORGANISATION_VIEW, org)
    except NotPermitted:
        raise missing from None
    return org


def ra_list() -> QuerySet[RegistrationAuthority]:
    """The active RAs: public knowledge, like their contact details."""
    return RegistrationAuthority.objects.filter(is_active=True)


def ra_get(*, code: str) -> RegistrationAuthority:
    ra = ra_list().filter(code=code.strip().upper()).first()
    if ra is None:
        raise NotFound(f"No active Registration Authority with code {code.strip().upper()}.")
    return ra
