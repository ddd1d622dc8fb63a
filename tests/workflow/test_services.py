"""Raising, approving, applying, rejecting and cancelling requests, through the services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from cis.audit.models import AuditEvent
from cis.core import clock
from cis.core.errors import (
    Conflict,
    InvalidState,
    NotFound,
    NotPermitted,
    ProbableDuplicate,
    ValidationFailed,
)
from cis.people.models import Person, PersonStatus
from cis.rbac.models import PositionAssignment
from cis.rights.models import Right, RightGrant
from cis.workflow import services
from cis.workflow.apply import IdentityEvidence
from cis.workflow.models import Notification, Request
from cis.workflow.states import EventKind, RequestState, RequestType
from tests.factories.directory import PersonFactory

from .desk import PHOTO, Desk

pytestmark = pytest.mark.django_db

EVIDENCE = IdentityEvidence(
    document_types=["passport", "utility_bill", "birth_certificate"], photo=PHOTO
)


def register(desk: Desk, **extra: object) -> Request:
    payload = {
        "ods_code": desk.branch.ods_code,
        "given_name": "Nia",
        "family_name": "Newstarter",
        "date_of_birth": "1990-02-03",
        "email": "nia@example.nhs.uk",
        "position_id": desk.pharmacist.pk,
        **extra,
    }
    return services.request_raise(
        actor=desk.sponsor,
        request_type=RequestType.PERSON_REGISTER,
        payload=payload,
        note="Starts Monday",
    )


def kinds(request: Request) -> list[str]:
    return list(request.history.values_list("kind", flat=True))


class TestRaise:
    def test_a_sponsor_raises_a_registration_for_their_branch(self, desk: Desk) -> None:
        request = register(desk)
        assert request.state == RequestState.SUBMITTED
        assert request.subject is None
        assert request.organisation == desk.branch
        assert request.ra == desk.ra
        assert request.payload["date_of_birth"] == "1990-02-03"
        assert request.due_at > request.raised_at
        assert kinds(request) == [EventKind.RAISED]
        event = AuditEvent.objects.get(action="request.raise")
        assert event.target_ref == request.ref
        assert event.rule.startswith("in-scope:sponsor")

    def test_the_ra_queue_is_told_but_not_the_sponsor(self, desk: Desk) -> None:
        request = register(desk)
        to = set(
            Notification.objects.filter(event_key=f"request:{request.pk}:raised").values_list(
                "recipient", flat=True
            )
        )
        assert to == {desk.agent.email, desk.agent2.email, desk.manager.email, desk.manager2.email}

    def test_a_holder_without_rights_cannot_raise(self, desk: Desk) -> None:
        with pytest.raises(NotPermitted, match="do not have a right"):
            register_as(desk.holder, desk)

    def test_a_sponsor_cannot_raise_outside_their_organisations(self, desk: Desk) -> None:
        from tests.factories.directory import OrganisationFactory

        elsewhere = OrganisationFactory(ods_code="FZZ99", serving_ra=desk.ra)
        with pytest.raises(NotPermitted, match="outside the organisations"):
            services.request_raise(
                actor=desk.sponsor,
                request_type=RequestType.PERSON_REGISTER,
                payload={
                    "ods_code": elsewhere.ods_code,
                    "given_name": "A",
                    "family_name": "B",
                    "date_of_birth": "1990-01-01",
                },
            )

    def test_a_position_at_a_closed_organisation_is_refused(self, desk: Desk) -> None:
        with pytest.raises(InvalidState, match="closed") as caught:
            services.request_raise(
                actor=desk.agent,
                request_type=RequestType.POSITION_ADD,
                payload={"user_id": desk.holder.user_id, "position_id": desk.closed_post.pk},
            )
        assert caught.value.field == "payload.position_id"
        assert not Request.objects.exists()

    def test_nobody_raises_a_request_about_themselves(self, desk: Desk) -> None:
        with pytest.raises(NotPermitted, match="own record"):
            services.request_raise(
                actor=desk.sponsor,
                request_type=RequestType.CARD_ISSUE,
                payload={"user_id": desk.sponsor.user_id},
            )

    def test_the_same_open_request_twice_is_a_conflict(self, desk: Desk) -> None:
        first = register(desk)
        with pytest.raises(Conflict, match=first.ref):
            register(desk)

    @pytest.mark.parametrize(
        ("request_type", "payload", "field", "message"),
        [
            ("make_tea", {}, "request_type", "not a type of request"),
            (RequestType.PERSON_REGISTER, {"given_name": "A"}, "payload.ods_code", "organisation"),
            (
                RequestType.PERSON_REGISTER,
                {"ods_code": "FBW01", "given_name": "", "family_name": "B"},
                "payload.given_name",
                "Enter given name",
            ),
            (
                RequestType.PERSON_REGISTER,
                {
                    "ods_code": "FBW01",
                    "given_name": "A",
                    "family_name": "B",
                    "date_of_birth": "3/2/90",
                },
                "payload.date_of_birth",
                "not a date",
            ),
            (
                RequestType.PERSON_REGISTER,
                {
                    "ods_code": "FBW01",
                    "given_name": "A",
                    "family_name": "B",
                    "date_of_birth": "2990-01-01",
                },
                "payload.date_of_birth",
                "must be in the past",
            ),
            (
                RequestType.PERSON_REGISTER,
                {
                    "ods_code": "FBW01",
                    "given_name": "A",
                    "family_name": "B",
                    "date_of_birth": "1990-01-01",
                    "email": "not-an-email",
                },
                "payload.email",
                "Enter an email address in the correct format",
            ),
            (
                RequestType.PERSON_REGISTER,
                {"ods_code": "F!", "given_name": "A"},
                "payload.ods_code",
                "Enter an ODS code in the correct format",
            ),
            (RequestType.CARD_ISSUE, {"user_id": "12"}, "payload.user_id", "12 digits"),
            (RequestType.CARD_ISSUE, {"user_id": "999999999999"}, "payload.user_id", "No person"),
            (RequestType.CARD_ISSUE, {"colour": "blue"}, "payload.colour", "does not take"),
            (RequestType.POSITION_END, {"assignment_id": "x"}, "payload.assignment_id", "valid"),
            (RequestType.PROFILE_CLOSE, {"user_id": "HOLDER"}, "payload.reason", "reason"),
            (
                RequestType.CARD_REPLACE,
                {"user_id": "HOLDER", "reason": "bored"},
                "payload.reason",
                "lost, stolen",
            ),
        ],
    )
    def test_invalid_payloads_are_refused_with_a_reason(
        self, desk: Desk, request_type: str, payload: dict[str, str], field: str, message: str
    ) -> None:
        body = {k: desk.holder.user_id if v == "HOLDER" else v for k, v in payload.items()}
        with pytest.raises((ValidationFailed, NotFound)) as caught:
            services.request_raise(actor=desk.agent, request_type=request_type, payload=body)
        assert caught.value.field == field
        assert message in caught.value.message
        assert not Request.objects.exists()

    def test_a_payload_that_is_not_an_object_is_refused(self, desk: Desk) -> None:
        with pytest.raises(ValidationFailed, match="object"):
            services.request_raise(
                actor=desk.agent,
                request_type=RequestType.CARD_ISSUE,
                payload=["x"],  # type: ignore[arg-type]
            )


def register_as(actor: Person, desk: Desk) -> Request:
    return services.request_raise(
        actor=actor,
        request_type=RequestType.PERSON_REGISTER,
        payload={
            "ods_code": desk.branch.ods_code,
            "given_name": "A",
            "family_name": "B",
            "date_of_birth": "1990-01-01",
        },
    )


class TestApproveAndApply:
    def test_registration_with_identity_evidence_creates_verifies_and_assigns(
        self, desk: Desk
    ) -> None:
        request = register(desk)
        done = services.request_approve(actor=desk.agent, request=request, identity=EVIDENCE)
        assert done.state == RequestState.APPLIED
        person = Person.objects.get(family_name="Newstarter")
        assert done.subject == person
        assert person.status == PersonStatus.ACTIVE
        check = person.identity_checks.get()
        assert bytes(check.photo) == PHOTO
        assert check.checker == desk.agent
        assignment = PositionAssignment.objects.get(person=person)
        assert assignment.position == desk.pharmacist
        assert assignment.request_ref == request.ref
        assert done.result_ref == f"person:{person.user_id}"
        assert kinds(done) == [EventKind.RAISED, EventKind.APPROVED, EventKind.APPLIED]
        # The underlying services name the request in their own audit events.
        assert AuditEvent.objects.filter(action="assignment.create", request_ref=request.ref)
        decided = Notification.objects.get(event_key=f"request:{request.pk}:applied")
        assert decided.recipient == desk.sponsor.email

    def test_registration_without_evidence_leaves_the_person_restricted(self, desk: Desk) -> None:
        request = register(desk)
        with pytest.raises(ValidationFailed, match="would drop what was asked for"):
            services.request_approve(actor=desk.agent, request=request)
        done = services.request_approve(
            actor=desk.agent, request=request, partial_reason="Documents to follow."
        )
        person = done.subject
        assert person is not None
        assert person.status == PersonStatus.RESTRICTED
        assert not PositionAssignment.objects.filter(person=person).exists()
        assert "restricted" in done.history.last().note  # type: ignore[union-attr]

    def test_evidence_must_follow_the_document_rules(self, desk: Desk) -> None:
        request = register(desk)
        weak = IdentityEvidence(
            document_types=["passport", "national_id", "birth_certificate"], photo=PHOTO
        )
        with pytest.raises(ValidationFailed, match="prove the address"):
            services.request_approve(actor=desk.agent, request=request, identity=weak)
        request.refresh_from_db()
        assert request.state == RequestState.SUBMITTED
        assert not Person.objects.filter(family_name="Newstarter").exists()

    def test_a_probable_duplicate_must_be_looked_at_first(self, desk: Desk) -> None:
        twin = PersonFactory(  # in the RA Agent's view: their RA registered them
            given_name="Nia",
            family_name="Newstarter",
            date_of_birth=dt.date(1990, 2, 3),
            registered_ra=desk.ra,
        )
        request = register(desk)
        with pytest.raises(ProbableDuplicate) as caught:
            services.request_approve(actor=desk.agent, request=request, identity=EVIDENCE)
        assert caught.value.matches == [twin.user_id]
        request.refresh_from_db()
        assert request.state == RequestState.SUBMITTED
        done = services.request_approve(
            actor=desk.agent,
            request=request,
            identity=EVIDENCE,
            acknowledged_duplicates=[twin.user_id],
        )
        assert done.state == RequestState.APPLIED

    def test_add_and_end_a_position(self, desk: Desk) -> None:
        other = PersonFactory(registered_ra=desk.ra)
        from tests.factories.directory import AssignmentFactory, PositionFactory

        AssignmentFactory(person=other, position=PositionFactory(organisation=desk.branch))
        add = services.request_raise(
            actor=desk.sponsor,
            request_type=RequestType.POSITION_ADD,
            payload={"user_id": other.user_id, "position_id": desk.pharmacist.pk},
        )
        services.request_approve(actor=desk.agent, request=add)
        assignment = PositionAssignment.objects.get(person=other, position=desk.pharmacist)
        end = services.request_raise(
            actor=desk.sponsor,
            request_type=RequestType.POSITION_END,
            payload={"assignment_id": assignment.pk},
        )
        assert end.subject == other
        services.request_approve(actor=desk.agent2, request=end)
        assignment.refresh_from_db()
        assert assignment.end_date == clock.today()
        assert assignment.ended_by == desk.agent2

    def test_a_name_change_needs_evidence(self, desk: Desk) -> None:
        payload = {"user_id": desk.holder.user_id, "family_name": "Married"}
        with pytest.raises(ValidationFailed, match="needs evidence") as caught:
            services.request_raise(
                actor=desk.sponsor, request_type=RequestType.DETAILS_CHANGE, payload=payload
            )
        assert caught.value.field == "payload.evidence"
        request = services.request_raise(
            actor=desk.sponsor,
            request_type=RequestType.DETAILS_CHANGE,
            payload={**payload, "evidence": "marriage_certificate"},
        )
        assert request.payload["before"] == {"family_name": "Holder"}
        services.request_approve(actor=desk.agent, request=request)
        desk.holder.refresh_from_db()
        assert desk.holder.family_name == "Married"

    def test_a_change_that_changes_nothing_is_refused(self, desk: Desk) -> None:
        with pytest.raises(ValidationFailed, match="Nothing to change"):
            services.request_raise(
                actor=desk.sponsor,
                request_type=RequestType.DETAILS_CHANGE,
                payload={"user_id": desk.holder.user_id, "family_name": "Holder"},
            )

    def test_close_then_reopen(self, desk: Desk) -> None:
        close = services.request_raise(
            actor=desk.sponsor,
            request_type=RequestType.PROFILE_CLOSE,
            payload={"user_id": desk.holder.user_id, "reason": "Left the company"},
        )
        services.request_approve(actor=desk.agent, request=close)
        desk.holder.refresh_from_db()
        assert desk.holder.status == PersonStatus.CLOSED
        reopen = services.request_raise(
            actor=desk.sponsor,
            request_type=RequestType.PROFILE_REOPEN,
            payload={"user_id": desk.holder.user_id, "reason": "Came back"},
        )
        services.request_approve(actor=desk.agent, request=reopen)
        desk.holder.refresh_from_db()
        assert desk.holder.status == PersonStatus.ACTIVE

    def test_a_request_whose_subject_was_closed_meanwhile_cannot_be_applied(
        self, desk: Desk
    ) -> None:
        card = services.request_raise(
            actor=desk.sponsor,
            request_type=RequestType.CARD_ISSUE,
            payload={"user_id": desk.holder.user_id},
        )
        from cis.people.services import person_close

        person_close(actor=desk.agent2, person=desk.holder, reason="Left")
        with pytest.raises(InvalidState, match="closed after this request was raised"):
            services.request_approve(actor=desk.agent, request=card)
        card.refresh_from_db()
        assert card.state == RequestState.SUBMITTED
        rejected = services.request_reject(
            actor=desk.agent, request=card, reason="The holder has left."
        )
        assert rejected.state == RequestState.REJECTED

    def test_a_card_request_is_authorised_then_fulfilled_by_the_card_issue(
        self, desk: Desk
    ) -> None:
        card = services.request_raise(
            actor=desk.sponsor,
            request_type=RequestType.CARD_REPLACE,
            payload={"user_id": desk.holder.user_id, "reason": "lost"},
        )
        approved = services.request_approve(actor=desk.agent, request=card)
        assert approved.state == RequestState.APPROVED
        assert services.card_authorisation(person=desk.holder) == approved
        done = services.request_fulfil(actor=desk.agent2, request=approved, result_ref="card:0042")
        assert done.state == RequestState.APPLIED
        assert done.result_ref == "card:0042"
        assert services.card_authorisation(person=desk.holder) is None

    def test_a_second_approver_finds_it_already_applied(self, desk: Desk) -> None:
        """The sequential form of the race: the second approver is told who got there first."""
        request = register(desk)
        services.request_approve(actor=desk.agent, request=request, identity=EVIDENCE)
        with pytest.raises(InvalidState, match="already been applied by Alex Agent"):
            services.request_approve(actor=desk.agent2, request=request, identity=EVIDENCE)
        assert Person.objects.filter(family_name="Newstarter").count() == 1
        assert PositionAssignment.objects.filter(position=desk.pharmacist).count() == 2


class TestSeparationOfDuties:
    def test_nobody_approves_what_they_raised(self, desk: Desk) -> None:
        request = services.request_raise(
            actor=desk.agent,
            request_type=RequestType.CARD_ISSUE,
            payload={"user_id": desk.holder.user_id},
        )
        with pytest.raises(NotPermitted, match="they raised"):
            services.request_approve(actor=desk.agent, request=request)
        with pytest.raises(NotPermitted, match="they raised"):
            services.request_reject(actor=desk.agent, request=request, reason="no")

    def test_nobody_approves_a_request_about_themselves(self, desk: Desk) -> None:
        request = services.request_raise(
            actor=desk.sponsor,
            request_type=RequestType.CARD_ISSUE,
            payload={"user_id": desk.agent.user_id},
        )
        with pytest.raises(NotPermitted, match="own record"):
            services.request_approve(actor=desk.agent, request=request)
        assert services.request_approve(actor=desk.agent2, request=request).state == "approved"

    def test_a_sponsor_cannot_approve(self, desk: Desk) -> None:
        request = register(desk)
        with pytest.raises(NotPermitted):
            services.request_approve(actor=desk.lsa, request=request)


class TestRights:
    def grant_request(self, desk: Desk, actor: Person | None = None) -> Request:
        return services.request_raise(
            actor=actor or desk.manager,
            request_type=RequestType.RIGHT_GRANT,
            payload={"user_id": desk.holder.user_id, "right": "lsa", "ods_code": "FBW01"},
        )

    def test_only_an_ra_manager_raises_a_rights_request(self, desk: Desk) -> None:
        for actor in (desk.sponsor, desk.agent):
            with pytest.raises(NotPermitted, match="Only an RA Manager"):
                self.grant_request(desk, actor)

    def test_only_an_ra_manager_decides_it(self, desk: Desk) -> None:
        request = self.grant_request(desk)
        with pytest.raises(NotPermitted, match="Only an RA Manager"):
            services.request_approve(actor=desk.agent, request=request)
        services.request_approve(actor=desk.manager2, request=request)
        grant = RightGrant.objects.get(person=desk.holder)
        assert grant.right == Right.LSA
        assert grant.request_ref == request.ref

    def test_an_ra_manager_right_is_not_requested(self, desk: Desk) -> None:
        with pytest.raises(ValidationFailed, match="service desk"):
            services.request_raise(
                actor=desk.manager,
                request_type=RequestType.RIGHT_GRANT,
                payload={"user_id": desk.holder.user_id, "right": "ra_manager", "ra_code": "RA-W"},
            )

    def test_a_sensitive_type_can_need_a_second_approver(self, desk: Desk) -> None:
        third = PersonFactory(given_name="Third", family_name="Manager", registered_ra=desk.ra)
        from cis.workflow.approval_policy import approval_policy_set
        from tests.factories.directory import RightGrantFactory

        RightGrantFactory(person=third, right=Right.RA_MANAGER, ra=desk.ra)
        approval_policy_set(
            actor=desk.service_desk,
            request_type="right_grant",
            approvals_needed=2,
            approver_rights=["ra_manager"],
        )
        request = self.grant_request(desk)
        assert request.approvals_needed == 2
        first = services.request_approve(actor=desk.manager2, request=request)
        assert first.state == RequestState.SUBMITTED
        assert not RightGrant.objects.filter(person=desk.holder).exists()
        with pytest.raises(Conflict, match="needs 2 different approvers"):
            services.request_approve(actor=desk.manager2, request=request)
        done = services.request_approve(actor=third, request=request)
        assert done.state == RequestState.APPLIED
        assert RightGrant.objects.filter(person=desk.holder).count() == 1
        assert kinds(done) == ["raised", "approval", "approved", "applied"]

    def test_revoke(self, desk: Desk) -> None:
        grant = RightGrant.objects.get(person=desk.lsa)
        request = services.request_raise(
            actor=desk.manager,
            request_type=RequestType.RIGHT_REVOKE,
            payload={"grant_id": grant.pk, "reason": "Moved on"},
        )
        assert request.subject == desk.lsa
        services.request_approve(actor=desk.manager2, request=request)
        grant.refresh_from_db()
        assert grant.revoked_at is not None


class TestRejectAndCancel:
    def test_a_rejection_needs_a_reason_and_tells_the_requester(self, desk: Desk) -> None:
        request = register(desk)
        with pytest.raises(ValidationFailed, match="reason"):
            services.request_reject(actor=desk.agent, request=request, reason="  ")
        services.request_reject(actor=desk.agent, request=request, reason="Wrong branch")
        note = Notification.objects.get(event_key=f"request:{request.pk}:rejected")
        assert note.recipient == desk.sponsor.email
        assert "Wrong branch" in note.body
        with pytest.raises(InvalidState, match="already been rejected by Alex Agent"):
            services.request_approve(actor=desk.agent2, request=request)

    def test_the_raiser_withdraws_their_request(self, desk: Desk) -> None:
        request = register(desk)
        done = services.request_cancel(actor=desk.sponsor, request=request, reason="Not needed")
        assert done.state == RequestState.CANCELLED
        assert done.closed_at is not None
        with pytest.raises(InvalidState, match="already been cancelled"):
            services.request_cancel(actor=desk.sponsor, request=request)

    def test_someone_else_without_ra_rights_cannot_cancel(self, desk: Desk) -> None:
        request = register(desk)
        with pytest.raises(NotPermitted):
            services.request_cancel(actor=desk.lsa, request=request)


def test_decision_emails_go_out_through_the_job(desk: Desk) -> None:
    from cis.workflow.notifications import deliver_pending

    request = register(desk)
    services.request_reject(actor=desk.agent, request=request, reason="Duplicate")
    result = deliver_pending()
    assert result.sent == Notification.objects.count()
    assert {m.subject for m in mail.outbox} >= {f"Request {request.ref} rejected"}
    assert deliver_pending().sent == 0


class TestIdentityEvidence:
    def test_a_photo_of_the_person_is_required(self, desk: Desk) -> None:
        request = register(desk)
        no_photo = IdentityEvidence(document_types=list(EVIDENCE.document_types))
        with pytest.raises(ValidationFailed, match="photo") as caught:
            services.request_approve(actor=desk.agent, request=request, identity=no_photo)
        assert caught.value.field == "identity.photo"
        assert not Person.objects.filter(family_name="Newstarter").exists()

    def test_the_photo_must_be_an_image(self, desk: Desk) -> None:
        request = register(desk)
        not_image = IdentityEvidence(
            document_types=list(EVIDENCE.document_types), photo=b"%PDF-1.7 not a photo"
        )
        with pytest.raises(ValidationFailed, match="JPEG or PNG"):
            services.request_approve(actor=desk.agent, request=request, identity=not_image)
        request.refresh_from_db()
        assert request.state == RequestState.SUBMITTED
