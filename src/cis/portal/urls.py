"""Portal routes, one list per area; later areas (smartcards, certificates) add their own list."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from cis.people.models import ContactChannel

from .views import cards, directory, home, me, organisations, people, positions, rights, session

app_name = "portal"

session_routes: list[URLPattern | URLResolver] = [
    path("sign-in/", session.SignInView.as_view(), name="sign-in"),
    path("sign-in/demo/", session.PersonaSignInView.as_view(), name="persona-sign-in"),
    path("sign-out/", session.SignOutView.as_view(), name="sign-out"),
    path("accessibility/", session.AccessibilityView.as_view(), name="accessibility"),
]

my_details_routes: list[URLPattern | URLResolver] = [
    path("", home.HomeView.as_view(), name="home"),
    path("my-details/", me.MyDetailsView.as_view(), name="my-details"),
    path(
        "my-details/email/",
        me.ContactChangeView.as_view(channel=ContactChannel.EMAIL),
        name="change-email",
    ),
    path(
        "my-details/mobile/",
        me.ContactChangeView.as_view(channel=ContactChannel.MOBILE),
        name="change-mobile",
    ),
    path("my-details/confirm/", me.ContactConfirmView.as_view(), name="contact-confirm"),
]

directory_routes: list[URLPattern | URLResolver] = [
    path("people/", directory.PersonSearchView.as_view(), name="person-search"),
    path("organisations/", directory.OrganisationListView.as_view(), name="organisation-list"),
]

people_routes: list[URLPattern | URLResolver] = [
    path("people/new/", people.PersonCreateView.as_view(), name="person-create"),
    path("people/<str:user_id>/", people.PersonDetailView.as_view(), name="person-detail"),
    path("people/<str:user_id>/verify/", people.PersonVerifyView.as_view(), name="person-verify"),
    path(
        "people/<str:user_id>/contact-confirmed/",
        people.PersonContactConfirmedView.as_view(),
        name="person-contact-confirmed",
    ),
    path("people/<str:user_id>/close/", people.PersonCloseView.as_view(), name="person-close"),
    path("people/<str:user_id>/reopen/", people.PersonReopenView.as_view(), name="person-reopen"),
    path(
        "people/<str:user_id>/positions/new/",
        positions.AssignmentCreateView.as_view(),
        name="assignment-create",
    ),
    path(
        "people/<str:user_id>/positions/<int:pk>/end/",
        positions.AssignmentEndView.as_view(),
        name="assignment-end",
    ),
    path("people/<str:user_id>/rights/new/", rights.RightGrantView.as_view(), name="right-grant"),
    path(
        "people/<str:user_id>/rights/<int:pk>/revoke/",
        rights.RightRevokeView.as_view(),
        name="right-revoke",
    ),
]

organisation_routes: list[URLPattern | URLResolver] = [
    path(
        "organisations/new/",
        organisations.OrganisationCreateView.as_view(),
        name="organisation-create",
    ),
    path(
        "organisations/<str:ods_code>/",
        organisations.OrganisationDetailView.as_view(),
        name="organisation-detail",
    ),
    path(
        "organisations/<str:ods_code>/positions/new/",
        organisations.PositionCreateView.as_view(),
        name="position-create",
    ),
]

urlpatterns: list[URLPattern | URLResolver] = [
    *session_routes,
    *my_details_routes,
    *directory_routes,
    *people_routes,
    *organisation_routes,
    *cards.routes,  # smartcards (issue 4)
    path("", include("cis.portal.views.certificates")),  # certificates (issue 3)
    path("requests/", include("cis.portal.views.requests")),  # requests to the RA (issue 6)
]
