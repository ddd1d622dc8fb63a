"""The home page: what the signed-in person can do here."""

from __future__ import annotations

from typing import Any

from cis.rights.selectors import grant_list

from .base import PortalPage


class HomeView(PortalPage):
    template_name = "portal/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["grants"] = grant_list(actor=self.actor, person=self.actor)
        return context
