"""Top-level routes: the portal, the API, health, and (in later apps) PKI and OIDC."""

from __future__ import annotations

from django.urls import include, path

from cis.api.v1 import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("api/", include("cis.api.urls")),
    path("pki/", include("cis.pki.urls")),
    path("cards/", include("cis.smartcards.urls")),
    path("", include("cis.portal.urls")),
]
