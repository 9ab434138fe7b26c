from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from django.db import connection, connections

from events.models import WEB_COLUMNS
from events.partitions import forget_known_partitions
from ingestion.flush import drain
from projects.tests.factories import ProjectFactory, ingest_key_for, read_key_for


@pytest.fixture(autouse=True)
def _partitions_cache():
    # Each test's transaction is rolled back, partitions with it; the in-process cache must forget.
    forget_known_partitions()
    yield
    forget_known_partitions()


@pytest.fixture
def project(db):
    return ProjectFactory()


@pytest.fixture
def ingest_key(project) -> str:
    return ingest_key_for(project)


@pytest.fixture
def read_key(project) -> str:
    return read_key_for(project)


@pytest.fixture
def post(client):
    """POST to the capture endpoint: post(key, body, **headers) -> response."""

    def _post(key: str | None, body: Any, *, gzip_body: bool = False, raw: bytes | None = None, **headers):
        data = raw if raw is not None else json.dumps(body).encode()
        extra = {}
        if key is not None:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {key}"
        if gzip_body:
            data = gzip.compress(data)
            extra["HTTP_CONTENT_ENCODING"] = "gzip"
        extra.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
        return client.post("/api/v1/events", data=data, content_type="application/json", **extra)

    return _post


@pytest.fixture
def live_server_closes_connections(monkeypatch):
    """Live-server threads close their database connection after every request.

    SDKs keep HTTP connections alive; the live server serves such a connection in one thread,
    which with persistent database connections (CONN_MAX_AGE) would hold a session open past the
    test and block dropping the test database. Threads share this settings dict.
    """
    monkeypatch.setitem(connections["default"].settings_dict, "CONN_MAX_AGE", 0)


@pytest.fixture
def flush():
    """Drain every shard in-process, as the flush job does."""

    def _flush():
        return drain(seconds=30)

    return _flush


def stored(project_id: int, **filters) -> list[dict]:
    where = " AND ".join(f"{k} = %s" for k in filters)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT event_id::text, event_name, source, user_id, is_anonymous, session_id, timestamp, "
            f"received_at, properties, host(ip) AS ip, user_agent, {', '.join(WEB_COLUMNS)} "
            "FROM events WHERE project_id = %s" + (f" AND {where}" if where else "") + " ORDER BY timestamp, event_id",
            [project_id, *filters.values()],
        )
        names = [c.name for c in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    for row in rows:  # Django's connection hands jsonb back as text
        row["properties"] = json.loads(row["properties"])
    return rows
