from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from events.partitions import forget_known_partitions


@pytest.fixture(autouse=True)
def _partitions_cache():
    # Partitions created or dropped inside a rolled-back test vanish or come back; the
    # in-process cache of known partitions must not outlive the test.
    forget_known_partitions()
    yield
    forget_known_partitions()


@pytest.fixture
def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def rows_by_project(day: dt.date) -> dict[int, int]:
    """Rows per project in the partition of ``day`` ({} when the partition does not exist)."""
    from events.partitions import partition_name

    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", [partition_name(day)])
        if cur.fetchone()[0] is None:
            return {}
        cur.execute(f"SELECT project_id, count(*) FROM {partition_name(day)} GROUP BY 1")
        return dict(cur.fetchall())


def partition_exists(day: dt.date) -> bool:
    from events.partitions import partition_name

    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", [partition_name(day)])
        return cur.fetchone()[0] is not None
