"""The portal's request pages, end to end: raise, queue, approve, reject, cancel, escalate."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cis.core import clock
from cis.people.models import Person, PersonStatus
from cis.rbac.models import PositionAssignment
from cis.workflow import services
from cis.workflow.models import Request
from cis.workflow.states import RequestState, RequestType
from tests.factories.directory import PersonFactory

from .desk import PHOTO, Desk

pytestmark = pytest.mark.django_db


def browser(person: Person) -> Client:
    client = Client()
    client.force_login(person, backend="django.contrib.auth.backends.ModelBackend")
    return client


def text(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined,no-any-return]


def card_for_holder(desk: Desk) -> Request:
    return services.request_raise(
        actor=desk.sponsor,
        request_type=RequestType.CARD_ISSUE,
        payload={"user_id": desk.holder.user_id},
    )


def test_a_sponsor_registers_a_new_starter_and_an_agent_approves_with_the_id_check(
    desk: Desk,
) -> None:
    sponsor = browser(desk.sponsor)
    page = sponsor.get("/requests/new/")
    assert page.status_code == 200
    assert "Register a new person" in text(page)
    assert "Grant a CIS right" not in text(page)  # RA Managers only
    chosen = sponsor.post("/requests/new/", {"request_type": "person_register"})
    assert chosen.status_code == 302
    assert chosen["Location"] == "/requests/new/person_register/"
    form = sponsor.get(chosen["Location"])
    assert "Where will they work?" in text(form)
    sent = sponsor.post(
        chosen["Location"],
        {
            "organisation": "FBW01",
            "given_name": "Nia",
            "family_name": "Newstarter",
            "date_of_birth_day": "3",
            "date_of_birth_month": "2",
            "date_of_birth_year": "1990",
            "position": str(desk.pharmacist.pk),
            "note": "Starts Monday",
        },
    )
    assert sent.status_code == 302, text(sent)
    request = Request.objects.get()
    assert sent["Location"] == f"/requests/{request.pk}/"
    assert request.payload["position_id"] == desk.pharmacist.pk

    agent = browser(desk.agent)
    queue = agent.get("/requests/")
    assert request.ref in text(queue)
    detail = agent.get(f"/requests/{request.pk}/")
    assert "Approve" in text(detail)
    approve_page = agent.get(f"/requests/{request.pk}/approve/")
    assert "Photo of the person" in text(approve_page)
    done = agent.post(
        f"/requests/{request.pk}/approve/",
        {
            "document_types": ["passport", "utility_bill", "birth_certificate"],
            "photo": SimpleUploadedFile("nia.png", PHOTO, content_type="image/png"),
        },
    )
    assert done.status_code == 302, text(done)
    request.refresh_from_db()
    assert request.state == RequestState.APPLIED
    person = Person.objects.get(family_name="Newstarter")
    assert person.status == PersonStatus.ACTIVE
    assert PositionAssignment.objects.filter(person=person, position=desk.pharmacist).exists()
    after = agent.get(done["Location"])
    assert "is approved and applied" in text(after)
    assert "History" in text(after)


def test_duplicates_are_shown_and_must_be_ticked(desk: Desk) -> None:
    twin = PersonFactory(  # in the RA Agent's view: their RA registered them
        given_name="Nia",
        family_name="Newstarter",
        date_of_birth=dt.date(1990, 2, 3),
        registered_ra=desk.ra,
    )
    request = services.request_raise(
        actor=desk.sponsor,
        request_type=RequestType.PERSON_REGISTER,
        payload={
            "ods_code": "FBW01",
            "given_name": "Nia",
            "family_name": "Newstarter",
            "date_of_birth": "1990-02-03",
        },
    )
    agent = browser(desk.agent)
    page = agent.get(f"/requests/{request.pk}/approve/")
    assert twin.user_id in text(page)
    refused = agent.post(f"/requests/{request.pk}/approve/", {})
    assert refused.status_code == 200
    assert "Tick each one you have looked at" in text(refused)
    done = agent.post(f"/requests/{request.pk}/approve/", {"acknowledged": [twin.user_id]})
    assert done.status_code == 302, text(done)
    request.refresh_from_db()
    assert request.state == RequestState.APPLIED


def test_a_bad_payload_is_shown_next_to_its_field(desk: Desk) -> None:
    sponsor = browser(desk.sponsor)
    response = sponsor.post(
        "/requests/new/details_change/",
        {"user_id": desk.holder.user_id, "family_name": "Married"},
    )
    assert response.status_code == 200
    assert "A change of name needs evidence" in text(response)
    assert not Request.objects.exists()


def test_reject_needs_a_reason_and_the_requester_sees_it(desk: Desk) -> None:
    request = card_for_holder(desk)
    agent = browser(desk.agent)
    empty = agent.post(f"/requests/{request.pk}/reject/", {"reason": ""})
    assert empty.status_code == 200
    assert "Give the reason for rejecting it" in text(empty)
    agent.post(f"/requests/{request.pk}/reject/", {"reason": "Card already issued"})
    mine = browser(desk.sponsor).get("/requests/?view=closed")
    assert request.ref in text(mine)
    detail = browser(desk.sponsor).get(f"/requests/{request.pk}/")
    assert "Card already issued" in text(detail)


def test_the_holder_escalates_and_follows_it(desk: Desk) -> None:
    request = card_for_holder(desk)
    holder = browser(desk.holder)
    about_me = holder.get("/requests/?view=about-me")
    assert request.ref in text(about_me)
    detail = holder.get(f"/requests/{request.pk}/")
    assert "Escalate" in text(detail)
    assert "Approve" not in text(detail)
    holder.post(f"/requests/{request.pk}/escalate/", {"reason": "My RA has not responded"})
    request.refresh_from_db()
    assert request.state == RequestState.ESCALATED
    detail = holder.get(f"/requests/{request.pk}/")
    assert "Escalated to RA Manager" in text(detail)
    assert "My RA has not responded" in text(detail)
    # The RA Manager sees it among the escalated requests.
    assert request.ref in text(browser(desk.manager).get("/requests/?view=escalated"))


def test_the_raiser_cancels(desk: Desk) -> None:
    request = card_for_holder(desk)
    response = browser(desk.sponsor).post(f"/requests/{request.pk}/cancel/", {"reason": ""})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.state == RequestState.CANCELLED


def test_pages_refuse_who_may_not(desk: Desk) -> None:
    request = card_for_holder(desk)
    assert Client().get("/requests/").status_code == 302  # sign in first
    stranger = browser(PersonFactory())
    assert stranger.get(f"/requests/{request.pk}/").status_code == 404
    assert stranger.get("/requests/new/").status_code == 403
    assert browser(desk.sponsor).get(f"/requests/{request.pk}/approve/").status_code == 403
    assert browser(desk.lsa).post(f"/requests/{request.pk}/approve/", {}).status_code == 403
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED


def test_the_queue_filters(desk: Desk) -> None:
    request = card_for_holder(desk)
    agent = browser(desk.agent)
    assert request.ref in text(agent.get("/requests/?type=card_issue"))
    assert request.ref not in text(agent.get("/requests/?type=card_replace"))
    assert request.ref not in text(agent.get("/requests/?ods_code=FHW01"))
    assert request.ref not in text(agent.get("/requests/?age=7"))
    clock.travel(dt.timedelta(days=8))
    page = text(agent.get("/requests/?age=7"))
    assert request.ref in page
    assert "Overdue" in page


def test_an_approved_card_request_offers_its_card_step_to_whoever_may_take_it(desk: Desk) -> None:
    """The RA Agent issues, or replaces, the card from the request's page, through the agent."""
    from cis.smartcards.models import Smartcard  # noqa: PLC0415 - only this test makes cards
    from cis.smartcards.states import CardStatus  # noqa: PLC0415

    issue = card_for_holder(desk)
    agent = browser(desk.agent)
    assert "Issue the card" not in text(agent.get(f"/requests/{issue.pk}/")), "not yet approved"
    services.request_approve(actor=desk.agent, request=issue)
    page = text(agent.get(f"/requests/{issue.pk}/"))
    assert "Issue the card" in page
    assert 'name="kind" value="issue"' in page
    assert f'name="holder" value="{desk.holder.user_id}"' in page
    assert "cis-agent issue --server http://testserver --card " in page  # the fallback
    # The Sponsor who asked sees the request waiting, not a card step they may not take.
    assert "Issue the card" not in text(browser(desk.sponsor).get(f"/requests/{issue.pk}/"))
    services.request_cancel(actor=desk.agent, request=issue, reason="Raised twice.")

    old = Smartcard.objects.create(
        chip_serial="OLDCHIP01",
        holder=desk.holder,
        status=CardStatus.ACTIVE,
        issued_at=clock.now(),
        so_pin_sealed="-",
    )
    replace = services.request_raise(
        actor=desk.sponsor,
        request_type=RequestType.CARD_REPLACE,
        payload={"user_id": desk.holder.user_id, "reason": "damaged"},
    )
    services.request_approve(actor=desk.agent, request=replace)
    page = text(agent.get(f"/requests/{replace.pk}/"))
    assert "Replace the card" in page
    assert f'name="card" value="{old.chip_serial}"' in page
    assert '<option value="damaged" selected>' in page
    assert f"--old {old.chip_serial}" in page
