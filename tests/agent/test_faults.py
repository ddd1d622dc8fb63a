"""Bad input and faults: one clear line, a documented status, and no half-done state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from cis.core import clock
from cis.notify.sms import MemorySmsSender
from cis.pki.models import Certificate
from cis.smartcards.models import Smartcard
from cis_agent import cli
from cis_card.base import Card
from cis_card.spec import open_card

from .conftest import PASSCODE, Agent, Cast, last_code
from .pulled import PulledOut

pytestmark = pytest.mark.django_db


def _error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("cis-agent:")]
    assert len(lines) == 1, stderr
    return lines[0]


def _pull(monkeypatch: pytest.MonkeyPatch, card: Card, at: str, nth: int = 1) -> PulledOut:
    pulled = PulledOut(card, at, nth)
    monkeypatch.setattr(cli, "_card", lambda spec: pulled)
    return pulled


def _put_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_card", open_card)


def _lock(agent: Agent, card: Card) -> None:
    for _ in range(3):
        agent.run("login", card, "--passcode-stdin", input="0000\n")
    assert card.is_locked()


def test_a_renewal_cut_short_leaves_a_working_card_and_running_it_again_finishes(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card], monkeypatch: pytest.MonkeyPatch
) -> None:
    card = issued_card(cast.holder)
    old = Certificate.objects.get(card_link__card__chip_serial=card.serial())
    clock.travel(old.not_after - clock.now() - dt.timedelta(days=10))
    pulled = _pull(monkeypatch, card, "write_certificate")
    result = agent.run("renew", card, "--passcode-stdin", input=f"{PASSCODE}\n")
    assert result.exit_code == 6
    assert "removed" in _error_line(result.stderr)
    assert pulled.pulled
    old.refresh_from_db()
    assert old.status == "valid", "the old certificate stays until the new one is on the card"
    assert [c.serial_hex.lstrip("0") for c in card.certificates()] == [old.serial_hex.lstrip("0")]
    _put_back(monkeypatch)
    agent("logout", "--server", "http://testserver")
    agent.login(card)  # the card still works with its old certificate
    again = agent.run("renew", card, "--passcode-stdin", input=f"{PASSCODE}\n")
    assert again.exit_code == 0, again.stderr
    old.refresh_from_db()
    assert old.status == "superseded"
    assert len(card.certificates()) == 1
    with card.session(PASSCODE) as session:
        assert len(session.key_ids()) == 1, "the key left by the cut-short renewal is gone"


def test_a_card_pulled_after_its_new_certificate_is_written_is_finished_at_next_sign_in(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CIS was never told; the card's signature with the new certificate proves it is there."""
    card = issued_card(cast.holder)
    old = Certificate.objects.get(card_link__card__chip_serial=card.serial())
    clock.travel(old.not_after - clock.now() - dt.timedelta(days=10))
    _pull(monkeypatch, card, "delete_key")  # after complete: only the clean-up is lost
    result = agent.run("renew", card, "--passcode-stdin", input=f"{PASSCODE}\n")
    assert result.exit_code == 6
    old.refresh_from_db()
    assert old.status == "superseded"  # CIS had been told before the card was pulled
    _put_back(monkeypatch)
    agent("logout", "--server", "http://testserver")
    agent.login(card)


def test_sign_in_with_a_certificate_written_but_never_reported_installs_it(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card], monkeypatch: pytest.MonkeyPatch
) -> None:
    card = issued_card(cast.holder)
    old = Certificate.objects.get(card_link__card__chip_serial=card.serial())
    clock.travel(old.not_after - clock.now() - dt.timedelta(days=10))
    from cis_agent.api import ApiClient

    def network_gone(self: ApiClient, **kwargs: object) -> dict[str, object]:
        from cis_agent.errors import SERVER_DOWN, AgentError

        raise AgentError("Cannot reach CIS at http://testserver: ConnectError.", SERVER_DOWN)

    real_complete = ApiClient.complete
    monkeypatch.setattr(ApiClient, "complete", network_gone)
    result = agent.run("renew", card, "--passcode-stdin", input=f"{PASSCODE}\n")
    assert result.exit_code == 9
    old.refresh_from_db()
    assert old.status == "valid"
    assert len(card.certificates()) == 2  # both on the card; the new one is presented
    monkeypatch.setattr(ApiClient, "complete", real_complete)
    agent("logout", "--server", "http://testserver")
    agent.login(card)
    old.refresh_from_db()
    assert old.status == "superseded"
    assert (
        Smartcard.objects.get(chip_serial=card.serial())
        .certificates.filter(installed_at__isnull=True)
        .count()
        == 0
    )


