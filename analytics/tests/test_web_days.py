"""The web rollup (analytics.web_days): which days the overview reads from its files, and that
an answer from the files is the answer from the events, across midnight, late events, identity
merges, filters, a time zone change and an erasure."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo

import duckdb
import pytest
from django.db import connection, transaction

from analytics.erasure import user_erase
from analytics.query.filters import filters_parse_json
from analytics.query.source import EventScope
from analytics.query.web import Overview, web_overview_rows
from analytics.tests.factories import RawEventFactory, events_delete, events_insert, touched_days
from analytics.web_days import web_day_paths, web_days_build, web_days_current, web_days_forget
from events.columnar import columnar_forget, columnar_write_dirty
from events.dirty import rollups_mark_dirty
from events.duck import duckdb_reset
from persons.models import Person, PersonDistinctId
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)  # DuckDB reads committed rows only

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
DAY1, DAY2 = dt.date(2025, 6, 2), dt.date(2025, 6, 3)
# A filter every event passes that is not a dimension: the overview reads every day's events.
FROM_EVENTS = '[{"type": "event", "key": "never_sent", "operator": "is_not_set"}]'
MIN = dt.timedelta(minutes=1)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=BERLIN)


def ev(project, name, user, t, session, path=None, **web):
    web = {"device_type": "desktop", "country": "DE", **web}
    return RawEventFactory(
        project_id=project.pk,
        event_name=name,
        user_id=user,
        timestamp=t,
        session_id=session,
        web={"pathname": path, **web} if name == "$pageview" else web,
    )


@pytest.fixture
def project():
    duckdb_reset()
    project = ProjectFactory(timezone="Europe/Berlin", raw_retention_days=10 * 365)
    yield project
    events_delete([project.pk])
    with transaction.atomic():
        columnar_forget(project_id=project.pk)
        web_days_forget(project_id=project.pk)
    with connection.cursor() as cur:
        cur.execute("DELETE FROM events_columnar_dirty WHERE project_id = %s", [project.pk])
    duckdb_reset()


def store(events) -> None:
    events_insert(events)
    rollups_mark_dirty(touched=touched_days(events))


def roll_up() -> int:
    """The columnar tier's job, then the web rollup's, as the scheduler runs them."""
    columnar_write_dirty(max_days=50, settle_seconds=0)
    return web_days_build()


def overview(project, filters: str | None = None, first=DAY1, last=DAY2, tz=BERLIN) -> Overview:
    scope = EventScope(project.pk, tz, first, last, filters=filters_parse_json(filters))
    return web_overview_rows(scope)


def same(a: Overview, b: Overview) -> bool:
    return dataclasses.asdict(a) == dataclasses.asdict(b)


def test_a_visit_over_midnight_is_one_visit_in_the_files(project):
    store(
        [
            ev(project, "$pageview", "a", at(DAY1, 23, 50), "v1", "/a"),
            ev(project, "$pageview", "a", at(DAY2, 0, 10), "v1", "/b"),
            ev(project, "click", "a", at(DAY2, 0, 20), "v1"),
            ev(project, "$pageview", "b", at(DAY2, 12), "v2", "/a"),
        ]
    )
    assert roll_up() == 3  # the two local days and the one before (UTC 2 June begins on 1 June here)
    assert set(web_days_current(project.pk, BERLIN, DAY1, DAY2)) == {DAY1, DAY2}
    got = overview(project)
    assert (got.totals.visits, got.totals.bounces, got.totals.duration_us) == (2, 1, 30 * 60 * 1_000_000)
    pages = {row.value: row for row in got.lists["pages"]}
    # /a entered both visits (one a bounce); its time to the next pageview crosses midnight.
    assert (pages["/a"].entries, pages["/a"].bounces, pages["/a"].gap_us, pages["/a"].gaps) == (2, 1, 20 * 60e6, 1)
    assert [row.value for row in got.lists["exit_pages"]] == ["/a", "/b"]
    assert got.series == {DAY1: (1, 1), DAY2: (2, 2)}
    assert same(got, overview(project, FROM_EVENTS))
    # The first day alone: the visit's part before midnight, as when reading the events.
    assert same(overview(project, last=DAY1), overview(project, FROM_EVENTS, last=DAY1))


def test_a_late_event_is_read_from_its_day_until_rolled_up_again(project):
    store([ev(project, "$pageview", "a", at(DAY1, 10), "v1", "/a")])
    roll_up()
    late = ev(project, "$pageview", "b", at(DAY1, 11), "v2", "/late")
    store([late])
    assert DAY1 not in web_days_current(project.pk, BERLIN, DAY1, DAY2)
    assert overview(project).totals.visitors == 2
    assert roll_up() >= 1
    assert DAY1 in web_days_current(project.pk, BERLIN, DAY1, DAY2)
    assert overview(project).totals.visitors == 2
    assert web_days_build() == 0  # nothing stale: nothing built again


def test_ids_are_joined_to_persons_when_the_question_is_asked(project):
    store([ev(project, "$pageview", user, at(DAY1, 10 + i), f"v{i}", "/") for i, user in enumerate("abc")])
    roll_up()
    assert overview(project).totals.visitors == 3
    t = at(DAY1, 9)
    person = Person.objects.create(project_id=project.pk, created_at=t, updated_at=t)
    for distinct_id in ("a", "b"):
        PersonDistinctId.objects.create(project_id=project.pk, distinct_id=distinct_id, person=person)
    assert DAY1 in web_days_current(project.pk, BERLIN, DAY1, DAY2)  # nothing to build again
    got = overview(project)
    assert got.totals.visitors == 2 and got.lists["pages"][0].visitors == 2
    assert same(got, overview(project, FROM_EVENTS))


def test_dimension_filters_read_the_files_unless_a_visit_disagrees(project):
    store(
        [
            # A visit whose click came from a server (no device): a filter on the device makes it
            # a visit of one pageview, a bounce, which the files cannot tell; the country agrees.
            ev(project, "$pageview", "a", at(DAY1, 10), "v1", "/a"),
            ev(project, "click", "a", at(DAY1, 10, 5), "v1", device_type=None),
            ev(project, "$pageview", "b", at(DAY2, 10), "v2", "/b", device_type="mobile", country="FR"),
            ev(project, "click", "b", at(DAY2, 10, 1), "v2", device_type="mobile", country="FR"),
        ]
    )
    roll_up()
    current = web_days_current(project.pk, BERLIN, DAY1, DAY2)
    assert current == {DAY1: frozenset({"device_type"}), DAY2: frozenset()}
    desktop = '[{"type": "column", "key": "device_type", "operator": "exact", "value": "desktop"}]'
    got = overview(project, desktop)
    assert (got.totals.visits, got.totals.bounces) == (1, 1)
    assert same(got, overview(project, desktop[:-1] + ", " + FROM_EVENTS[1:]))
    for country in ('"DE"', '["FR"]'):
        question = f'[{{"type": "column", "key": "country", "operator": "exact", "value": {country}}}]'
        got = overview(project, question)
        assert (got.totals.visits, got.totals.bounces) == (1, 0)
        assert same(got, overview(project, question[:-1] + ", " + FROM_EVENTS[1:]))


def test_a_time_zone_change_builds_the_days_again(project):
    store([ev(project, "$pageview", "a", at(DAY1, 0, 30), "v1", "/a")])  # 22:30 UTC the day before
    roll_up()
    utc = zoneinfo.ZoneInfo("UTC")
    assert web_days_current(project.pk, utc, DAY1 - dt.timedelta(days=1), DAY1) == {}
    assert overview(project, first=DAY1 - dt.timedelta(days=1), last=DAY1, tz=utc).series == {
        DAY1 - dt.timedelta(days=1): (1, 1)
    }
    project.timezone = "UTC"
    project.save()
    assert roll_up() >= 1
    # The one local day with events in UTC (the next has none: no file to build it from).
    assert set(web_days_current(project.pk, utc, DAY1 - dt.timedelta(days=1), DAY1)) == {DAY1 - dt.timedelta(days=1)}


def test_an_erasure_deletes_the_files_holding_the_ids(project):
    store([ev(project, "$pageview", user, at(DAY1, 12), f"s-{user}", "/") for user in ("gone", "kept")])
    roll_up()
    paths = web_day_paths(project.pk, DAY1)
    assert all(path.exists() for path in paths.values())
    user_erase(project=project, user_id="gone")
    assert not any(path.exists() for path in paths.values())
    assert overview(project).totals.visitors == 1
    roll_up()
    assert DAY1 in web_days_current(project.pk, BERLIN, DAY1, DAY2)
    for kind in ("pairs", "parts"):
        assert duckdb.sql(f"SELECT DISTINCT user_id FROM '{paths[kind]}'").fetchall() == [("kept",)]
    assert overview(project).totals.visitors == 1
