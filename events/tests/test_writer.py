"""The event store's writer: every row once, and the caller told what really went in."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

import pytest
from django.db import connection, transaction

from core.clock import to_micros
from events.partitions import forget_known_partitions
from events.writer import ALL_NEW, events_write

pytestmark = pytest.mark.django_db

COLUMNS = ("project_id", "event_id", "event_name", "user_id", '"timestamp"', "received_at")
DAY = dt.date(2023, 5, 6)
RECEIVED = dt.datetime(2023, 5, 6, 12, 0, 1, 250, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _fresh_cache():
    forget_known_partitions()
    yield
    forget_known_partitions()


def _text(project_id: int, event_ids: list[str]) -> str:
    ts = dt.datetime.combine(DAY, dt.time(9), tzinfo=dt.UTC).isoformat()
    return "".join(f"{project_id}\t{e}\tpageview\tu\t{ts}\t{RECEIVED.isoformat()}\n" for e in event_ids)


def _write(text: str, watch: Iterable[str] = ()):
    with transaction.atomic(), connection.cursor() as cursor:
        return events_write(cursor, text=text, columns=COLUMNS, days=[DAY], watch=watch)


def _stored(project_id: int) -> list[str]:
    with connection.cursor() as cur:
        cur.execute("SELECT event_id::text FROM events WHERE project_id = %s ORDER BY 1", [project_id])
        return [row[0] for row in cur.fetchall()]


def test_new_rows_go_in_by_copy_and_stored_ones_are_skipped_and_not_counted():
    old, new_a, new_b = sorted(str(uuid.uuid4()) for _ in range(3))
    assert _write(_text(7, [old])) is ALL_NEW

    # A replay that brings new rows with it: only those go in, and only they are reported.
    written = _write(_text(7, [old, new_a, new_b]), watch=[old, new_a])
    assert not written.all_new
    assert written.inserted == {(7, to_micros(RECEIVED)): 2}
    assert written.watched == frozenset({(7, new_a)})
    assert _stored(7) == [old, new_a, new_b]

    nothing_new = _write(_text(7, [old, new_a]), watch=[new_a])
    assert not nothing_new.all_new and nothing_new.inserted == {} and nothing_new.watched == frozenset()
    assert _stored(7) == [old, new_a, new_b]


def test_the_watched_ids_are_only_read_when_some_rows_were_stored():
    def watch():
        raise AssertionError("read on the fast path")
        yield

    assert _write(_text(8, [str(uuid.uuid4())]), watch=watch()) is ALL_NEW