def test_an_unlock_pulled_before_the_so_pin_rotation_leaves_it_due_and_the_next_unlock_works(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card], monkeypatch: pytest.MonkeyPatch
) -> None:
    card = issued_card(cast.holder)
    _lock(agent, card)
    agent.login(issued_card(cast.lsa))
    _pull(monkeypatch, card, "set_so_pin")
    result = agent.run("unlock", card, "--passcode-stdin", input="1122\n")
    assert result.exit_code == 6
    row = Smartcard.objects.get(chip_serial=card.serial())
    assert row.status == "active"  # the passcode was reset: the card works
    assert row.so_pin_rotation_due
    _put_back(monkeypatch)
    _lock(agent, card)
    again = agent.run("unlock", card, "--passcode-stdin", input="3344\n")
    assert again.exit_code == 0, again.stderr
    row.refresh_from_db()
    assert not row.so_pin_rotation_due
    agent.login(card, "3344")


def test_an_issue_cut_short_is_resumed_by_issuing_again(
    agent: Agent,
    cast: Cast,
    issued_card: Callable[..., Card],
    new_card: Callable[[], Card],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    agent.login(issued_card(cast.agent))
    blank = new_card()
    _pull(monkeypatch, blank, "write_certificate")
    first = agent.run(
        "issue", blank, "--holder", cast.holder.user_id, "--passcode-stdin", input="1357\n"
    )
    assert first.exit_code == 6
    row = Smartcard.objects.get(chip_serial=blank.serial())
    assert row.status == "issued"
    _put_back(monkeypatch)
    again = agent.run(
        "issue", blank, "--holder", cast.holder.user_id, "--passcode-stdin", input="1357\n"
    )
    assert again.exit_code == 0, again.stderr
    row.refresh_from_db()
    assert row.status == "active"
    live = Certificate.objects.filter(card_link__card=row, status="valid")
    assert live.count() == 1, "the certificate of the cut-short attempt is retired"


def test_a_cancelled_card_is_refused_everywhere(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card], new_card: Callable[[], Card]
) -> None:
    card = issued_card(cast.holder)
    from cis.smartcards.selectors import card_get
    from cis.smartcards.services import card_report_lost

    held = card_get(actor=cast.holder, chip_serial=card.serial())
    card_report_lost(actor=cast.holder, card=held, reason="stolen")
    cert = Certificate.objects.get(card_link__card__chip_serial=card.serial())
    assert (cert.status, cert.revocation_reason) == ("revoked", "key_compromise")
    login = agent.run("login", card, "--passcode-stdin", input=f"{PASSCODE}\n")
    assert login.exit_code == 8
    assert "cancelled (stolen)" in _error_line(login.stderr)
    code = agent.run("unlock", card, "--self", "--send-code-only")
    assert code.exit_code == 8
    assert "can never be used again" in _error_line(code.stderr)
    agent.login(issued_card(cast.agent))
    for command, extra in (("renew", ["--passcode-stdin"]), ("unlock", ["--passcode-stdin"])):
        refused = agent.run(command, card, *extra, input=f"{PASSCODE}\n")
        assert refused.exit_code == 8, (command, refused.stderr)
        assert "cancelled" in _error_line(refused.stderr)
    reissue = agent.run(
        "issue", card, "--holder", cast.holder.user_id, "--passcode-stdin", input="1357\n"
    )
    assert reissue.exit_code == 8
    assert "never be used again" in _error_line(reissue.stderr)


def test_a_card_of_another_holder(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card]
) -> None:
    mine = issued_card(cast.holder)
    theirs = issued_card(cast.branch_holder)
    old = Certificate.objects.get(card_link__card__chip_serial=theirs.serial())
    clock.travel(old.not_after - clock.now() - dt.timedelta(days=10))
    agent.login(mine)
    result = agent.run("renew", theirs, "--passcode-stdin", input=f"{PASSCODE}\n")
    # Someone else's card is out of sight: CIS answers as for a card it never knew.
    assert result.exit_code == 8
    assert "not one you can see" in _error_line(result.stderr)
    # An LSA at the head office does not reach a branch's holder.
    agent("logout", "--server", "http://testserver")
    agent.login(issued_card(cast.lsa))
    _lock(agent, theirs)
    status = agent.run("status", theirs)
    assert status.exit_code == 0, "what the card says is shown even when CIS says no more"
    assert "LOCKED" in status.stdout
    # The card reports itself with its own key, whoever is signed in at the workstation.
    assert "CIS: locked" in status.stdout
    unlock = agent.run("unlock", theirs, "--passcode-stdin", input="1122\n")
    assert unlock.exit_code == 8
    assert "not one you can see" in _error_line(unlock.stderr)
    assert Smartcard.objects.get(chip_serial=theirs.serial()).so_pin_unconfirmed == []


def test_nobody_unlocks_their_own_card_as_an_administrator(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card]
) -> None:
    lsa_card = issued_card(cast.lsa)
    agent.login(lsa_card)
    result = agent.run("unlock", lsa_card, "--passcode-stdin", input="1122\n")
    assert result.exit_code == 7
    assert "own record" in _error_line(result.stderr)


