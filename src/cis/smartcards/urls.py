"""HTTP routes of the smartcards app: none of its own yet.

Card pages are portal routes (cis.portal.views.cards) and the agent's steps are API routes
(cis.api.v1.cards); this mount point (/cards/) is kept for card-facing documents to come.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
