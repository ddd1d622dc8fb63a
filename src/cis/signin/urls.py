"""Sign-in routes: the agent's JSON endpoints, and the browser's pages."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from .views import agent, browser, sessions, tls, webauthn

app_name = "signin"

urlpatterns: list[URLPattern | URLResolver] = [
    path("agent/challenge", agent.challenge, name="agent-challenge"),
    path("agent/respond", agent.respond, name="agent-respond"),
    path("agent/heartbeat", agent.heartbeat, name="agent-heartbeat"),
    path("ticket/<str:secret>/", browser.TicketView.as_view(), name="ticket"),
    path("role/", browser.RoleView.as_view(), name="role"),
    path("tls/", tls.TlsSignInView.as_view(), name="tls"),
    path("security-key/", webauthn.SignInPage.as_view(), name="webauthn"),
    path("security-key/options", webauthn.SignInOptions.as_view(), name="webauthn-options"),
    path("security-key/verify", webauthn.SignInVerify.as_view(), name="webauthn-verify"),
    path("authenticators/", webauthn.AuthenticatorsView.as_view(), name="authenticators"),
    path(
        "authenticators/options", webauthn.RegisterOptions.as_view(), name="authenticator-options"
    ),
    path("authenticators/verify", webauthn.RegisterVerify.as_view(), name="authenticator-verify"),
    path("sign-out/", browser.SignOutView.as_view(), name="sign-out"),
    path("sessions/", sessions.PersonSessionsView.as_view(), name="my-sessions"),
    path(
        "people/<str:user_id>/sessions/",
        sessions.PersonSessionsView.as_view(),
        name="person-sessions",
    ),
]
