"""The audit viewer's reads: scoped like every list, filtered, and each event as a sentence."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from cis.audit.models import AuditEvent
from cis.audit.refusals import REFUSAL_ACTIONS
from cis.audit.selectors import AuditFilter, audit_search, may_view_audit
from cis.audit.sentences import (
    REFUSED_NOUNS,
    REFUSED_VERBS,
    card_history_sentences,
    event_sentence,
    event_sentences,
    rule_words,
)
from cis.authz.actions import Action
from cis.authz.policy import CONSOLE
from cis.core import clock

pytestmark = pytest.mark.django_db


def _keys(world: dict[str, object], rows: object) -> set[str]:
    events: dict[str, AuditEvent] = world["events"]  # type: ignore[assignment]
    by_pk = {e.pk: name for name, e in events.items()}
    return {by_pk[e.pk] for e in rows}  # type: ignore[attr-defined]


def test_the_viewer_is_scoped_like_every_list(world: dict[str, object]) -> None:
    manager, desk, lsa = world["manager"], world["desk"], world["lsa"]
    assert _keys(world, audit_search(actor=manager)) == {"card_here", "registered_here"}  # type: ignore[arg-type]
    assert _keys(world, audit_search(actor=desk)) == set(world["events"])  # type: ignore[arg-type,call-overload]
    assert _keys(world, audit_search(actor=lsa)) == set()  # type: ignore[arg-type]
    assert _keys(world, audit_search(actor=CONSOLE)) == set(world["events"])  # type: ignore[call-overload]
    assert may_view_audit(actor=manager) and may_view_audit(actor=desk)  # type: ignore[arg-type]
    assert not may_view_audit(actor=lsa)  # type: ignore[arg-type]
    assert not may_view_audit(actor=None)


def test_filters(world: dict[str, object]) -> None:
    desk = world["desk"]
    staff = world["staff_here"]

    def found(**kw: object) -> set[str]:
        return _keys(world, audit_search(actor=desk, filters=AuditFilter(**kw)))  # type: ignore[arg-type]

    assert found(person=staff.user_id) == {"card_here"}  # type: ignore[attr-defined]
    assert found(person=desk.user_id) == {"card_there", "right_there"}  # type: ignore[attr-defined]
    assert found(actor="console") == {"registered_here", "catalogue"}
    assert found(action="card") == {"card_here", "card_there"}
    assert found(action="card.cancel") == {"card_there"}
    assert found(organisation="fbb01") == {"card_there", "right_there"}
    today = clock.today()
    assert found(since=today, until=today) == set(world["events"])  # type: ignore[call-overload]
    assert found(since=today + dt.timedelta(days=1)) == set()
    assert found(until=today - dt.timedelta(days=1)) == set()


def test_events_read_as_sentences(
    world: dict[str, object], django_assert_num_queries: object
) -> None:
    events: dict[str, AuditEvent] = world["events"]  # type: ignore[assignment]
    staff, new = world["staff_here"], world["new_here"]
    with django_assert_num_queries(1):  # type: ignore[operator]
        sentences = dict(zip(events, event_sentences(events.values()), strict=True))
    assert sentences["card_here"] == (
        f"Margaret Whitfield unlocked the smartcard CHIP1 of Jack Pearson ({staff.user_id}), "  # type: ignore[attr-defined]
        "with the holder present (started)."
    )
    assert sentences["registered_here"] == (
        f"Server console operator registered {new.full_name} ({new.user_id})."  # type: ignore[attr-defined]
    )
    there, desk = world["staff_there"], world["desk"]
    assert sentences["right_there"] == (
        f"{desk.full_name} granted the Local Smartcard Administrator right to "  # type: ignore[attr-defined]
        f"{there.full_name} ({there.user_id}), under REQ-000042."  # type: ignore[attr-defined]
    )
    assert sentences["catalogue"] == "Server console operator loaded the role catalogue."
    unknown = AuditEvent(actor_name="A", action="x.y", target_type="t", target_ref="1")
    assert event_sentence(unknown) == "A did x.y on t 1."


@pytest.mark.parametrize(
    ("refused", "target", "words"),
    [
        ("person.view", ("person", "500000000001"), "was refused permission to see 500000000001."),
        (
            "card.unlock_assisted",
            ("smartcard", "CHIP-1"),
            "was refused permission to unlock the smartcard CHIP-1.",
        ),
        (
            "certificate.revoke",
            ("certificate", "0A1B"),
            "was refused permission to revoke certificate 0A1B.",
        ),
        ("audit.view", ("", ""), "was refused permission to see the audit trail."),
        ("person.search", ("", ""), "was refused permission to search people."),
        ("something.new", ("", ""), "was refused permission for something.new."),
    ],
)
def test_a_refusal_reads_as_words_not_as_the_actions_name(
    refused: str, target: tuple[str, str], words: str
) -> None:
    event = AuditEvent(
        actor_name="Ann Example",
        action="access.refused",
        target_type=target[0],
        target_ref=target[1],
        after={"refused": refused, "reason": "outside your organisations"},
    )
    assert event_sentence(event) == f"Ann Example {words}"


def test_every_action_that_can_be_refused_has_words() -> None:
    wordless = [
        str(action)
        for action in Action
        if action not in REFUSAL_ACTIONS
        and (
            action.partition(".")[0] not in REFUSED_NOUNS
            or action.partition(".")[2] not in REFUSED_VERBS
        )
    ]
    assert wordless == []


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("in-scope:ra_agent:grant#4", "allowed by their RA Agent right"),
        (
            "sponsor-assignable:sponsor:grant#9",
            "allowed by their Sponsor right, for an assignable position",
        ),
        ("self-service", "allowed as acting on their own account"),
        ("console-operator", "allowed by the server console"),
        ("refused", "refused by the policy"),
        ("something-new", "allowed by a rule of the policy"),
    ],
)
def test_the_rule_that_allowed_an_event_reads_as_words(rule: str, words: str) -> None:
    assert rule_words(rule) == words


def test_a_cards_own_history_reads_as_sentences(world: dict[str, object]) -> None:
    manager = world["manager"]
    lines = [
        SimpleNamespace(kind="card.unlock_assisted", actor_ref=manager.user_id, detail={}),  # type: ignore[attr-defined]
        SimpleNamespace(
            kind="card.issue", actor_ref="console", detail={"step": "certificate_issued"}
        ),
    ]
    assert card_history_sentences(lines, "Megan Holt") == [
        f"{manager.full_name} unlocked the card of Megan Holt, with the holder present.",  # type: ignore[attr-defined]
        "The server console operator issued the card to Megan Holt: a certificate was issued "
        "for the card.",
    ]
