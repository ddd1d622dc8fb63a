"""Certificates over the API: search and read within scope, and revoke (RA Agent)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from cis.core import clock
from cis.core.errors import NotFound
from cis.people.models import Person
from cis.pki.models import Certificate
from cis.pki.selectors import certificate_get, certificate_search
from cis.pki.services import MAX_BULK_REVOCATIONS, certificate_revoke, certificates_revoke

from . import lookups
from .conventions import (
    Endpoint,
    LongListEndpoint,
    actor_of,
    is_schema_generation,
    parse,
)
from .serializers.errors import READ_ERRORS, WRITE_ERRORS
from .serializers.refs import PersonRefSerializer

TAG = ["certificates"]
SERIAL = OpenApiParameter(
    "serial",
    str,
    OpenApiParameter.PATH,
    description="The certificate's serial number in hex (colons and 0x are accepted).",
)
REASONS = [
    "unspecified",
    "keyCompromise",
    "affiliationChanged",
    "superseded",
    "cessationOfOperation",
    "privilegeWithdrawn",
]


class CertificateSerializer(serializers.Serializer[Certificate]):
    serial = serializers.CharField(source="serial_hex", help_text="Serial number, lower-case hex.")
    person = PersonRefSerializer(help_text="The holder the certificate names.")
    subject = serializers.CharField(help_text="The subject, RFC 4514.")
    status = serializers.SerializerMethodField(
        help_text="valid, expired, revoked or superseded (expired is computed from not_after)."
    )
    not_before = serializers.DateTimeField()
    not_after = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    revocation_reason = serializers.CharField(
        help_text="Stored name of the reason (key_compromise, ...); empty unless revoked."
    )
    key_algorithm = serializers.CharField(help_text="ec-p256, ec-p384, rsa-2048, ...")
    card_ref = serializers.CharField(allow_null=True, help_text="The card it was written to.")
    superseded_by = serializers.CharField(
        source="superseded_by.serial_hex", allow_null=True, default=None
    )

    def get_status(self, cert: Certificate) -> str:
        return cert.effective_status(clock.now())


class CertificateDetailSerializer(CertificateSerializer):
    pem = serializers.CharField(help_text="The certificate, PEM.")


class CertificateFilterSerializer(serializers.Serializer[Any]):
    q = serializers.CharField(required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(
        choices=["valid", "expired", "revoked", "superseded"], required=False
    )
    person = serializers.CharField(required=False, help_text="A holder's 12-digit user id.")
    expiring_within_days = serializers.IntegerField(required=False, min_value=0, max_value=1095)


class RevokeSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        help_text=f"One of {', '.join(REASONS)} (never certificateHold)."
    )


class BulkRevokeSerializer(RevokeSerializer):
    serials = serializers.ListField(
        child=serializers.CharField(),
        min_length=1,
        max_length=MAX_BULK_REVOCATIONS,
        help_text=f"Serial numbers in hex, 1 to {MAX_BULK_REVOCATIONS:,}.",
    )


class BulkRevokedSerializer(serializers.Serializer[Any]):
    revoked = serializers.ListField(child=serializers.CharField(), help_text="Serials, hex.")
    reason = serializers.CharField()
    revoked_at = serializers.DateTimeField()


class CertificateListView(LongListEndpoint[Certificate]):
    serializer_class = CertificateSerializer

    def get_queryset(self) -> QuerySet[Certificate]:
        if is_schema_generation(self):
            return Certificate.objects.none()
        actor = actor_of(self.request)
        filters = parse(CertificateFilterSerializer, self.request.query_params)
        person: Person | None = None
        if filters.get("person"):
            person = lookups.person(actor=actor, user_id=filters["person"], field="person")
        return certificate_search(
            actor=actor,
            query=filters.get("q", ""),
            status=filters.get("status", ""),
            person=person,
            expiring_within_days=filters.get("expiring_within_days"),
        )

    @extend_schema(
        tags=TAG,
        summary="Search the certificates you may see",
        description=(
            "Holders see their own; LSAs, Sponsors, ID Checkers and RA staff see those of people "
            "in their scope. `q` matches a serial, a name or a user id prefix."
        ),
        parameters=[CertificateFilterSerializer],
        responses={200: CertificateSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CertificateDetailView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Read a certificate",
        parameters=[SERIAL],
        responses={200: CertificateDetailSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, serial: str) -> Response:
        cert = _visible(request, serial)
        return Response(CertificateDetailSerializer(cert).data)


class CertificateRevokeView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Revoke a certificate (RA Agent)",
        description=(
            "Revocation is final. The CRL is republished and OCSP answers 'revoked' at once. "
            "Cancel a card instead when the card itself is lost, stolen or finished with."
        ),
        parameters=[SERIAL],
        request=RevokeSerializer,
        responses={200: CertificateDetailSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, serial: str) -> Response:
        actor = actor_of(request)
        cert = _visible(request, serial)
        data = parse(RevokeSerializer, request.data)
        cert = certificate_revoke(actor=actor, certificate=cert, reason=data["reason"])
        return Response(CertificateDetailSerializer(cert).data)


class CertificateBulkRevokeView(Endpoint):
    @extend_schema(
        tags=TAG,
        summary="Revoke many certificates at once (RA Agent)",
        operation_id="certificates_bulk_revoke",
        description=(
            "For a compromised batch: every certificate named is revoked with the one reason, "
            "each decided by the policy and audited on its own, all in one transaction. If "
            "any one is out of your scope, unknown or already revoked, none is revoked. OCSP "
            "answers 'revoked' at once; the next CRL lists them all."
        ),
        request=BulkRevokeSerializer,
        responses={200: BulkRevokedSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        data = parse(BulkRevokeSerializer, request.data)
        certs = certificates_revoke(actor=actor, serials=data["serials"], reason=data["reason"])
        return Response(
            {
                "revoked": [cert.serial_hex for cert in certs],
                "reason": certs[0].revocation_reason,
                "revoked_at": certs[0].revoked_at,
            }
        )


def _visible(request: Request, serial: str) -> Certificate:
    try:
        return certificate_get(actor=actor_of(request), serial=serial)
    except NotFound as exc:
        raise NotFound(exc.message, field="serial") from None


# Routes, included from api/v1/urls.py.
urlpatterns: list[URLPattern] = [
    path("certificates/", CertificateListView.as_view(), name="certificate-list"),
    path(
        "certificates/revoke/",
        CertificateBulkRevokeView.as_view(),
        name="certificate-bulk-revoke",
    ),
    path(
        "certificates/<str:serial>/",
        CertificateDetailView.as_view(),
        name="certificate-detail",
    ),
    path(
        "certificates/<str:serial>/revoke/",
        CertificateRevokeView.as_view(),
        name="certificate-revoke",
    ),
]
