"""Portal routes, one list per area; later areas (smartcards, certificates) add their own list."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from cis.people.models import ContactChannel

from .views import (
    approval_policies,
    audit,
    card_tasks,
    cards,
    catalogue,
    directory,
    help,
    home,
    imports,
    me,
    oidc_clients,
    organisations,
    people,
    position_admin,
    positions,
    registration_authorities,
    reports,
    rights,
    session,
)

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
    path("people/<str:user_id>/change/", people.PersonUpdateView.as_view(), name="person-update"),
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
        position_admin.PositionCreateView.as_view(),
        name="position-create",
    ),
    path(
        "organisations/<str:ods_code>/positions/<int:pk>/",
        position_admin.PositionDetailView.as_view(),
        name="position-detail",
    ),
    path(
        "organisations/<str:ods_code>/positions/<int:pk>/change/",
        position_admin.PositionUpdateView.as_view(),
        name="position-update",
    ),
    path(
        "organisations/<str:ods_code>/positions/<int:pk>/retire/",
        position_admin.PositionRetireView.as_view(),
        name="position-retire",
    ),
    path(
        "organisations/<str:ods_code>/change/",
        organisations.OrganisationUpdateView.as_view(),
        name="organisation-update",
    ),
    path(
        "organisations/<str:ods_code>/move/",
        organisations.OrganisationMoveView.as_view(),
        name="organisation-move",
    ),
    path(
        "organisations/<str:ods_code>/close/",
        organisations.OrganisationCloseView.as_view(),
        name="organisation-close",
    ),
    path(
        "organisations/<str:ods_code>/reopen/",
        organisations.OrganisationReopenView.as_view(),
        name="organisation-reopen",
    ),
]

ra_routes: list[URLPattern | URLResolver] = [
    path(
        "registration-authorities/",
        registration_authorities.RegistrationAuthorityListView.as_view(),
        name="ra-list",
    ),
    path(
        "registration-authorities/new/",
        registration_authorities.RegistrationAuthorityCreateView.as_view(),
        name="ra-create",
    ),
    path(
        "registration-authorities/<str:code>/",
        registration_authorities.RegistrationAuthorityDetailView.as_view(),
        name="ra-detail",
    ),
    path(
        "registration-authorities/<str:code>/change/",
        registration_authorities.RegistrationAuthorityUpdateView.as_view(),
        name="ra-update",
    ),
]

# Help, guidance, cookies and privacy: open to everyone, from any network (README "Help").
help_routes: list[URLPattern | URLResolver] = [
    path("help/", help.HelpIndexView.as_view(), name="help"),
    path("help/smartcards/", help.SmartcardHelpView.as_view(), name="help-smartcards"),
    path("help/who-can-help/", help.WhoCanHelpView.as_view(), name="help-contacts"),
    path("help/before-you-start/", help.BeforeYouStartView.as_view(), name="help-before-you-start"),
    path("help/card-not-working/", help.CardNotWorkingView.as_view(), name="help-card-not-working"),
    path("help/guides/", help.GuidesView.as_view(), name="help-guides"),
    path("cookies/", help.CookiesView.as_view(), name="cookies"),
    path("privacy/", help.PrivacyView.as_view(), name="privacy"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    *session_routes,
    *help_routes,
    *my_details_routes,
    *directory_routes,
    *people_routes,
    *organisation_routes,
    *ra_routes,
    *catalogue.routes,  # the national RBAC catalogue
    *approval_policies.routes,  # how many approvers each type of request needs
    *reports.routes,  # reports, their CSV files and charts
    *audit.routes,  # the audit viewer and its CSV export
    *imports.routes,  # ODS and ESR files, for the service desk
    *oidc_clients.routes,  # clinical systems that sign people in (service desk)
    *cards.routes,  # smartcards (issue 4)
    *card_tasks.routes,  # card tasks for the workstation agent
    path("", include("cis.portal.views.certificates")),  # certificates (issue 3)
    path("requests/", include("cis.portal.views.requests")),  # requests to the RA (issue 6)
]
