from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from core.redis import get_redis
from ingestion import buffer
from ingestion.models import IngestionLedger
from projects.tests.factories import ProjectFactory


@pytest.fixture
def project(db):
    return ProjectFactory()


@pytest.fixture
def buffered_entry():
    """Put one entry on shard 0 as if received ``age`` seconds ago and never flushed."""

    def _add(project_id: int, *, age: float, events: int = 1) -> None:
        client = get_redis()
        buffer.ensure_groups(client)
        received_us = int((dt.datetime.now(dt.UTC) - dt.timedelta(seconds=age)).timestamp() * 1_000_000)
        data = [
            {"id": str(uuid.uuid4()), "n": "pageview", "s": "api", "u": f"u{n}", "a": False, "t": received_us}
            for n in range(events)
        ]
        client.xadd(buffer.stream_key(0), {"p": project_id, "r": received_us, "d": json.dumps(data)})

    return _add


@pytest.fixture
def ledger_minute():
    """A ledger row for the current minute (what ledger_sync would have copied from Redis)."""

    def _row(project, **counts) -> IngestionLedger:
        minute = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
        return IngestionLedger.objects.create(project=project, minute=minute, **counts)

    return _row
