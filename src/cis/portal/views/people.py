"""A person's page, and the administrators' forms that change a person."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from cis.audit.selectors import events_about
from cis.audit.sentences import event_sentences
from cis.authz.actions import Action
from cis.authz.policy import can, require
from cis.core.errors import NotFound, ProbableDuplicate
from cis.organisations.models import RegistrationAuthority
from cis.organisations.selectors import ra_list
from cis.people.models import IdentityCheck, Person, PersonStatus
from cis.people.selectors import identity_checks, person_get
from cis.people.services import (
    DOCUMENT_TYPES,
    contact_confirm_in_person,
    person_close,
    person_create,
    person_reopen,
    person_update_details,
    person_verify_identity,
)
from cis.portal.forms.people import (
    ConfirmForm,
    ContactConfirmedForm,
    PersonCloseForm,
    PersonCreateForm,
    PersonUpdateForm,
    VerifyIdentityForm,
)
from cis.portal.offers import may_grant_some_right, offered_positions, offered_requests
from cis.rbac.selectors import assignment_list
from cis.rights.selectors import grant_list

from .base import PortalPage, ServiceFormView
from .card_tasks import person_card_context
from .rows import assignment_rows, assignment_state, grant_rows
from .subject import PersonFormView

AUDIT_EVENTS_SHOWN = 20


class PersonDetailView(PortalPage):
    template_name = "portal/people/detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        actor = self.actor
        person = person_get(actor=actor, user_id=self.kwargs["user_id"])
        assignments = list(
            assignment_list(actor=actor, person=person).order_by("-start_date", "id")
        )
        current = [a for a in assignments if assignment_state(a) == "Current"]
        context.update(
            person=person,
            checks=[
                (check, [DOCUMENT_TYPES[d][0] for d in check.document_types if d in DOCUMENT_TYPES])
                for check in identity_checks(actor=actor, person=person)
            ],
            assignments=assignment_rows(
                assignments, lambda a: can(actor, Action.ASSIGNMENT_END, a)
            ),
            grants=grant_rows(
                grant_list(actor=actor, person=person).order_by("right"),
                lambda g: can(actor, Action.RIGHT_REVOKE, g),
            ),
            may_verify=can(actor, Action.PERSON_VERIFY_IDENTITY, person),
            may_close=can(actor, Action.PERSON_CLOSE, person),
            may_update=can(actor, Action.PERSON_UPDATE_DETAILS, person),
            may_confirm_contact=can(actor, Action.PERSON_CONFIRM_CONTACT, person),
            may_reopen=person.status == PersonStatus.CLOSED
            and can(actor, Action.PERSON_REOPEN, person),
            may_assign=can(actor, Action.ASSIGNMENT_CREATE, person)
            or offered_positions(actor, person).exists(),
            may_grant=may_grant_some_right(actor, person, current),
            may_audit=can(actor, Action.AUDIT_VIEW, person),
            may_end_sessions=can(actor, Action.SESSION_END, person),
            request_offers=offered_requests(actor, person),
        )
        context.update(person_card_context(self.request, actor, person))
        if context["may_audit"]:
            events = list(
                events_about(
                    actor=actor, target_type="person", target_ref=person.user_id, subject=person
                )[:AUDIT_EVENTS_SHOWN]
            )
            context["events"] = list(zip(events, event_sentences(events), strict=True))
        return context


def _ras_for(actor: Person, action: Action) -> Any:
    allowed = [ra.pk for ra in ra_list() if can(actor, action, ra)]
    return ra_list().filter(pk__in=allowed)


class PersonCreateView(ServiceFormView[PersonCreateForm]):
    template_name = "portal/people/create.html"
    form_class = PersonCreateForm
    heading = "Create a person"
    submit_label = "Create the person"

    def check_may_act(self) -> None:
        require(self.actor, Action.PERSON_CREATE)

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["ras"] = _ras_for(self.actor, Action.PERSON_CREATE)
        return kwargs

    def get_initial(self) -> dict[str, Any]:
        ras = list(_ras_for(self.actor, Action.PERSON_CREATE)[:2])
        return {"registered_ra": ras[0]} if len(ras) == 1 else {}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        form: PersonCreateForm = context["form"]
        context["duplicates"] = [self._describe(user_id) for user_id in form.duplicates]
        return context

    def _describe(self, user_id: str) -> tuple[str, Person | None]:
        try:
            return user_id, person_get(actor=self.actor, user_id=user_id)
        except NotFound:
            return user_id, None

    def perform(self, form: PersonCreateForm) -> Person:
        data = form.cleaned_data
        registered_ra: RegistrationAuthority = data["registered_ra"]
        try:
            return person_create(
                actor=self.actor,
                given_name=data["given_name"],
                family_name=data["family_name"],
                date_of_birth=data["date_of_birth"],
                registered_ra=registered_ra,
                email=data["email"],
                mobile=data["mobile"],
                professional_body=data["professional_body"],
                professional_number=data["professional_number"],
                kind=data["kind"],
                access_ends_on=data["access_ends_on"],
                acknowledged_duplicates=form.acknowledged(),
            )
        except ProbableDuplicate as exc:
            form.flag_duplicates(exc.matches)
            raise

    def success_message(self, result: Person) -> str:
        return (
            f"{result.full_name} has been created with user id {result.user_id}. "
            "Their identity must be checked before they can hold a position."
        )

    def success_url_for(self, result: Person) -> str:
        return reverse("portal:person-detail", args=[result.user_id])


class PersonUpdateView(PersonFormView[PersonUpdateForm]):
    action = Action.PERSON_UPDATE_DETAILS
    template_name = "portal/people/update.html"
    form_class = PersonUpdateForm
    heading = "Change personal details"
    submit_label = "Save the details"

    def get_initial(self) -> dict[str, Any]:
        person = self.person
        return {
            "given_name": person.given_name,
            "family_name": person.family_name,
            "date_of_birth": person.date_of_birth,
            "professional_body": person.professional_body,
            "professional_number": person.professional_number,
        }

    def perform(self, form: PersonUpdateForm) -> Person:
        return person_update_details(actor=self.actor, person=self.person, **form.cleaned_data)

    def success_message(self, result: Person) -> str:
        return f"{result.full_name}'s details are saved."


class PersonVerifyView(PersonFormView[VerifyIdentityForm]):
    action = Action.PERSON_VERIFY_IDENTITY
    template_name = "portal/people/verify.html"
    form_class = VerifyIdentityForm
    heading = "Record an identity check"
    submit_label = "Record the check"

    def perform(self, form: VerifyIdentityForm) -> IdentityCheck:
        return person_verify_identity(
            actor=self.actor,
            person=self.person,
            document_types=form.cleaned_data["document_types"],
            checked_on=form.cleaned_data["checked_on"],
            notes=form.cleaned_data["notes"],
            photo=form.cleaned_data["photo"].read() if form.cleaned_data["photo"] else None,
        )

    def success_message(self, result: IdentityCheck) -> str:
        return f"The identity check for {self.person.full_name} has been recorded."


class PersonContactConfirmedView(PersonFormView[ContactConfirmedForm]):
    action = Action.PERSON_CONFIRM_CONTACT
    template_name = "portal/people/contact_confirmed.html"
    form_class = ContactConfirmedForm
    heading = "Record a contact detail confirmed in person"
    submit_label = "Record it as verified"

    def perform(self, form: ContactConfirmedForm) -> Person:
        return contact_confirm_in_person(
            actor=self.actor,
            person=self.person,
            channel=form.cleaned_data["channel"],
            value=form.cleaned_data["value"],
            how=form.cleaned_data["how"],
        )

    def success_message(self, result: Person) -> str:
        return f"{result.full_name}'s contact details are recorded as verified."


class PersonCloseView(PersonFormView[PersonCloseForm]):
    action = Action.PERSON_CLOSE
    template_name = "portal/people/close.html"
    form_class = PersonCloseForm
    heading = "Close this profile"
    submit_label = "Close the profile"
    button_class = "nhsuk-button--warning"

    def perform(self, form: PersonCloseForm) -> Person:
        return person_close(
            actor=self.actor, person=self.person, reason=form.cleaned_data["reason"]
        )

    def success_message(self, result: Person) -> str:
        return f"{result.full_name}'s profile is closed."


class PersonReopenView(PersonFormView[ConfirmForm]):
    action = Action.PERSON_REOPEN
    template_name = "portal/people/reopen.html"
    form_class = ConfirmForm
    heading = "Reopen this profile"
    submit_label = "Reopen the profile"

    def perform(self, form: ConfirmForm) -> Person:
        return person_reopen(actor=self.actor, person=self.person)

    def success_message(self, result: Person) -> str:
        return f"{result.full_name}'s profile is open again ({result.get_status_display()})."
