"""The CA's public URLs under /pki/ (DESIGN §6): named in every certificate CIS issues."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "pki"
urlpatterns: list[URLPattern | URLResolver] = [
    path("ca.pem", views.chain, name="chain"),
    path("issuing-ca.cer", views.issuing_certificate, name="issuing-ca"),
    path("root-ca.cer", views.root_certificate, name="root-ca"),
    path("crl", views.revocation_list, name="crl"),
    path("root.crl", views.root_revocation_list, name="root-crl"),
    path("ocsp", views.ocsp_post, name="ocsp"),
    path("ocsp/", views.ocsp_post),
    path("ocsp/<path:encoded>", views.ocsp_get, name="ocsp-get"),
]
