"""Top-level routes: the portal, the API, health, and (in later apps) PKI and OIDC."""

from __future__ import annotations

from django.conf import settings
from django.urls import include, path, re_path
from django.views.static import serve

from cis.api.v1 import health
from cis.ops import views as ops

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.metrics_view, name="metrics"),
    path("api/", include("cis.api.urls")),
    path("pki/", include("cis.pki.urls")),
    path("cards/", include("cis.smartcards.urls")),
    path("signin/", include("cis.signin.urls")),
    path("", include("cis.oidc.urls")),
    path("", include("cis.portal.urls")),
    # The NHS.UK stylesheet asks for its icons at /assets/images/.
    re_path(
        r"^assets/(?P<path>images/[\w.-]+\.svg)$",
        serve,
        {"document_root": settings.NHSUK_FRONTEND_DIR / "nhsuk" / "assets"},
    ),
]

# Django's own error paths answer in the API's JSON shape under /api/, as styled pages elsewhere.
handler400 = "cis.core.http_errors.bad_request"
handler403 = "cis.core.http_errors.permission_denied"
handler404 = "cis.core.http_errors.page_not_found"
handler500 = "cis.core.http_errors.server_error"
