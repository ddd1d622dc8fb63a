"""Every audited action is one of authz's Actions: the trail and the policy name things alike.

Read from the source, so that a new `record(..., action="something.new")` anywhere fails here
before it reaches the trail; actions passed on in a variable are typed `Action` where they
enter the trail, which mypy checks at every call.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import cis
from cis.audit import trail
from cis.authz.actions import Action
from cis.smartcards.services import common as card_services
from cis.workflow import services as workflow_services

SOURCE = Path(cis.__file__).parent
ARGPARSE = {"add_argument", "add_parser", "add_mutually_exclusive_group"}
# Wrappers of audit.record that take the action as a positional argument: its index.
POSITIONAL = {"audit_request": 2}


def _nodes() -> Iterator[tuple[str, ast.AST]]:
    for path in sorted(SOURCE.rglob("*.py")):
        where = str(path.relative_to(SOURCE.parent))
        for node in ast.walk(ast.parse(path.read_text(), where)):
            yield where, node


def _problem(value: ast.expr) -> str | None:
    """What is wrong with an expression given as an audited action, if anything."""
    if isinstance(value, ast.Constant):
        return f"the string {value.value!r}: write Action.<MEMBER>"
    if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name):
        if value.value.id == "Action" and value.attr not in Action.__members__:
            return f"Action.{value.attr} is not an action"
    return None  # a variable, typed Action where it reaches the trail (below)


def _name(call: ast.Call) -> str:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return call.func.id if isinstance(call.func, ast.Name) else ""


def _action_expressions() -> Iterator[tuple[str, int, ast.expr]]:
    for where, node in _nodes():
        if isinstance(node, ast.Call) and _name(node) not in ARGPARSE:
            for keyword in node.keywords:
                if keyword.arg == "action":
                    yield where, node.lineno, keyword.value
            index = POSITIONAL.get(_name(node))
            if index is not None and len(node.args) > index:
                yield where, node.lineno, node.args[index]
        elif isinstance(node, ast.Dict):  # the events given to audit.record_many
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "action":
                    yield where, value.lineno, value


def test_every_audited_action_is_in_the_action_enum() -> None:
    found = list(_action_expressions())
    assert len(found) > 50, "the source was not read"
    problems = [
        f"{where}:{line}: {problem}"
        for where, line, value in found
        if (problem := _problem(value)) is not None
    ]
    assert not problems, "\n" + "\n".join(problems)


def test_the_check_catches_a_string_and_a_misspelt_member() -> None:
    def first(source: str) -> str | None:
        call = ast.parse(source).body[0]
        assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call)
        return _problem(call.value.keywords[0].value)

    assert first('record(action="card.lost")') is not None
    assert first("record(action=Action.CARD_LOST)") is not None
    assert first("record(action=Action.CARD_CANCEL)") is None


@pytest.mark.parametrize(
    "entry",
    [trail.record, card_services.audit, workflow_services.audit_request],
    ids=lambda f: f.__qualname__,
)
def test_the_ways_into_the_trail_take_an_action_not_a_string(entry: Callable[..., Any]) -> None:
    assert entry.__annotations__["action"] == "Action"


def test_a_bulk_event_with_an_unknown_action_is_refused(db: None) -> None:
    from django.db import transaction

    from cis.audit.models import AuditEvent
    from cis.authz.policy import CONSOLE

    event = {"action": "card.lost", "target_type": "smartcard", "target_ref": "X"}
    with pytest.raises(ValueError, match="card.lost"), transaction.atomic():
        trail.record_many(actor=CONSOLE, rule="test", events=[event])
    assert not AuditEvent.objects.exists()


def test_only_the_policy_makes_a_decision() -> None:
    """No Decision is built outside cis.authz, and no service takes an optional one in place of
    asking the policy (the old `authorised_by`)."""
    problems = []
    for where, node in _nodes():
        if where.startswith("cis/authz/"):
            continue
        if isinstance(node, ast.Call) and _name(node) == "Decision":
            problems.append(f"{where}:{node.lineno}: Decision(...) built outside the policy")
        if isinstance(node, ast.FunctionDef):
            for arg in node.args.args + node.args.kwonlyargs:
                annotation = ast.unparse(arg.annotation) if arg.annotation else ""
                if "Decision | None" in annotation or "Optional[Decision]" in annotation:
                    problems.append(f"{where}:{node.lineno}: {node.name}({arg.arg}: {annotation})")
    assert not problems, "\n" + "\n".join(problems)
