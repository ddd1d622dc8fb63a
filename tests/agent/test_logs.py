"""No passcode, one-time code, token or secret reaches the logs, through whole journeys."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from cis.notify.sms import MemorySmsSender
from cis_agent import login, state
from cis_card.base import Card
from tests.logcapture import captured_logs, log_entries
from tests.oidc.flow import Attempt
from tests.oidc.support import browser_signed_in, new_client
from tests.oidc.support import http as django_http

from .conftest import PASSCODE, SERVER, Agent, Cast, last_code

pytestmark = pytest.mark.django_db


def test_sign_in_self_unlock_and_a_token_grant_log_no_secret(
    agent: Agent,
    cast: Cast,
    issued_card: Callable[..., Card],
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    card = issued_card(cast.holder)
    secrets: dict[str, str] = {"passcode": PASSCODE}
    with captured_logs() as stream:
        agent.login(card)
        agent_token = state.session_for(SERVER)
        assert agent_token is not None
        secrets["agent token"] = agent_token["token"]
        # Three wrong passcodes lock the card; a one-time code unlocks it, a wrong one first.
        for _ in range(3):
            agent.run("login", card, "--passcode-stdin", input="0000\n")
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            assert agent.run("unlock", card, "--self", "--send-code-only").exit_code == 0
        secrets["one-time code"] = last_code(MemorySmsSender.outbox)
        secrets["wrong code"] = "970531" if secrets["one-time code"] != "970531" else "135799"
        wrong = agent.run(
            "unlock", card, "--self", "--code", secrets["wrong code"], "--passcode-stdin",
            input="8642\n",
        )  # fmt: skip
        assert wrong.exit_code == 4
        done = agent.run(
            "unlock", card, "--self", "--code", secrets["one-time code"], "--passcode-stdin",
            input="8642\n",
        )  # fmt: skip
        assert done.exit_code == 0, done.stderr
        secrets["new passcode"] = "8642"
        agent.login(card, "8642")
        # Django's test client from here on (it reconnects the handler that, on PostgreSQL, would
        # close the test's connection under the agent's in-process requests, so it comes last).
        # The portal sign-in: the agent answers a challenge, the browser takes the one-time link.
        done = login.sign_in(card=card, http=django_http(), passcode="8642", workstation="WS")
        link = done.sign_in_url.removeprefix(SERVER)
        secrets["sign-in link"] = link.rstrip("/").rsplit("/", 1)[-1]
        assert Client().post(link).status_code == 302
        assert Client().post(link).status_code >= 400  # used up: refused, and logged
        # A relying party's code grant and refresh.
        rp = new_client()
        secrets["client secret"] = rp.client_secret
        browser, _ = browser_signed_in(cast.holder)
        attempt = Attempt(rp)
        code = attempt.code(browser)
        secrets["authorization code"], secrets["verifier"] = code, attempt.verifier
        granted = attempt.exchange(code)
        assert granted.status_code == 200, granted.content
        tokens = granted.json()
        for name in ("access_token", "refresh_token", "id_token"):
            secrets[name] = tokens[name]
        # The same code again is refused, and says so in the log without the code.
        assert attempt.exchange(code).status_code == 400

    written = stream.getvalue()
    entries = log_entries(stream)  # every line is one JSON object
    assert entries, "the journeys log something"
    leaked = [name for name, value in secrets.items() if value in written]
    assert not leaked, f"in the logs: {leaked}"
