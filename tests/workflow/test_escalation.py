"""Escalation: by the clock past the due time, and by hand, visible to whoever follows it."""

from __future__ import annotations

import datetime as dt

import pytest

from cis.audit.models import AuditEvent
from cis.core import clock
from cis.core.errors import InvalidState, NotPermitted, ValidationFailed
from cis.workflow import schedule, selectors, services
from cis.workflow.models import Escalation, Notification, Request
from cis.workflow.selectors import QueueFilter
from cis.workflow.states import EscalationLevel, RequestState, RequestType

from .desk import Desk

pytestmark = pytest.mark.django_db


def card_for_holder(desk: Desk) -> Request:
    return services.request_raise(
        actor=desk.sponsor,
        request_type=RequestType.CARD_ISSUE,
        payload={"user_id": desk.holder.user_id},
    )


def recipients(event_key: str) -> set[str]:
    return set(Notification.objects.filter(event_key=event_key).values_list("recipient", flat=True))


class TestByTheClock:
    def test_nothing_escalates_before_the_due_time(self, desk: Desk) -> None:
        card_for_holder(desk)
        assert schedule.escalate_overdue() == 0

    def test_overdue_goes_to_the_ra_manager_then_the_service_desk(self, desk: Desk) -> None:
        request = card_for_holder(desk)
        clock.travel(request.due_at - clock.now() + dt.timedelta(minutes=1))
        assert schedule.escalate_overdue() == 1
        request.refresh_from_db()
        assert request.state == RequestState.ESCALATED
        assert request.escalation_level == EscalationLevel.RA_MANAGER
        assert request.due_at > clock.now()
        first = recipients(f"request:{request.pk}:escalated:1")
        assert {desk.manager.email, desk.manager2.email, desk.sponsor.email} <= first
        assert desk.service_desk.email not in first
        assert desk.holder.email in first  # the subject can follow it too
        assert AuditEvent.objects.filter(
            action="request.escalate", rule="schedule:request-overdue"
        ).exists()

        # Run again straight away: nothing more is due, so nothing happens (idempotent).
        assert schedule.escalate_overdue() == 0

        clock.travel(request.due_at - clock.now() + dt.timedelta(minutes=1))
        assert schedule.escalate_overdue() == 1
        request.refresh_from_db()
        assert request.escalation_level == EscalationLevel.SERVICE_DESK
        assert desk.service_desk.email in recipients(f"request:{request.pk}:escalated:2")

        # The service desk is the last level.
        clock.travel(dt.timedelta(days=30))
        assert schedule.escalate_overdue() == 0

    def test_the_requester_sees_the_escalation_in_their_requests(self, desk: Desk) -> None:
        request = card_for_holder(desk)
        clock.travel(dt.timedelta(days=7))
        schedule.escalate_overdue()
        mine = selectors.request_queue(actor=desk.sponsor, filters=QueueFilter(view="mine"))
        assert [(r.pk, r.state) for r in mine] == [(request.pk, RequestState.ESCALATED)]
        at_manager = selectors.escalations_for(actor=desk.manager)
        assert request in at_manager
        assert request not in selectors.escalations_for(actor=desk.service_desk)

    def test_a_decision_closes_the_escalation(self, desk: Desk) -> None:
        request = card_for_holder(desk)
        clock.travel(dt.timedelta(days=7))
        schedule.escalate_overdue()
        services.request_approve(actor=desk.manager, request=request)
        escalation = Escalation.objects.get(request=request)
        assert escalation.closed_at is not None
        assert escalation.outcome == "Request approved"

    def test_forgotten_requests_expire(self, desk: Desk, settings: object) -> None:
        request = card_for_holder(desk)
        clock.travel(dt.timedelta(days=91))
        schedule.escalate_overdue()
        assert schedule.expire_stale() == 1
        request.refresh_from_db()
        assert request.state == RequestState.EXPIRED
        assert schedule.expire_stale() == 0
        assert desk.sponsor.email in recipients(f"request:{request.pk}:expired")


