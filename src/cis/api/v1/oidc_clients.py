"""OIDC clients over the API: the service desk registers clinical systems, rotates their
secrets and retires them. A secret is in the answer once, when made, and never again."""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from oauth2_provider.models import Application
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from cis.oidc.clients import (
    NewClient,
    oidc_client_get,
    oidc_client_list,
    oidc_client_register,
    oidc_client_retire,
    oidc_client_rotate_secret,
)

from .conventions import Endpoint, actor_of, parse
from .serializers.errors import READ_ERRORS, WRITE_ERRORS

TAG = ["oidc clients"]
CLIENT_ID = OpenApiParameter("client_id", str, OpenApiParameter.PATH)


class OidcClientSerializer(serializers.Serializer[Any]):
    client_id = serializers.CharField()
    name = serializers.CharField()
    redirect_uris = serializers.SerializerMethodField()
    post_logout_redirect_uris = serializers.SerializerMethodField()
    created = serializers.DateTimeField()

    def get_redirect_uris(self, app: Application) -> list[str]:
        return str(app.redirect_uris).split()

    def get_post_logout_redirect_uris(self, app: Application) -> list[str]:
        return str(app.post_logout_redirect_uris).split()


class OidcClientWithSecretSerializer(OidcClientSerializer):
    client_secret = serializers.CharField(help_text="Shown this once: store it now.")


class OidcClientCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=255, help_text="The clinical system's name.")
    redirect_uris = serializers.ListField(
        child=serializers.CharField(max_length=2000), help_text="Exact redirect URIs."
    )
    post_logout_redirect_uris = serializers.ListField(
        child=serializers.CharField(max_length=2000), default=list
    )
    backchannel_logout_uri = serializers.CharField(
        max_length=2000,
        required=False,
        default="",
        allow_blank=True,
        help_text="Where CIS posts a logout token when a sign-in session ends (Back-Channel "
        "Logout 1.0).",
    )
    backchannel_logout_session_required = serializers.BooleanField(required=False, default=False)
    require_pushed_authorization_requests = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Refuse its authorization requests unless pushed first (PAR, RFC 9126).",
    )
    require_signed_request_object = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Refuse its authorization requests unless a signed request object (RFC 9101).",
    )
    dpop_bound_access_tokens = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Refuse its token requests without a DPoP proof (RFC 9449 §5.2).",
    )


class OidcClientRetireSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=500, help_text="Why it is being retired.")


class RetiredClientSerializer(serializers.Serializer[Any]):
    client_id = serializers.CharField()
    name = serializers.CharField()
    retired_at = serializers.DateTimeField()
    retired_by_name = serializers.CharField()
    reason = serializers.CharField()


def _with_secret(made: NewClient) -> dict[str, Any]:
    return {
        **OidcClientSerializer(made.application).data,
        "client_secret": made.client_secret,
    }


class OidcClientListView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Live OIDC clients (service desk)",
        responses={200: OidcClientSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        clients = oidc_client_list(actor=actor_of(request))
        return Response(OidcClientSerializer(clients, many=True).data)

    @extend_schema(
        tags=TAG,
        summary="Register a clinical system as an OIDC client (service desk)",
        request=OidcClientCreateSerializer,
        responses={201: OidcClientWithSecretSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = parse(OidcClientCreateSerializer, request.data)
        made = oidc_client_register(actor=actor_of(request), **data)
        return Response(_with_secret(made), status=status.HTTP_201_CREATED)


class OidcClientDetailView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="One OIDC client (service desk)",
        parameters=[CLIENT_ID],
        responses={200: OidcClientSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, client_id: str) -> Response:
        app = oidc_client_get(actor=actor_of(request), client_id=client_id)
        return Response(OidcClientSerializer(app).data)


class OidcClientRotateView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Give a client a new secret; the old one stops working at once (service desk)",
        parameters=[CLIENT_ID],
        request=None,
        responses={200: OidcClientWithSecretSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, client_id: str) -> Response:
        made = oidc_client_rotate_secret(actor=actor_of(request), client_id=client_id)
        return Response(_with_secret(made))


class OidcClientRetireView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Retire a client for good, revoking its tokens (service desk)",
        parameters=[CLIENT_ID],
        request=OidcClientRetireSerializer,
        responses={200: RetiredClientSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, client_id: str) -> Response:
        data = parse(OidcClientRetireSerializer, request.data)
        retired = oidc_client_retire(actor=actor_of(request), client_id=client_id, **data)
        return Response(RetiredClientSerializer(retired).data)


urlpatterns = [
    path("oidc-clients/", OidcClientListView.as_view(), name="oidc-client-list"),
    path("oidc-clients/<str:client_id>/", OidcClientDetailView.as_view(), name="oidc-client"),
    path(
        "oidc-clients/<str:client_id>/rotate-secret/",
        OidcClientRotateView.as_view(),
        name="oidc-client-rotate",
    ),
    path(
        "oidc-clients/<str:client_id>/retire/",
        OidcClientRetireView.as_view(),
        name="oidc-client-retire",
    ),
]
