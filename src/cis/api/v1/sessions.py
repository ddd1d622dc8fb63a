"""Sign-in sessions and security keys over the API: a person's live sessions and ending them
(LSAs and up, in scope, or the holder), and security keys: registered by their holder while
signed in with a card, removed by the holder or an RA Agent."""

from __future__ import annotations

import json
from typing import Any

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from cis.core.errors import NotFound
from cis.signin.models import SignInSession, WebAuthnCredential
from cis.signin.selectors import authenticators_of, live_sessions, person_for_sessions
from cis.signin.services import person_sessions_end
from cis.signin.webauthn import (
    authenticator_register,
    authenticator_revoke,
    registration_begin,
    relying_party_for,
)

from . import lookups
from .conventions import Endpoint, actor_of, parse
from .serializers.errors import READ_ERRORS, WRITE_ERRORS

TAG = ["sessions and security keys"]
USER_ID = OpenApiParameter("user_id", str, OpenApiParameter.PATH, pattern="^[0-9]{12}$")


class SessionSerializer(serializers.Serializer[Any]):
    ref = serializers.UUIDField()
    method = serializers.CharField()
    acr = serializers.CharField()
    auth_time = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    workstation = serializers.CharField()
    role = serializers.SerializerMethodField()

    def get_role(self, session: SignInSession) -> str:
        chosen = session.selected_assignment
        if chosen is None:
            return ""
        return f"{chosen.position.name} at {chosen.position.organisation.name}"


class SessionsEndedSerializer(serializers.Serializer[Any]):
    ended = serializers.IntegerField(help_text="How many live sessions ended.")


class AuthenticatorSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    aaguid = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)


class RegistrationOptionsSerializer(serializers.Serializer[Any]):
    challenge_id = serializers.CharField(help_text="Send it back with the authenticator's answer.")
    options = serializers.DictField(help_text="WebAuthn PublicKeyCredentialCreationOptions.")


class RegisterSerializer(serializers.Serializer[Any]):
    challenge_id = serializers.CharField(help_text="From POST me/authenticators/options/.")
    name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    credential = serializers.DictField(
        help_text="The authenticator's answer (PublicKeyCredential)."
    )


def _rp(request: Request) -> Any:
    return relying_party_for(host=request.get_host(), scheme=request.scheme or "https")


class PersonSessionListView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="A person's live sign-in sessions (LSA and up in scope, or the holder)",
        parameters=[USER_ID],
        responses={200: SessionSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, user_id: str) -> Response:
        actor = actor_of(request)
        person = person_for_sessions(actor=actor, user_id=user_id)
        rows = live_sessions(actor=actor, person=person)
        return Response(SessionSerializer(rows, many=True).data)


class PersonSessionsEndView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="End every live session of a person (a shared or lost card)",
        parameters=[USER_ID],
        request=None,
        responses={200: SessionsEndedSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, user_id: str) -> Response:
        actor = actor_of(request)
        person = person_for_sessions(actor=actor, user_id=user_id)
        return Response({"ended": person_sessions_end(actor=actor, person=person)})


class PersonAuthenticatorListView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="A person's security keys (the holder, or an RA Agent in scope)",
        parameters=[USER_ID],
        responses={200: AuthenticatorSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, user_id: str) -> Response:
        actor = actor_of(request)
        person = lookups.person(actor=actor, user_id=user_id)
        keys = authenticators_of(actor=actor, person=person)
        return Response(AuthenticatorSerializer(keys, many=True).data)


class PersonAuthenticatorRevokeView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Remove a security key; the sessions it signed in end",
        parameters=[USER_ID, OpenApiParameter("key_id", int, OpenApiParameter.PATH)],
        request=None,
        responses={200: AuthenticatorSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, user_id: str, key_id: int) -> Response:
        actor = actor_of(request)
        person = lookups.person(actor=actor, user_id=user_id)
        key = authenticators_of(actor=actor, person=person).filter(pk=key_id).first()
        if key is None:
            raise NotFound("No such security key in use.", field="key_id")
        authenticator_revoke(actor=actor, credential=key)
        return Response(AuthenticatorSerializer(key).data)


class RegistrationOptionsView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Start registering a security key (signed in with your card)",
        description="Answers `challenge_id` and the WebAuthn creation `options` to hand to the "
        "authenticator; POST its answer to me/authenticators/ with the same challenge_id.",
        request=None,
        responses={201: RegistrationOptionsSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        ceremony = registration_begin(
            actor=actor_of(request),
            rp=_rp(request),
            session=getattr(request, "signin_session", None),
        )
        body = {"challenge_id": ceremony.challenge_id, "options": json.loads(ceremony.options_json)}
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class MyAuthenticatorListView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Your security keys",
        responses={200: AuthenticatorSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        actor = actor_of(request)
        keys = authenticators_of(actor=actor, person=actor)
        return Response(AuthenticatorSerializer(keys, many=True).data)

    @extend_schema(
        tags=TAG,
        summary="Register a security key with the authenticator's answer",
        request=RegisterSerializer,
        responses={201: AuthenticatorSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = parse(RegisterSerializer, request.data)
        key: WebAuthnCredential = authenticator_register(
            actor=actor_of(request),
            rp=_rp(request),
            session=getattr(request, "signin_session", None),
            challenge_id=data["challenge_id"],
            credential=data["credential"],
            name=data["name"],
        )
        return Response(AuthenticatorSerializer(key).data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("me/authenticators/", MyAuthenticatorListView.as_view(), name="my-authenticators"),
    path(
        "me/authenticators/options/",
        RegistrationOptionsView.as_view(),
        name="authenticator-options",
    ),
    path(
        "people/<str:user_id>/sessions/",
        PersonSessionListView.as_view(),
        name="person-sessions",
    ),
    path(
        "people/<str:user_id>/sessions/end/",
        PersonSessionsEndView.as_view(),
        name="person-sessions-end",
    ),
    path(
        "people/<str:user_id>/authenticators/",
        PersonAuthenticatorListView.as_view(),
        name="person-authenticators",
    ),
    path(
        "people/<str:user_id>/authenticators/<int:key_id>/revoke/",
        PersonAuthenticatorRevokeView.as_view(),
        name="person-authenticator-revoke",
    ),
]
