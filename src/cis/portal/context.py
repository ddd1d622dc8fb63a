"""Template context shared by every portal page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .demo import persona_sign_in_available
from .navigation import Navigation
from .views.errors import came_from


def portal(request: HttpRequest) -> dict[str, Any]:
    return {
        "demo_login_enabled": persona_sign_in_available(),
        "nav": Navigation(request),
        "came_from": SimpleLazyObject(lambda: came_from(request)),
    }
