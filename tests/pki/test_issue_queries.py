"""How many statements issuing a certificate costs, so that none creeps back into the hot path.

The issuance's own statements are pinned one by one. The audit trail's are counted apart (at
most what they are today), since cis.audit owns them and may well need fewer.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cis.audit.models import AuditEvent
from cis.authz.policy import CONSOLE, Actor
from cis.core import clock
from cis.core.errors import NotPermitted
from cis.people.models import Person
from cis.pki import authority
from cis.pki.hierarchy import Hierarchy
from cis.pki.models import Certificate
from cis.pki.services import certificate_issue
from cis.rbac.models import PositionAssignment
from tests.factories.directory import AssignmentFactory, PositionFactory

from .conftest import Directory, make_csr

pytestmark = pytest.mark.django_db

AUDIT_STATEMENTS = 3  # the head read and locked, the event written, the head moved on

# What issuance itself reads and writes, in order.
# The holder's row, read afresh and locked, with the first ODS code where they work.
LOCK_HOLDER = "SELECT people_person"
GRANTS = "SELECT rights_rightgrant"  # the policy: the actor's grants in force
WORKPLACES = "SELECT rbac_positionassignment"  # the policy, when the RA does not settle it
KEY_HOLDERS = "SELECT pki_certificate"  # was this key certified before, and for whom
INSERT = "INSERT pki_certificate"


def _statement(sql: str) -> str:
    """'SELECT people_person' from the SQL: the verb and the table its outer FROM/INTO names."""
    verb = sql.split(None, 1)[0].upper()
    marker = {"SELECT": "FROM", "INSERT": "INTO", "UPDATE": "UPDATE", "DELETE": "FROM"}[verb]
    depth = 0
    words = sql.replace('"', " ").replace("(", " ( ").replace(")", " ) ").replace(",", " ").split()
    for word, following in itertools.pairwise(words):
        depth += {"(": 1, ")": -1}.get(word, 0)
        if depth == 0 and word.upper() == marker:
            return f"{verb} {following}"
    raise AssertionError(f"no table in {sql}")


def _issue(actor: Actor, holder: Any) -> tuple[Certificate, list[str], list[str]]:
    csr = make_csr()
    with CaptureQueriesContext(connection) as captured:
        cert = certificate_issue(actor=actor, person=holder, csr_pem=csr)
    statements = [
        _statement(q["sql"])
        for q in captured.captured_queries
        if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT"))
    ]
    own = [s for s in statements if " audit_" not in s]
    audit = [s for s in statements if " audit_" in s]
    return cert, own, audit


@pytest.fixture(autouse=True)
def _warm(ca: Hierarchy, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issuing CA is held per process; keep it held however slowly the test runs."""
    monkeypatch.setattr(authority, "CURRENT_TTL_SECONDS", 3600.0)
    authority.issuing()


def test_an_ra_agent_issues_in_four_statements(people: Directory) -> None:
    cert, own, audit = _issue(people.agent, people.holder)
    # The holder is registered with the agent's RA, so the grants alone settle the policy.
    assert own == [LOCK_HOLDER, GRANTS, KEY_HOLDERS, INSERT]
    assert len(audit) <= AUDIT_STATEMENTS
    event = AuditEvent.objects.get(target_ref=cert.serial_hex)
    assert event.organisation_ref == "FPK01"
    assert event.rule.startswith("in-scope:ra_agent:grant#")


def test_a_holder_registered_elsewhere_adds_where_they_work(people: Directory) -> None:
    """Then the policy reads where they work, with the RA serving each place."""
    Person.objects.filter(pk=people.holder.pk).update(registered_ra=None)
    cert, own, _audit = _issue(people.agent, people.holder)
    assert own == [LOCK_HOLDER, GRANTS, WORKPLACES, KEY_HOLDERS, INSERT]
    assert AuditEvent.objects.get(target_ref=cert.serial_hex).organisation_ref == "FPK01"


def test_a_refusal_stops_after_the_grants(people: Directory) -> None:
    with CaptureQueriesContext(connection) as captured, pytest.raises(NotPermitted):
        certificate_issue(actor=people.lsa, person=people.holder, csr_pem=make_csr())
    statements = [
        _statement(q["sql"])
        for q in captured.captured_queries
        if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))
    ]
    assert statements == [LOCK_HOLDER, GRANTS]  # an LSA's right never carries issuing


def test_the_console_issues_in_three_statements(people: Directory) -> None:
    cert, own, audit = _issue(CONSOLE, people.holder)
    assert own == [LOCK_HOLDER, KEY_HOLDERS, INSERT]
    assert len(audit) <= AUDIT_STATEMENTS
    assert AuditEvent.objects.get(target_ref=cert.serial_hex).rule == "console-operator"


def test_the_count_does_not_grow_with_the_holders_history(people: Directory) -> None:
    for _ in range(3):
        _issue(people.agent, people.holder)
    AssignmentFactory(person=people.holder, position=PositionFactory(organisation=people.elsewhere))
    cert, own, _audit = _issue(people.agent, people.holder)
    assert own == [LOCK_HOLDER, GRANTS, KEY_HOLDERS, INSERT]
    # The first of the holder's organisations by ODS code names the event's organisation.
    assert AuditEvent.objects.get(target_ref=cert.serial_hex).organisation_ref == "FEL02"


def test_a_holder_without_a_position_files_events_under_no_organisation(
    people: Directory,
) -> None:
    PositionAssignment.objects.filter(person=people.holder).update(
        end_date=clock.today() - dt.timedelta(days=1)
    )
    cert, own, _audit = _issue(people.agent, people.holder)  # still registered with the RA
    assert own == [LOCK_HOLDER, GRANTS, KEY_HOLDERS, INSERT]
    assert AuditEvent.objects.get(target_ref=cert.serial_hex).organisation_ref == ""


def test_the_holders_row_stays_locked_until_the_commit(people: Directory) -> None:
    with CaptureQueriesContext(connection) as captured:
        certificate_issue(actor=people.agent, person=people.holder, csr_pem=make_csr())
    lock = next(q["sql"] for q in captured.captured_queries if '"people_person"' in q["sql"])
    assert lock.rstrip().endswith("FOR UPDATE") is connection.features.has_select_for_update
