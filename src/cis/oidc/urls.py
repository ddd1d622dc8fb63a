"""The provider's routes, named as django-oauth-toolkit expects so its own reverses resolve."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import authorize, discovery, introspect, jwks, logout, pushed, token, userinfo

app_name = "oauth2_provider"

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        ".well-known/openid-configuration",
        discovery.openid_configuration,
        name="oidc-connect-discovery-info",
    ),
    path("oidc/authorize", authorize.AuthorizeView.as_view(), name="authorize"),
    path(
        "oidc/par",
        pushed.PushedAuthorizationRequestView.as_view(),
        name="pushed-authorization-request",
    ),
    path("oidc/token", token.TokenView.as_view(), name="token"),
    path("oidc/revoke", token.RevokeTokenView.as_view(), name="revoke-token"),
    path("oidc/introspect", introspect.IntrospectView.as_view(), name="introspect"),
    path("oidc/userinfo", userinfo.UserInfoView.as_view(), name="user-info"),
    path("oidc/jwks", jwks.jwks, name="jwks-info"),
    path("oidc/logout", logout.LogoutView.as_view(), name="rp-initiated-logout"),
]
