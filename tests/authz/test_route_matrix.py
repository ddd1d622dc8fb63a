"""Every route with a target, as every persona, against every kind of target: generated.

The routes come from Django's URL resolver, so a new route is in the matrix the day it is added.
Each path parameter that names something the policy scopes (a person, an organisation, a
position, an assignment, a right, a card, a certificate, a request) is filled in for each kind of
target: in scope, at a child organisation, at another RA, one's own, closed, absent and
malformed. For each request, made as each persona and rolled back afterwards:

- nothing answers 5xx;
- a target the persona may not see answers exactly as an absent one (status and body, once the
  identifier itself is taken out), so a refusal never tells that something exists;
- a malformed identifier is refused (404, or 400 where a route says so), never 2xx or 5xx;
- a persona with no right changes nothing of anyone else's: no 2xx to a write, no audit event.

Routes whose parameters name nothing scoped (a catalogue code, a report, a one-time secret) are
checked for the absent and malformed values only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from cis.audit.models import AuditEvent
from cis.audit.refusals import REFUSAL_ACTIONS
from cis.authz.actions import Action
from cis.authz.policy import CONSOLE, decide
from cis.people.models import Person
from cis.workflow.services import request_raise
from tests.authz.world import World, build_world
from tests.factories.directory import PositionFactory
from tests.smartcards.conftest import CardInHand, active_card, ca  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db
BACKEND = "django.contrib.auth.backends.ModelBackend"

PERSONAS = ("no_right", "lsa", "ra_agent", "service_desk")
KINDS = ("in_scope", "child_org", "other_ra", "own", "closed", "absent", "malformed")
# The world's target for each kind that names a person ("own" is the persona).
PEOPLE = {"in_scope": "in_scope", "child_org": "child_org", "other_ra": "out_of_scope"}
PEOPLE["closed"] = "closed_person"

# What each scoped path parameter names, and the action that lets a persona see it.
SCOPED = {
    "user_id": Action.PERSON_VIEW,
    "ods_code": Action.ORGANISATION_VIEW,
    "position_id": Action.POSITION_VIEW,
    "assignment_id": Action.ASSIGNMENT_VIEW,
    "grant_id": Action.RIGHT_VIEW,
    "chip_serial": Action.CARD_VIEW,
    "serial": Action.CERTIFICATE_VIEW,
    "request_id": Action.REQUEST_VIEW,
}
# A `pk` takes its meaning from the route it is in.
PK_MEANS = {
    "people/<str:user_id>/positions/": "assignment_id",
    "people/<str:user_id>/rights/": "grant_id",
    "organisations/<str:ods_code>/positions/": "position_id",
    "requests/": "request_id",
}
ABSENT = {
    "user_id": "999999999999",
    "ods_code": "FZZ99",
    "position_id": "999999",
    "assignment_id": "999999",
    "grant_id": "999999",
    "chip_serial": "TESTABSENT01",
    "serial": "7ABC0DEF0123456789ABCDEF0123456789ABCDE",
    "request_id": "999999",
}
MALFORMED = {
    "user_id": "not-a-user",
    "ods_code": "NO SUCH!",
    "chip_serial": "bad serial!",
    "serial": "not-hex",
}
# Parameters that name nothing the policy scopes: an absent and a malformed value each.
UNSCOPED = {
    "verification_id": ("999999", None),
    "code": ("ZZZ99", "bad code!"),
    "kind": ("nothing", "bad kind!"),
    "request_type": ("no_such_type", "bad type!"),
    "slug": ("no-such-report", None),
    "table": ("no-such-table", None),
    "run_id": ("999999", None),
    "client_id": ("no-such-client", "bad client!"),
    "operation": ("no-such-operation", "bad op!"),
    "ref": ("no-such-task", "bad ref!"),
    "secret": ("no-such-ticket", "bad ticket!"),
    "encoded": ("AAAA", "%%%"),
}


@dataclass(frozen=True)
class Route:
    pattern: str  # as the resolver spells it, e.g. api/v1/people/<str:user_id>/close/
    methods: tuple[str, ...]

    @property
    def params(self) -> list[str]:
        names = re.findall(r"<(?:\w+:)?(\w+)>", self.pattern)
        return [self._meaning(name) for name in names]

    def _meaning(self, name: str) -> str:
        if name != "pk":
            return name
        for prefix, meaning in PK_MEANS.items():
            if prefix in self.pattern:
                return meaning
        raise AssertionError(f"{self.pattern}: say what its pk names in PK_MEANS")

    @property
    def scoped(self) -> bool:
        return any(p in SCOPED for p in self.params)

    def path(self, values: dict[str, str]) -> str:
        names = iter(self.params)
        # A parameter named nowhere above names nothing scoped: any number will do for it.
        return "/" + re.sub(
            r"<(?:\w+:)?\w+>", lambda _: values.get(next(names), "999999"), self.pattern
        )

    @property
    def api(self) -> bool:
        return self.pattern.startswith("api/")


def _walk(patterns: Any, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def routes() -> list[Route]:
    found = []
    for pattern, entry in _walk(get_resolver().url_patterns):
        if "<" not in pattern or pattern.startswith("^"):  # static assets are files, not targets
            continue
        view = getattr(entry.callback, "view_class", None)
        methods = tuple(
            m for m in ("get", "post", "patch", "put", "delete") if view is None or hasattr(view, m)
        )
        found.append(Route(pattern, methods))
    return found


ROUTES = routes()


@dataclass
class Targets:
    """The value of each scoped parameter for each kind of target, and what it names."""

    values: dict[str, dict[str, str]]
    objects: dict[str, dict[str, Any]]


def _targets_for(world: World, persona: Person, make_card: Callable[..., CardInHand]) -> Targets:
    values: dict[str, dict[str, str]] = {}
    objects: dict[str, dict[str, Any]] = {}
    for kind in ("in_scope", "child_org", "other_ra", "closed", "own"):
        person = persona if kind == "own" else world.targets[PEOPLE[kind]]
        assignment = person.assignments.select_related("position__organisation").first()
        assert assignment is not None
        org = assignment.position.organisation
        grant = person.right_grants.first() or world.grant_held["in_scope"]
        card = make_card(person)
        request = _request_about(person)
        objects[kind] = {
            "user_id": person,
            "ods_code": org,
            "position_id": assignment.position,
            "assignment_id": assignment,
            "grant_id": grant,
            "chip_serial": card.row.holder,
            "serial": card.link.certificate,
            "request_id": request,
        }
        values[kind] = {
            "user_id": person.user_id,
            "ods_code": org.ods_code,
            "position_id": str(assignment.position.pk),
            "assignment_id": str(assignment.pk),
            "grant_id": str(grant.pk),
            "chip_serial": card.row.chip_serial,
            "serial": card.link.certificate.serial_hex,
            "request_id": str(request.pk) if request else ABSENT["request_id"],
        }
    values["absent"] = dict(ABSENT)
    values["malformed"] = {**ABSENT, **MALFORMED}
    for name, (absent, malformed) in UNSCOPED.items():
        values["absent"][name] = absent
        values["malformed"][name] = malformed or absent
        for kind in ("in_scope", "child_org", "other_ra", "closed", "own"):
            values[kind][name] = absent
    return Targets(values, objects)


def _request_about(person: Person) -> Any:
    try:
        return request_raise(
            actor=CONSOLE, request_type="card_issue", payload={"user_id": person.user_id}
        )
    except Exception:  # noqa: BLE001 - a closed profile cannot have one raised: left absent
        return None


def _visible(persona: Person, route: Route, objects: dict[str, Any]) -> bool:
    for name in route.params:
        if name not in SCOPED:
            continue
        target = objects.get(name)
        if target is None or not decide(persona, SCOPED[name], target).allowed:
            return False
    return True


_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def _answer(
    client: Client, persona: Person, method: str, path: str, route: Route
) -> tuple[int, str, int]:
    """Status, body and audit events written (refusals aside), each request rolled back.

    Each starts afresh: signed in (ending one's own sessions signs one out), no throttle
    counted and no message queued by the request before.
    """
    cache.clear()
    client.cookies.pop("messages", None)
    client.force_login(persona, backend=BACKEND)
    with transaction.atomic():
        events = AuditEvent.objects.exclude(action__in=list(REFUSAL_ACTIONS)).count()
        if route.api:
            response = getattr(client, method)(path, {}, content_type="application/json")
        else:
            response = getattr(client, method)(path, {} if method == "post" else None)
        # A refusal is recorded too (cis.audit.refusals); only changes count here.
        written = AuditEvent.objects.exclude(action__in=list(REFUSAL_ACTIONS)).count() - events
        transaction.set_rollback(True)
    body = response.content.decode(errors="replace")
    return response.status_code, _TOKEN.sub("", body), written


def _without(body: str, values: dict[str, str], route: Route) -> str:
    """The body with the path's identifiers (however a page cases them) taken out."""
    for name in route.params:
        value = values.get(name, "").strip()
        # A short number (a row id) is left alone: no error message names one, and pages are
        # full of short numbers (their icons' drawings).
        forms = {f for f in (value, value.upper(), value.lower()) if len(f) >= 5}
        for form in sorted(forms, key=len, reverse=True):
            body = re.sub(rf"(?<![\w-]){re.escape(form)}(?![\w-])", "<id>", body)
    return body


def _difference(one: str, other: str) -> str:
    """Where two answers part, to show in a failure."""
    at = next((i for i, (a, b) in enumerate(zip(one, other, strict=False)) if a != b), None)
    if at is None:
        return "" if len(one) == len(other) else " (one answer is longer)"
    return f": {one[max(at - 40, 0) : at + 40]!r} against {other[max(at - 40, 0) : at + 40]!r}"


@pytest.mark.parametrize("persona_name", PERSONAS)
def test_every_route_with_a_target(
    persona_name: str,
    active_card: Callable[..., CardInHand],  # noqa: F811 - the fixture imported above
) -> None:
    world = build_world()
    persona = world.actors[persona_name]
    PositionFactory(organisation=world.elsewhere, name="Spare")  # the other RA has a position
    targets = _targets_for(world, persona, active_card)
    client = Client()
    problems: list[str] = []
    for route in ROUTES:
        for method in route.methods:
            absent_path = route.path(targets.values["absent"])
            absent = _answer(client, persona, method, absent_path, route)
            if absent[0] >= 500:
                problems.append(f"{method.upper()} {absent_path}: {absent[0]} for an absent target")
            malformed_path = route.path(targets.values["malformed"])
            malformed = _answer(client, persona, method, malformed_path, route)
            if malformed[0] >= 500 or (route.scoped and malformed[0] in range(200, 300)):
                problems.append(f"{method.upper()} {malformed_path}: {malformed[0]} when malformed")
            if not route.scoped:
                continue
            plain_absent = _without(absent[1], targets.values["absent"], route)
            for kind in ("in_scope", "child_org", "other_ra", "own", "closed"):
                path = route.path(targets.values[kind])
                status, body, written = _answer(client, persona, method, path, route)
                where = f"{persona_name} {method.upper()} {path} ({kind})"
                if status >= 500:
                    problems.append(f"{where}: {status}")
                    continue
                if not _visible(persona, route, targets.objects[kind]):
                    same = (status, _without(body, targets.values[kind], route)) == (
                        absent[0],
                        plain_absent,
                    )
                    if not same:
                        seen = _without(body, targets.values[kind], route)
                        problems.append(
                            f"{where}: out of sight answered {status}, absent {absent[0]}"
                            f"{_difference(seen, plain_absent)}"
                        )
                elif persona_name == "no_right" and kind != "own" and method != "get":
                    if status < 300 or written:
                        problems.append(f"{where}: a persona with no right changed something")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_the_matrix_walks_every_route_with_a_target() -> None:
    """The walk finds the routes (so the matrix cannot pass by finding none)."""
    patterns = {route.pattern for route in ROUTES}
    for pattern in (
        "api/v1/cards/<str:chip_serial>/cancel/",
        "smartcards/<str:chip_serial>/",
        "api/v1/people/<str:user_id>/",
        "requests/<int:pk>/approve/",
        "certificates/<str:serial>/revoke/",
    ):
        assert pattern in patterns
    assert sum(route.scoped for route in ROUTES) > 60