def test_one_time_codes_expire_wear_out_and_are_rate_limited(
    agent: Agent,
    cast: Cast,
    issued_card: Callable[..., Card],
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    card = issued_card(cast.holder)
    _lock(agent, card)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        assert agent.run("unlock", card, "--self", "--send-code-only").exit_code == 0
    code = last_code(MemorySmsSender.outbox)
    clock.travel(dt.timedelta(minutes=16))
    late = agent.run("unlock", card, "--self", "--code", code, "--passcode-stdin", input="5555\n")
    assert late.exit_code == 8
    assert "expired" in _error_line(late.stderr)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        assert (
            agent.run("unlock", card, "--self", "--send-code-only", "--channel", "email").exit_code
            == 0
        )
    for left in (4, 3, 2, 1):
        wrong = agent.run(
            "unlock", card, "--self", "--code", "000000", "--passcode-stdin", input="5555\n"
        )
        assert wrong.exit_code == 4
        assert f"{left} attempt" in _error_line(wrong.stderr)
    wrong = agent.run(
        "unlock", card, "--self", "--code", "000000", "--passcode-stdin", input="5555\n"
    )
    assert "no attempts are left" in _error_line(wrong.stderr)
    from django.core import mail

    right = last_code([{"body": mail.outbox[-1].body}])
    worn = agent.run("unlock", card, "--self", "--code", right, "--passcode-stdin", input="5555\n")
    assert worn.exit_code == 8
    assert "Too many wrong codes" in _error_line(worn.stderr)
    for _ in range(3):
        assert agent.run("unlock", card, "--self", "--send-code-only").exit_code == 0
    limited = agent.run("unlock", card, "--self", "--send-code-only")
    assert limited.exit_code == 11
    assert "Too many unlock codes" in _error_line(limited.stderr)
    assert card.is_locked()
    assert Smartcard.objects.get(chip_serial=card.serial()).so_pin_unconfirmed == []


def test_renewal_outside_its_window_and_after_expiry(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card]
) -> None:
    card = issued_card(cast.holder)
    agent.login(card)
    early = agent.run("renew", card, "--passcode-stdin", input=f"{PASSCODE}\n")
    assert early.exit_code == 8
    assert "can be renewed from" in _error_line(early.stderr)
    cert = Certificate.objects.get(card_link__card__chip_serial=card.serial())
    clock.travel(cert.not_after - clock.now() + dt.timedelta(days=1))
    agent("logout", "--server", "http://testserver")
    expired = agent.run("renew", card, "--passcode-stdin", input=f"{PASSCODE}\n")
    assert expired.exit_code == 3, "an expired certificate cannot sign in"
    assert "expired" in _error_line(expired.stderr)
    # An LSA (in the holder's scope) may renew in the window, not after expiry.
    agent.login(issued_card(cast.lsa))
    lsa = agent.run("renew", card, "--passcode-stdin", input=f"{PASSCODE}\n")
    assert lsa.exit_code == 8
    assert "only an RA Agent" in _error_line(lsa.stderr)
    agent("logout", "--server", "http://testserver")
    agent.login(issued_card(cast.agent))
    absent = agent.run("renew", card, "--passcode-stdin", input=f"{PASSCODE}\n")
    assert absent.exit_code == 10
    assert "holder must be present" in _error_line(absent.stderr)
    done = agent.run("renew", card, "--passcode-stdin", "--holder-present", input=f"{PASSCODE}\n")
    assert done.exit_code == 0, done.stderr
    cert.refresh_from_db()
    assert cert.status == "superseded"


def test_bad_input_is_refused_before_the_card_is_touched(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card], new_card: Callable[[], Card]
) -> None:
    card = issued_card(cast.holder)
    short = agent.run("change-passcode", card, "--passcode-stdin", input=f"{PASSCODE}\n12\n")
    assert short.exit_code == 10
    assert "4 to 8 characters" in _error_line(short.stderr)
    assert card.tries_left() == 3
    missing = agent.run("change-passcode", card, "--passcode-stdin", input=f"{PASSCODE}\n")
    assert missing.exit_code == 10
    bad_spec = agent("status", "--card", "smart:card")
    assert bad_spec.exit_code == 6
    assert "not a card SPEC" in _error_line(bad_spec.stderr)
    no_card = agent("status", "--card", "virtual:/nonexistent/card.json")
    assert no_card.exit_code == 6
    not_signed_in = agent.run("unlock", card, "--passcode-stdin", input="1122\n")
    assert not_signed_in.exit_code == 3
    assert "Sign in first" in _error_line(not_signed_in.stderr)
    agent.login(issued_card(cast.agent))
    blank = new_card()
    unknown = agent.run("issue", blank, "--holder", "12345", "--passcode-stdin", input="1357\n")
    assert unknown.exit_code == 10
    assert "12 digits" in _error_line(unknown.stderr)
    assert not blank.is_initialised()


def test_the_server_is_unreachable(
    agent: Agent, cast: Cast, issued_card: Callable[..., Card], monkeypatch: pytest.MonkeyPatch
) -> None:
    card = issued_card(cast.holder)
    monkeypatch.setattr(cli, "transport", None)
    result = agent(
        "login",
        "--server",
        "http://127.0.0.1:9",
        "--card",
        card.spec,
        "--passcode-stdin",
        input=f"{PASSCODE}\n",
    )
    assert result.exit_code == 9
    assert "Cannot reach CIS" in _error_line(result.stderr)
    assert card.tries_left() == 3
