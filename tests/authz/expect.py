"""What DESIGN §2 says about the matrix world's actors and targets, for every domain's matrix.

Written from the design, independently of the policy's tables: which actors hold which rights
(after the higher rights include the lower), and which targets sit inside each actor's scope.
"""

from __future__ import annotations

RA_AGENTS = {"ra_agent", "ra_agent_advanced", "ra_manager"}
LSA_AND_UP = {"lsa", "lsa_children", "sponsor", "sponsor_children", *RA_AGENTS}
ADMINS = {*LSA_AND_UP, "id_checker", "service_desk"}


def in_reach(actor: str, target: str, *, by_person: bool = True) -> bool:
    """Whether the target sits inside the actor's scope (DESIGN §2, 'Scope').

    by_person: the target is reached through where the person works, so a person whose only
    position has ended is out of everyone's reach but the service desk's.
    """
    if actor == "service_desk":
        return True
    if actor in ("no_right", "ended_lsa"):
        return False
    if by_person and target == "ended_assignment":
        return False
    home = {"out_of_scope": "elsewhere", "child_org": "branch"}.get(target, "head_office")
    if actor in ("lsa", "sponsor"):
        return home == "head_office"
    return home in ("head_office", "branch")
