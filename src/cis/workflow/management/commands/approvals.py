"""`cis approvals`: show and set how many approvers each type of request needs (n of m)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.management.base import CommandParser

from cis.authz.policy import Actor
from cis.people.management.console import DirectoryCommand, codes_arg
from cis.workflow.approval_policy import approval_policy_list, approval_policy_set
from cis.workflow.states import RequestType

Result = tuple[str, Any]


def _data(policy: Any) -> dict[str, Any]:
    return {
        "request_type": policy.request_type,
        "approvals_needed": policy.approvals_needed,
        "approver_rights": policy.approver_rights,
    }


class Command(DirectoryCommand):
    help = "Approval policies: list, set."
    SUBCOMMANDS: ClassVar[dict[str, str]] = {
        "list": "Each type of request, how many approvers it needs and who may approve.",
        "set": "Set a type's policy (requests already raised keep theirs).",
    }

    def arguments_list(self, parser: CommandParser) -> None:
        pass

    def do_list(self, actor: Actor, options: dict[str, Any]) -> Result:
        policies = approval_policy_list(actor=actor)
        lines = [
            f"{p.request_type:<16} {p.approvals_needed} of {p.approvers_label}" for p in policies
        ]
        return "\n".join(lines), [_data(p) for p in policies]

    def arguments_set(self, parser: CommandParser) -> None:
        parser.add_argument("request_type", choices=RequestType.values)
        parser.add_argument("--approvers", type=int, required=True, help="how many (n), 1 to 5")
        parser.add_argument(
            "--rights",
            type=codes_arg,
            default=[],
            help="who may approve: ra_agent, ra_agent_advanced, ra_manager, service_desk",
        )

    def do_set(self, actor: Actor, options: dict[str, Any]) -> Result:
        policy = approval_policy_set(
            actor=actor,
            request_type=options["request_type"],
            approvals_needed=options["approvers"],
            approver_rights=options["rights"],
        )
        return (
            f"{policy.label}: {policy.approvals_needed} of {policy.approvers_label}.",
            _data(policy),
        )
