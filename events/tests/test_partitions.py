import datetime as dt

import pytest
from django.db import connection, transaction

from events.partitions import (
    create_upcoming_partitions,
    ensure_partitions,
    forget_known_partitions,
    list_partitions,
    partition_name,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    forget_known_partitions()
    yield
    forget_known_partitions()


def test_partition_is_created_once_and_bounded_by_utc_midnight():
    day = dt.date(2021, 3, 14)
    with transaction.atomic():
        assert ensure_partitions([day, day]) == [day]
    forget_known_partitions()
    with transaction.atomic():
        assert ensure_partitions([day]) == []
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c WHERE relname = %s",
            [partition_name(day)],
        )
        bound = cur.fetchone()[0]
    assert "2021-03-14 00:00:00+00" in bound and "2021-03-15 00:00:00+00" in bound


def test_upcoming_partitions_cover_yesterday_to_a_week_ahead():
    today = dt.date(2030, 1, 1)
    created = create_upcoming_partitions(days_ahead=7, today=today)
    assert created[0] == dt.date(2029, 12, 31)
    assert created[-1] == dt.date(2030, 1, 8)
    names = {p.name for p in list_partitions()}
    assert {partition_name(d) for d in created} <= names


def test_row_lands_in_its_day_partition():
    day = dt.date(2019, 7, 1)
    with transaction.atomic():
        ensure_partitions([day])
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO events (project_id, event_id, event_name, user_id, timestamp, received_at) "
            "VALUES (1, gen_random_uuid(), 'x', 'u', '2019-07-01T23:59:59+00', now())"
        )
        cur.execute(f"SELECT count(*) FROM {partition_name(day)}")
        assert cur.fetchone()[0] == 1
