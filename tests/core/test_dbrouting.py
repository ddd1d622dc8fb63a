"""The read replica over real HTTP: search and reports from a streaming replica, the rest on the
primary, each client's reads after its own writes on the primary, and the primary when the
replica is gone (cis.core.dbrouting).

The module starts its own PostgreSQL primary and streaming replica (tests/pgcluster.py) and
the demo world on them, served by `cis serve` with DATABASE_URL on the primary and
CIS_DATABASE_REPLICA_URL on the replica, whatever database the rest of the suite uses. Which
server answered is proved by pausing the replica's replay (`pg_wal_replay_pause()`): a person
created afterwards exists only on the primary.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory

from cis.core import dbrouting
from cis.people.models import Person
from tests.live import LiveCis
from tests.pgcluster import PostgresPair, postgres_pair

SURNAME = "Replicawright"
RETURN_SURNAME = "Returnwright"


@pytest.fixture(scope="module")
def pair() -> Iterator[PostgresPair]:
    with postgres_pair() as started:
        started.primary.query("CREATE DATABASE cis")
        yield started


@pytest.fixture(scope="module")
def served(pair: PostgresPair, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCis]:
    live = LiveCis(
        tmp_path_factory.mktemp("cis-replica"),
        database_url=pair.primary.url("cis"),
        extra_env={"CIS_DATABASE_REPLICA_URL": pair.replica.url("cis")},
    )
    try:
        live.load_demo()
        live.start()
        yield live
    finally:
        live.close()


# The router's decisions, in-process.


@pytest.fixture
def routing_state() -> Iterator[dbrouting._Request]:
    """A request's routing state, as the middleware sets it for a marked view."""
    state = dbrouting._Request(client_wal="", replica_reads=True, replica_ready=True)
    token = dbrouting._current.set(state)
    yield state
    dbrouting._current.reset(token)


def test_without_a_replica_there_is_no_router_and_no_middleware() -> None:
    assert "replica" not in settings.DATABASES
    assert settings.DATABASE_ROUTERS == []
    with pytest.raises(MiddlewareNotUsed):
        dbrouting.ReplicaRoutingMiddleware(lambda request: HttpResponse())


def test_outside_a_marked_request_every_read_is_on_the_primary() -> None:
    assert dbrouting.ReplicaRouter().db_for_read(Person) == "default"


def test_a_marked_request_reads_from_the_replica_until_it_writes(
    routing_state: dbrouting._Request,
) -> None:
    router = dbrouting.ReplicaRouter()
    assert router.db_for_read(Person) == "replica"
    assert router.db_for_write(Person) == "default"
    assert routing_state.wrote
    assert router.db_for_read(Person) == "default"  # it reads what it wrote


def test_any_statement_but_a_select_on_the_primary_is_a_write(
    routing_state: dbrouting._Request,
) -> None:
    def run(sql: str) -> None:
        dbrouting._note_writes(lambda *args: None, sql, (), False, {})

    run("  select 1")
    assert not routing_state.wrote
    assert routing_state.replica_reads
    run("INSERT INTO core_ratecount VALUES (1)")  # raw SQL, which the router never sees
    assert routing_state.wrote
    assert not routing_state.replica_reads


@pytest.mark.django_db
def test_reads_inside_a_transaction_are_on_the_primary(routing_state: dbrouting._Request) -> None:
    with transaction.atomic():
        assert dbrouting.ReplicaRouter().db_for_read(Person) == "default"


def test_a_replica_not_ready_sends_reads_to_the_primary(routing_state: dbrouting._Request) -> None:
    routing_state.replica_ready = False  # down, not a standby, or behind this client's write
    assert dbrouting.ReplicaRouter().db_for_read(Person) == "default"


def test_migrations_run_only_on_the_primary() -> None:
    router = dbrouting.ReplicaRouter()
    assert router.allow_migrate("default", "people")
    assert not router.allow_migrate("replica", "people")


@pytest.mark.parametrize(
    ("cookie", "kept"),
    [("0/37F0268", True), ("1A/0", True), ("", False), ("0/", False), ("x/1", False),
     ("0/1'; DROP TABLE x", False), ("123456789/0", False)],
)  # fmt: skip
def test_only_a_wal_position_is_taken_from_the_cookie(cookie: str, kept: bool) -> None:
    request = RequestFactory().get("/", HTTP_COOKIE=f"{dbrouting.WAL_COOKIE}={cookie}")
    assert dbrouting._client_wal(request) == (cookie if kept else "")


# Over real HTTP, with a PostgreSQL primary and replica of the test's own.


