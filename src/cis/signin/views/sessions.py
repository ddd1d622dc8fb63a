"""Pages about sessions: your own, and an administrator's 'end this person's sessions'."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from cis.core.errors import NotFound, NotPermitted
from cis.people.models import Person

from ..selectors import live_sessions, person_for_sessions
from ..services import person_sessions_end


class PersonSessionsView(LoginRequiredMixin, View):
    template_name = "signin/sessions.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response: HttpResponseBase = super().dispatch(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except NotPermitted as exc:
            return render(request, "403.html", {"reason": exc.message}, status=403)
        return response

    def _person(self, user_id: str | None) -> Person:
        actor: Person = self.request.user  # type: ignore[assignment]
        return person_for_sessions(actor=actor, user_id=user_id or actor.user_id)

    def get(self, request: HttpRequest, user_id: str | None = None) -> HttpResponse:
        person = self._person(user_id)
        actor: Person = request.user  # type: ignore[assignment]
        return render(
            request,
            self.template_name,
            {
                "person": person,
                "own": person.pk == actor.pk,
                "sessions": live_sessions(actor=actor, person=person),
                "current": getattr(request, "signin_session", None),
            },
        )

    def post(self, request: HttpRequest, user_id: str | None = None) -> HttpResponse:
        person = self._person(user_id)
        actor: Person = request.user  # type: ignore[assignment]
        ended = person_sessions_end(actor=actor, person=person)
        if person.pk == actor.pk:
            logout(request)
            messages.info(request, "You have signed out everywhere.")
            return redirect("portal:sign-in")
        noun = "session" if ended == 1 else "sessions"
        messages.success(request, f"Ended {ended} {noun} of {person.full_name}.")
        return redirect(reverse("signin:person-sessions", kwargs={"user_id": person.user_id}))
