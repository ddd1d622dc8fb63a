"""People: search and read within scope, create, correct, verify identity, close and reopen."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from cis.core.dbrouting import reads_from_replica
from cis.people.models import IdentityCheck, Person
from cis.people.selectors import identity_checks, person_search
from cis.people.services import (
    contact_confirm_in_person,
    person_close,
    person_create,
    person_extend_access,
    person_reopen,
    person_update_details,
    person_verify_identity,
)
from cis.rights.models import RightGrant
from cis.rights.selectors import grant_list

from . import lookups
from .conventions import (
    Endpoint,
    ListEndpoint,
    LongListEndpoint,
    actor_of,
    is_schema_generation,
    parse,
)
from .serializers.errors import BAD_INPUT, READ_ERRORS, WRITE_ERRORS, ErrorSerializer
from .serializers.people import (
    AccessExtendSerializer,
    ContactConfirmedSerializer,
    IdentityCheckCreateSerializer,
    IdentityCheckSerializer,
    PersonCloseSerializer,
    PersonCreateSerializer,
    PersonDetailSerializer,
    PersonReopenSerializer,
    PersonSummarySerializer,
    PersonUpdateSerializer,
)
from .serializers.rights import RightFilterSerializer, RightGrantSerializer

TAG = ["people"]
USER_ID = OpenApiParameter(
    "user_id",
    str,
    OpenApiParameter.PATH,
    description="The person's 12-digit user id; anything else is a 400.",
    pattern="^[0-9]{12}$",
)


@reads_from_replica
class PersonListView(LongListEndpoint[Person]):
    serializer_class = PersonSummarySerializer

    def get_queryset(self) -> QuerySet[Person]:
        if is_schema_generation(self):
            return Person.objects.none()
        query = self.request.query_params.get("q", "")
        return person_search(actor=actor_of(self.request), query=query, limit=None)

    @extend_schema(
        tags=TAG,
        summary="Search the people in your scope",
        parameters=[
            OpenApiParameter(
                "q", str, description="Words matched against names, a user id prefix, or email."
            )
        ],
        responses={200: PersonSummarySerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TAG,
        summary="Create a person (RA Agent)",
        description=(
            "Creates a restricted profile (identity not yet verified). If someone with the same "
            "date of birth and a same or similar name exists, the answer is 409 "
            "probable_duplicate with their user ids in `matches`; check them, then send those "
            "ids in `acknowledged_duplicates` to create the profile anyway."
        ),
        request=PersonCreateSerializer,
        responses={
            201: PersonDetailSerializer,
            **WRITE_ERRORS,
            409: OpenApiResponse(
                ErrorSerializer,
                description="probable_duplicate: `matches` lists the people this may be.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        data = parse(PersonCreateSerializer, request.data)
        data["registered_ra"] = lookups.registration_authority(
            code=data["registered_ra"], field="registered_ra"
        )
        person = person_create(actor=actor, **data)
        return Response(PersonDetailSerializer(person).data, status=status.HTTP_201_CREATED)


class PersonDetailView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Read a person",
        parameters=[USER_ID],
        responses={200: PersonDetailSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, user_id: str) -> Response:
        person = lookups.person(actor=actor_of(request), user_id=user_id)
        return Response(PersonDetailSerializer(person).data)

    @extend_schema(
        tags=TAG,
        summary="Correct a person's details (RA Agent)",
        description="Only the fields sent change. Contact details change through verification.",
        parameters=[USER_ID],
        request=PersonUpdateSerializer,
        responses={200: PersonDetailSerializer, **WRITE_ERRORS},
    )
    def patch(self, request: Request, user_id: str) -> Response:
        actor = actor_of(request)
        person = lookups.person(actor=actor, user_id=user_id)
        data = parse(PersonUpdateSerializer, request.data)
        person = person_update_details(actor=actor, person=person, **data)
        return Response(PersonDetailSerializer(person).data)


class PersonIdentityCheckView(ListEndpoint[IdentityCheck]):
    serializer_class = IdentityCheckSerializer

    def get_queryset(self) -> QuerySet[IdentityCheck]:
        if is_schema_generation(self):
            return IdentityCheck.objects.none()
        actor = actor_of(self.request)
        person = lookups.person(actor=actor, user_id=self.kwargs["user_id"])
        return identity_checks(actor=actor, person=person)

    @extend_schema(
        tags=TAG,
        summary="A person's identity checks",
        parameters=[USER_ID],
        responses={200: IdentityCheckSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TAG,
        summary="Record a face-to-face identity check (RA ID Checker)",
        description="Raises the person to high assurance and lifts the restriction.",
        parameters=[USER_ID],
        request=IdentityCheckCreateSerializer,
        responses={201: IdentityCheckSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, user_id: str) -> Response:
        actor = actor_of(request)
        person = lookups.person(actor=actor, user_id=user_id)
        data = parse(IdentityCheckCreateSerializer, request.data)
        check = person_verify_identity(actor=actor, person=person, **data)
        return Response(IdentityCheckSerializer(check).data, status=status.HTTP_201_CREATED)


class PersonCloseView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Close a person's profile (RA Agent)",
        parameters=[USER_ID],
        request=PersonCloseSerializer,
        responses={200: PersonDetailSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, user_id: str) -> Response:
        actor = actor_of(request)
        person = lookups.person(actor=actor, user_id=user_id)
        data = parse(PersonCloseSerializer, request.data)
        person = person_close(actor=actor, person=person, **data)
        return Response(PersonDetailSerializer(person).data)


class PersonExtendAccessView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Renew an RPA or temporary-access profile: a new end date (RA Agent)",
        description="Temporary access is renewed only while it runs; an RPA profile also after "
        "it lapsed. Each renewal is at most 90 (temporary) or 365 (RPA) days from today.",
        parameters=[USER_ID],
        request=AccessExtendSerializer,
        responses={200: PersonDetailSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, user_id: str) -> Response:
        actor = actor_of(request)
        person = lookups.person(actor=actor, user_id=user_id)
        data = parse(AccessExtendSerializer, request.data)
        person = person_extend_access(actor=actor, person=person, ends_on=data["ends_on"])
        return Response(PersonDetailSerializer(person).data)


class PersonContactConfirmedView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Record an email or mobile confirmed in person, without a code (RA Agent)",
        parameters=[USER_ID],
        request=ContactConfirmedSerializer,
        responses={200: PersonDetailSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, user_id: str) -> Response:
        actor = actor_of(request)
        person = lookups.person(actor=actor, user_id=user_id)
        data = parse(ContactConfirmedSerializer, request.data)
        person = contact_confirm_in_person(actor=actor, person=person, **data)
        return Response(PersonDetailSerializer(person).data)


class PersonReopenView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Reopen a closed profile (RA Agent)",
        parameters=[USER_ID],
        # No fields: an empty JSON object (a request_ref is refused, like everywhere).
        request={"application/json": OpenApiTypes.OBJECT},
        responses={200: PersonDetailSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, user_id: str) -> Response:
        actor = actor_of(request)
        person = lookups.person(actor=actor, user_id=user_id)
        data = parse(PersonReopenSerializer, request.data)
        person = person_reopen(actor=actor, person=person, **data)
        return Response(PersonDetailSerializer(person).data)


class PersonRightListView(ListEndpoint[RightGrant]):
    serializer_class = RightGrantSerializer

    def get_queryset(self) -> QuerySet[RightGrant]:
        if is_schema_generation(self):
            return RightGrant.objects.none()
        actor = actor_of(self.request)
        person = lookups.person(actor=actor, user_id=self.kwargs["user_id"])
        current = parse(RightFilterSerializer, self.request.query_params.dict())["current"]
        return grant_list(actor=actor, person=person, current_only=current).select_related(
            "granted_by", "revoked_by"
        )

    @extend_schema(
        tags=TAG,
        summary="A person's CIS rights",
        parameters=[
            USER_ID,
            OpenApiParameter(
                "current", bool, description="Only rights in force today (default true)."
            ),
        ],
        responses={200: RightGrantSerializer(many=True), 400: BAD_INPUT, **READ_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
