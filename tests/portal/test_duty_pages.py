"""Portal pages for duties that had none: an RA Agent changes a person's details, a holder says
their card has locked itself, an RA Agent is given the agent's repair and clear steps, and an
expired certificate's renewal is started only by an RA Agent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from cis.audit.models import AuditEvent
from cis.authz.policy import CONSOLE
from cis.core import clock
from cis.people.models import Person
from cis.pki import hierarchy
from cis.pki.models import Certificate
from cis.pki.services import certificate_issue
from cis.smartcards.models import CardCertificate, CardTask, Smartcard
from cis.smartcards.services.common import new_so_pin, seal_so_pin
from cis.smartcards.states import CardStatus
from tests.api.conftest import World, unchanged_database
from tests.api.conftest import world as api_world  # noqa: F401 - the directory the API tests use
from tests.pki.conftest import make_csr

pytestmark = pytest.mark.django_db

BACKEND = "django.contrib.auth.backends.ModelBackend"


def _as(person: Person) -> Client:
    browser = Client()
    browser.force_login(person, backend=BACKEND)
    return browser


def _card(holder: Person, serial: str, *, expired: bool = False) -> Smartcard:
    card = Smartcard(
        chip_serial=serial, holder=holder, status=CardStatus.ACTIVE, issued_at=clock.now()
    )
    card.save()
    card.so_pin_sealed = seal_so_pin(card, new_so_pin())
    card.save(update_fields=["so_pin_sealed"])
    if expired:
        hierarchy.ca_init()
        certificate = certificate_issue(actor=CONSOLE, person=holder, csr_pem=make_csr())
        Certificate.objects.filter(pk=certificate.pk).update(
            not_after=clock.now() - dt.timedelta(days=3)
        )
        CardCertificate.objects.create(card=card, certificate=certificate, installed_at=clock.now())
    return card


def test_an_ra_agent_corrects_a_persons_details(api_world: World) -> None:  # noqa: F811
    w = api_world
    agent = _as(w.agent)
    person_page = agent.get(f"/people/{w.colleague.user_id}/").content.decode()
    assert f"/people/{w.colleague.user_id}/change/" in person_page
    form = agent.get(f"/people/{w.colleague.user_id}/change/")
    assert form.status_code == 200 and 'value="Colin"' in form.content.decode()
    dob = w.colleague.date_of_birth
    answer = agent.post(
        f"/people/{w.colleague.user_id}/change/",
        {
            "given_name": "Colin",
            "family_name": "Colleague-Smith",
            "date_of_birth_day": dob.day,
            "date_of_birth_month": dob.month,
            "date_of_birth_year": dob.year,
            "professional_body": "GPhC",
            "professional_number": "2012345",
        },
    )
    assert answer.status_code == 302, answer.content[:2000]
    w.colleague.refresh_from_db()
    assert (w.colleague.family_name, w.colleague.professional_number) == (
        "Colleague-Smith",
        "2012345",
    )
    event = AuditEvent.objects.get(action="person.update_details")
    assert (event.actor_ref, event.channel) == (w.agent.user_id, "portal")
    assert event.before["family_name"] == "Colleague"


def test_a_bad_registration_number_is_shown_on_the_form_and_changes_nothing(
    api_world: World,  # noqa: F811
) -> None:
    w = api_world
    dob = w.colleague.date_of_birth
    with unchanged_database():
        answer = _as(w.agent).post(
            f"/people/{w.colleague.user_id}/change/",
            {
                "given_name": "Colin",
                "family_name": "Colleague",
                "date_of_birth_day": dob.day,
                "date_of_birth_month": dob.month,
                "date_of_birth_year": dob.year,
                "professional_body": "GMC",
                "professional_number": "12",
            },
        )
    assert answer.status_code == 200
    assert answer.context["form"].errors


@pytest.mark.parametrize("who", ["lsa", "sponsor", "holder"])
def test_only_ra_agents_reach_the_details_form(api_world: World, who: str) -> None:  # noqa: F811
    w = api_world
    with unchanged_database():
        answer = _as(getattr(w, who)).post(
            f"/people/{w.colleague.user_id}/change/", {"given_name": "X", "family_name": "Y"}
        )
    assert answer.status_code in (403, 404)
    assert f"/people/{w.colleague.user_id}/change/" not in (
        _as(getattr(w, who)).get(f"/people/{w.colleague.user_id}/").content.decode()
    )


def test_a_holder_tells_cis_their_card_has_locked_itself(api_world: World) -> None:  # noqa: F811
    w = api_world
    card = _card(w.holder, "CARD-HANA")
    holder = _as(w.holder)
    assert (
        f"/my-smartcard/{card.chip_serial}/locked/" in holder.get("/my-smartcard/").content.decode()
    )
    answer = holder.post(f"/my-smartcard/{card.chip_serial}/locked/", {})
    assert answer.status_code == 302
    card.refresh_from_db()
    assert card.status == CardStatus.LOCKED
    assert AuditEvent.objects.filter(action="card.report_locked", channel="portal").count() == 1
    # Someone else's card is not theirs to report.
    other = _card(w.colleague, "CARD-COLIN")
    with unchanged_database():
        assert holder.post(f"/my-smartcard/{other.chip_serial}/locked/", {}).status_code == 404


def test_an_ra_agent_is_given_the_repair_and_clear_steps_and_an_lsa_is_not(
    api_world: World,  # noqa: F811
) -> None:
    w = api_world
    card = _card(w.holder, "CARD-HANA")
    agent = _as(w.agent)
    detail = agent.get(f"/smartcards/{card.chip_serial}/").content.decode()
    assert f"/smartcards/{card.chip_serial}/repair/" in detail
    assert f"/smartcards/{card.chip_serial}/clear/" in detail
    repair = agent.get(f"/smartcards/{card.chip_serial}/repair/").content.decode()
    assert "cis-agent repair --server http://testserver --card " in repair
    clear = agent.get(f"/smartcards/{card.chip_serial}/clear/").content.decode()
    assert "cis-agent clear --server http://testserver --card " in clear
    lsa = _as(w.lsa)
    assert "/repair/" not in lsa.get(f"/smartcards/{card.chip_serial}/").content.decode()
    assert lsa.get(f"/smartcards/{card.chip_serial}/repair/").status_code == 403
    assert lsa.get(f"/smartcards/{card.chip_serial}/clear/").status_code == 403


def test_renewing_an_expired_certificate_is_started_only_by_an_ra_agent(
    api_world: World,  # noqa: F811
) -> None:
    w = api_world
    card = _card(w.colleague, "CARD-COLIN", expired=True)
    body = {"kind": "renew", "card": card.chip_serial}
    json_please = {"Accept": "application/json"}
    refused = _as(w.lsa).post("/card-tasks/new/", body, headers=json_please)
    assert refused.status_code == 403
    assert not CardTask.objects.exists()
    started = _as(w.agent).post("/card-tasks/new/", body, headers=json_please)
    assert started.status_code == 201, started.content
