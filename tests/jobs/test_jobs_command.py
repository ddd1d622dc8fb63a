"""`cis jobs run`: escalation, expiry, reminders and email, through a real SMTP server."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cis.core import clock
from cis.workflow import services
from cis.workflow.models import Notification, Request
from cis.workflow.states import RequestState, RequestType
from tests.workflow.desk import Desk

from .conftest import Mailbox

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("jobs", "run", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def card_for_holder(desk: Desk) -> Request:
    return services.request_raise(
        actor=desk.sponsor,
        request_type=RequestType.CARD_ISSUE,
        payload={"user_id": desk.holder.user_id},
    )


def test_a_new_request_reaches_the_ra_queue_by_smtp(desk: Desk, smtp: Mailbox) -> None:
    request = card_for_holder(desk)
    out = run()
    assert "send-notifications: 4 email(s) sent" in out
    key = f"request:{request.pk}:raised"
    assert sorted(smtp.deliveries()) == sorted(
        (key, p.email) for p in (desk.agent, desk.agent2, desk.manager, desk.manager2)
    )
    message = smtp.messages[0]
    assert message["Subject"] == f"New request {request.ref}: Issue a new card"
    assert f"/requests/{request.pk}/" in message.get_payload()
    # Running again sends nothing more: each email goes out exactly once.
    assert "0 email(s) sent" in run()
    assert len(smtp.messages) == 4


def test_overdue_requests_escalate_and_everyone_concerned_hears(desk: Desk, smtp: Mailbox) -> None:
    request = card_for_holder(desk)
    run()
    smtp.messages.clear()
    clock.travel(dt.timedelta(days=5))
    out = run()
    assert "escalate-requests: 1 request(s) escalated" in out
    request.refresh_from_db()
    assert request.state == RequestState.ESCALATED
    to = {rcpt for key, rcpt in smtp.deliveries() if key.endswith(":escalated:1")}
    assert to == {desk.manager.email, desk.manager2.email, desk.sponsor.email, desk.holder.email}
    smtp.messages.clear()
    assert "0 request(s) escalated" in run()
    assert smtp.messages == []


def test_every_decision_is_mailed_to_the_requester(desk: Desk, smtp: Mailbox) -> None:
    request = card_for_holder(desk)
    services.request_approve(actor=desk.agent, request=request)
    run("--only", "send-notifications")
    decided = [m for m in smtp.messages if m["X-CIS-Event"] == f"request:{request.pk}:approved"]
    assert [m["X-Delivered-To"] for m in decided] == [desk.sponsor.email]
    assert "approved by Alex Agent" in decided[0].get_payload()


def test_only_runs_the_named_job(desk: Desk, smtp: Mailbox) -> None:
    card_for_holder(desk)
    clock.travel(dt.timedelta(days=5))
    out = run("--only", "escalate-requests")
    assert out.strip() == "escalate-requests: 1 request(s) escalated"
    assert smtp.messages == []
    assert Notification.objects.filter(sent_at__isnull=True).count() > 0


def test_an_unknown_job_is_refused() -> None:
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("jobs", "run", "--only", "make-tea")


def test_list_names_every_job() -> None:
    out = io.StringIO()
    call_command("jobs", "list", stdout=out)
    names = [line.split(":")[0] for line in out.getvalue().splitlines()]
    assert names == [
        "end-expired-access",
        "run-imports",
        "publish-crl",
        "presign-ocsp",
        "escalate-requests",
        "expire-requests",
        "certificate-reminders",
        "purge-sign-in",
        "backchannel-logout",
        "send-notifications",
        "audit-checkpoint",
    ]


def test_a_mail_server_that_is_down_leaves_the_email_for_the_next_run(
    desk: Desk, settings: object
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # type: ignore[attr-defined]
    settings.EMAIL_HOST = "127.0.0.1"  # type: ignore[attr-defined]
    settings.EMAIL_PORT = 9  # type: ignore[attr-defined]  # discard port: nothing listens
    settings.EMAIL_TIMEOUT = 2  # type: ignore[attr-defined]
    card_for_holder(desk)
    with pytest.raises(CommandError, match="send-notifications"):
        run("--only", "send-notifications")
    assert Notification.objects.filter(sent_at__isnull=True).count() == 4


def test_the_crl_is_republished_daily_and_only_when_due() -> None:
    from cis.pki.models import CrlState

    call_command("ca", "init", stdout=io.StringIO())
    first = CrlState.objects.get(issuer__role="issuing").number
    assert "publish-crl: CRL #" in run("--only", "publish-crl")
    assert (
        CrlState.objects.get(issuer__role="issuing").number == first
    )  # not a day old yet: nothing new
    clock.travel(dt.timedelta(days=1, minutes=1))
    run("--only", "publish-crl")
    assert CrlState.objects.get(issuer__role="issuing").number == first + 1


def test_sign_in_leftovers_are_purged() -> None:
    assert "purge-sign-in:" in run("--only", "purge-sign-in")
