"""The product's URLs, plus the trivial view every figure is compared with."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def trivial(request: HttpRequest) -> HttpResponse:
    """The cheapest thing Django can answer: the run's unit of comparison."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/trivial", trivial),
    path("", include("cis.config.urls")),
]
