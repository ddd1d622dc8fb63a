"""Version 1 of the REST API: one block of routes per domain; add a block for a new domain."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from . import (
    assignments,
    audit,
    card_tasks,
    cards,
    catalogue,
    me,
    organisations,
    people,
    positions,
    reports,
    rights,
)

app_name = "api-v1"

urlpatterns: list[URLPattern | URLResolver] = [
    # Self-service
    path("me/", me.MeView.as_view(), name="me"),
    path(
        "me/contact-verifications/",
        me.ContactVerificationStartView.as_view(),
        name="contact-verification-list",
    ),
    path(
        "me/contact-verifications/<int:verification_id>/confirm/",
        me.ContactVerificationConfirmView.as_view(),
        name="contact-verification-confirm",
    ),
    # People
    path("people/", people.PersonListView.as_view(), name="person-list"),
    path("people/<str:user_id>/", people.PersonDetailView.as_view(), name="person-detail"),
    path(
        "people/<str:user_id>/identity-checks/",
        people.PersonIdentityCheckView.as_view(),
        name="person-identity-checks",
    ),
    path(
        "people/<str:user_id>/contact-confirmed/",
        people.PersonContactConfirmedView.as_view(),
        name="person-contact-confirmed",
    ),
    path("people/<str:user_id>/close/", people.PersonCloseView.as_view(), name="person-close"),
    path("people/<str:user_id>/reopen/", people.PersonReopenView.as_view(), name="person-reopen"),
    path(
        "people/<str:user_id>/extend-access/",
        people.PersonExtendAccessView.as_view(),
        name="person-extend-access",
    ),
    path(
        "people/<str:user_id>/rights/", people.PersonRightListView.as_view(), name="person-rights"
    ),
    # Organisations
    path("organisations/", organisations.OrganisationListView.as_view(), name="organisation-list"),
    path(
        "organisations/<str:ods_code>/",
        organisations.OrganisationDetailView.as_view(),
        name="organisation-detail",
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
    path(
        "organisations/<str:ods_code>/move/",
        organisations.OrganisationMoveView.as_view(),
        name="organisation-move",
    ),
    # Registration Authorities
    path(
        "registration-authorities/",
        organisations.RegistrationAuthorityListView.as_view(),
        name="ra-list",
    ),
    path(
        "registration-authorities/<str:code>/",
        organisations.RegistrationAuthorityDetailView.as_view(),
        name="ra-detail",
    ),
    # Positions
    path("positions/", positions.PositionListView.as_view(), name="position-list"),
    path(
        "positions/<int:position_id>/",
        positions.PositionDetailView.as_view(),
        name="position-detail",
    ),
    path(
        "positions/<int:position_id>/retire/",
        positions.PositionRetireView.as_view(),
        name="position-retire",
    ),
    # The national RBAC catalogue
    *catalogue.urlpatterns,
    # Position assignments
    path("assignments/", assignments.AssignmentListView.as_view(), name="assignment-list"),
    path(
        "assignments/<int:assignment_id>/",
        assignments.AssignmentDetailView.as_view(),
        name="assignment-detail",
    ),
    path(
        "assignments/<int:assignment_id>/end/",
        assignments.AssignmentEndView.as_view(),
        name="assignment-end",
    ),
    # CIS rights
    path("rights/", rights.RightListView.as_view(), name="right-list"),
    path("rights/<int:grant_id>/", rights.RightDetailView.as_view(), name="right-detail"),
    path("rights/<int:grant_id>/revoke/", rights.RightRevokeView.as_view(), name="right-revoke"),
    # Smartcards and the workstation agent
    *cards.urlpatterns,
    *card_tasks.urlpatterns,
    path("", include("cis.api.v1.requests")),  # Requests to the RA (workflow)
    path("", include("cis.api.v1.approval_policies")),  # How many approvers each type needs
    path("", include("cis.api.v1.certificates")),  # Certificates (PKI)
    *reports.routes,  # Reports, JSON or CSV
    *audit.routes,  # The audit trail, JSON or CSV
    path("", include("cis.api.v1.imports")),  # ODS and ESR imports, run by the jobs runner
    path("", include("cis.api.v1.oidc_clients")),  # clinical systems (service desk)
    path("", include("cis.api.v1.sessions")),  # sign-in sessions and security keys
]
