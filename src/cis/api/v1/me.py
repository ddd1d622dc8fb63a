"""Self-service: a card holder reads their own record and proves a new email or mobile."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from cis.people.services import contact_change_confirm, contact_change_start

from . import lookups
from .conventions import Endpoint, actor_of, parse
from .serializers.errors import RATE_LIMITED, READ_ERRORS, WRITE_ERRORS
from .serializers.people import (
    ContactVerificationConfirmSerializer,
    ContactVerificationSerializer,
    ContactVerificationStartSerializer,
    PersonDetailSerializer,
)

TAG = ["me"]


class MeView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Your own record",
        responses={200: PersonDetailSerializer, **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        actor = actor_of(request)
        me = lookups.person(actor=actor, user_id=actor.user_id)
        return Response(PersonDetailSerializer(me).data)


class ContactVerificationStartView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Start changing your email or mobile",
        description=(
            "Sends a one-time code to the new address or number. Nothing changes until the code "
            "is confirmed; a newer request replaces an older one for the same channel."
        ),
        request=ContactVerificationStartSerializer,
        responses={201: ContactVerificationSerializer, **WRITE_ERRORS, 429: RATE_LIMITED},
    )
    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        data = parse(ContactVerificationStartSerializer, request.data)
        pending = contact_change_start(
            actor=actor, person=actor, channel=data["channel"], new_value=data["value"]
        )
        return Response(ContactVerificationSerializer(pending).data, status=status.HTTP_201_CREATED)


class ContactVerificationConfirmView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Confirm a new email or mobile with its one-time code",
        description=(
            "A wrong code is a 400 wrong_code and counts as an attempt; after too many, or once "
            "the code has expired or been replaced, the answer is 409 invalid_state."
        ),
        parameters=[
            OpenApiParameter(
                "verification_id", int, OpenApiParameter.PATH, description="From the start call."
            )
        ],
        request=ContactVerificationConfirmSerializer,
        responses={200: PersonDetailSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, verification_id: int) -> Response:
        actor = actor_of(request)
        data = parse(ContactVerificationConfirmSerializer, request.data)
        person = contact_change_confirm(
            actor=actor, person=actor, verification_id=verification_id, code=data["code"]
        )
        return Response(PersonDetailSerializer(person).data)