def _found(client: httpx.Client, words: str, *, fresh: bool = False) -> list[str]:
    """User ids the directory search finds; `fresh`: as a client that has written nothing.

    Any request may touch the reader's sign-in session (a write, every minute), which by
    design sends its next read to the primary; dropping the WAL cookie the server handed back
    makes the next request one from a client that has not written.
    """
    if fresh:
        client.cookies.delete("cis_wal")
    answer = client.get("/api/v1/people/", params={"q": words})
    assert answer.status_code == 200, answer.text
    return [person["user_id"] for person in answer.json()["results"]]


def _awaiting_check(client: httpx.Client, *, fresh: bool = False) -> list[str]:
    """User ids in the report of people awaiting an identity check."""
    if fresh:
        client.cookies.delete("cis_wal")
    answer = client.get("/api/v1/reports/identity-checks/")
    assert answer.status_code == 200, answer.text
    people = next(t for t in answer.json()["tables"] if t["key"] == "people")
    return [row["user_id"] for row in people["rows"]]


def test_search_and_reports_come_from_the_replica_and_a_writer_reads_its_writes(
    pair: PostgresPair, served: LiveCis
) -> None:
    reader_id = served.persona("RA Manager")["user_id"]
    writer_id = served.persona("RA Agent")["user_id"]
    with served.signed_in(reader_id) as reader, served.signed_in(writer_id) as writer:
        someone = _found(reader, "Adeyemi", fresh=True)
        assert someone, "the demo's directory holds an Adeyemi"
        pair.wait_replayed()
        pair.pause_replay()
        try:
            created = writer.post(
                "/api/v1/people/",
                json={
                    "given_name": "Rhiannon",
                    "family_name": SURNAME,
                    "date_of_birth": "1981-03-14",
                    "registered_ra": "RA-NP",
                },
            )
            assert created.status_code == 201, created.text
            new = created.json()["user_id"]
            assert pair.primary.query(
                "SELECT 1 FROM people_person WHERE user_id = %s", "cis", (new,)
            ), "written on the primary"
            assert not pair.replica.query(
                "SELECT 1 FROM people_person WHERE user_id = %s", "cis", (new,)
            ), "the replica's replay is paused"

            # The writer's next search and report read on the primary: it sees its own write.
            assert _found(writer, SURNAME) == [new]
            assert new in _awaiting_check(writer)
            # Everyone else's come from the replica, paused before the write.
            assert _found(reader, SURNAME, fresh=True) == []
            assert new not in _awaiting_check(reader, fresh=True)
            assert _found(reader, "Adeyemi", fresh=True) == someone  # the replica answered
            # Pages other than search and reports read on the primary, for everyone.
            detail = reader.get(f"/api/v1/people/{new}/")
            assert detail.status_code == 200, detail.text
            assert detail.json()["family_name"] == SURNAME
        finally:
            pair.resume_replay()
        pair.wait_replayed()
        assert _found(reader, SURNAME, fresh=True) == [new]  # replayed: on the replica too


def test_a_stopped_replica_sends_reads_to_the_primary_never_an_error(
    pair: PostgresPair, served: LiveCis
) -> None:
    reader_id = served.persona("RA Manager")["user_id"]
    with served.signed_in(reader_id) as reader:
        assert _found(reader, "Adeyemi", fresh=True)  # a pooled connection to the replica
        pair.replica.stop()
        try:
            for _ in range(3):  # the first meets the dead connection, the next the breaker
                assert _found(reader, "Adeyemi", fresh=True)
                assert isinstance(_awaiting_check(reader, fresh=True), list)
                page = reader.get("/people/", params={"q": "Adeyemi"})
                assert page.status_code == 200, page.status_code
                assert "Adeyemi" in page.text
            assert "replica unavailable: reading from the primary" in served.output()
        finally:
            pair.replica.start()

        # Started again, it is used again once the breaker's probe reaches it: a person created
        # while its replay is paused stays out of the reader's search results.
        pair.wait_replayed()
        pair.pause_replay()
        try:
            with served.signed_in(served.persona("RA Agent")["user_id"]) as writer:
                created = writer.post(
                    "/api/v1/people/",
                    json={
                        "given_name": "Idris",
                        "family_name": RETURN_SURNAME,
                        "date_of_birth": "1979-11-02",
                        "registered_ra": "RA-NP",
                    },
                )
                assert created.status_code == 201, created.text
            deadline = time.monotonic() + 120
            while _found(reader, RETURN_SURNAME, fresh=True):
                if time.monotonic() > deadline:
                    pytest.fail("reads did not return to the replica once it answered again")
                time.sleep(0.5)  # waiting for the breaker to close, not timing anything
        finally:
            pair.resume_replay()