class TestByHand:
    def test_the_holder_escalates_a_request_about_them(self, desk: Desk) -> None:
        request = card_for_holder(desk)
        escalation = services.request_escalate(
            actor=desk.holder, request=request, reason="My RA has not responded"
        )
        assert escalation.level == EscalationLevel.RA_MANAGER
        assert escalation.raised_by == desk.holder
        request.refresh_from_db()
        assert request.state == RequestState.ESCALATED
        # They follow it to its close.
        assert list(selectors.my_escalations(actor=desk.holder)) == [escalation]
        services.request_approve(actor=desk.agent, request=request)
        escalation.refresh_from_db()
        assert escalation.closed_at is not None
        assert desk.holder.email in recipients(f"request:{request.pk}:approved")

    def test_an_lsa_in_scope_escalates(self, desk: Desk) -> None:
        request = card_for_holder(desk)
        services.request_escalate(actor=desk.lsa, request=request, reason="Pharmacist waiting")
        assert Escalation.objects.get(request=request).raised_by == desk.lsa

    def test_someone_out_of_scope_cannot(self, desk: Desk) -> None:
        from tests.factories.directory import PersonFactory

        request = card_for_holder(desk)
        with pytest.raises(NotPermitted):
            services.request_escalate(actor=PersonFactory(), request=request, reason="Hurry")

    def test_a_reason_is_needed(self, desk: Desk) -> None:
        with pytest.raises(ValidationFailed, match="reason"):
            services.request_escalate(actor=desk.holder, request=card_for_holder(desk), reason="")

    def test_the_service_desk_only_once_the_ra_manager_is_overdue(self, desk: Desk) -> None:
        request = card_for_holder(desk)
        services.request_escalate(actor=desk.holder, request=request, reason="No answer")
        with pytest.raises(InvalidState, match="already with the RA Manager"):
            services.request_escalate(actor=desk.holder, request=request, reason="Still none")
        request.refresh_from_db()
        clock.travel(request.due_at - clock.now() + dt.timedelta(minutes=1))
        second = services.request_escalate(actor=desk.holder, request=request, reason="Still none")
        assert second.level == EscalationLevel.SERVICE_DESK
        with pytest.raises(InvalidState, match="last level"):
            services.request_escalate(actor=desk.holder, request=request, reason="And again")

    def test_a_closed_request_cannot_be_escalated(self, desk: Desk) -> None:
        request = card_for_holder(desk)
        services.request_cancel(actor=desk.sponsor, request=request)
        with pytest.raises(InvalidState, match="already been cancelled"):
            services.request_escalate(actor=desk.holder, request=request, reason="Why?")


class TestQueue:
    def test_open_closed_mine_and_filters(self, desk: Desk) -> None:
        card = card_for_holder(desk)
        close = services.request_raise(
            actor=desk.agent,
            request_type=RequestType.PROFILE_CLOSE,
            payload={"user_id": desk.lsa.user_id, "reason": "Left"},
        )
        services.request_reject(actor=desk.agent2, request=close, reason="Not yet")

        def view(actor: object, **kw: object) -> list[int]:
            rows = selectors.request_queue(actor=actor, filters=QueueFilter(**kw))  # type: ignore[arg-type]
            return [r.pk for r in rows]

        assert view(desk.agent) == [card.pk]
        assert view(desk.agent, view="closed") == [close.pk]
        assert view(desk.agent, view="mine") == [close.pk]
        assert view(desk.agent, request_type="card_issue") == [card.pk]
        assert view(desk.agent, request_type="profile_close") == []
        assert view(desk.agent, ods_code="fbw01") == [card.pk]
        assert view(desk.agent, ods_code="FHW01") == []
        assert view(desk.agent, older_than_days=3) == []
        clock.travel(dt.timedelta(days=4))
        assert view(desk.agent, older_than_days=3) == [card.pk]
        # Closed in the last 30 days only.
        clock.travel(dt.timedelta(days=30))
        assert view(desk.agent, view="closed") == []

    def test_people_see_only_what_they_may(self, desk: Desk) -> None:
        card = card_for_holder(desk)
        from tests.factories.directory import PersonFactory

        assert [r.pk for r in selectors.request_queue(actor=desk.holder)] == [card.pk]
        assert list(selectors.request_queue(actor=PersonFactory())) == []
        assert selectors.request_get(actor=desk.lsa, pk=card.pk) == card
        with pytest.raises(Exception, match="No such request"):
            selectors.request_get(actor=PersonFactory(), pk=card.pk)

    def test_history_is_complete(self, desk: Desk) -> None:
        request = card_for_holder(desk)
        services.request_escalate(actor=desk.holder, request=request, reason="Waiting")
        services.request_approve(actor=desk.agent, request=request, note="Checked")
        history = [
            (e.kind, e.actor_name, e.from_state, e.to_state)
            for e in selectors.request_history(request=request)
        ]
        assert history == [
            ("raised", "Sam Sponsor", "", "submitted"),
            ("escalated", "Hana Holder", "submitted", "escalated"),
            ("approved", "Alex Agent", "escalated", "approved"),
            ("note", "Alex Agent", "approved", "approved"),
        ]
