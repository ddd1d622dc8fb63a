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

from collections.abc import Iterator

import httpx
import pytest

from tests.live import LiveCis
from tests.pgcluster import PostgresPair, postgres_pair

SURNAME = "Replicawright"


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
