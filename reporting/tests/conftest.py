"""One committed dataset per test module: two projects, late events, duplicates, two time zones.

The data is committed (not inside a test's rolled-back transaction) because funnels run in DuckDB,
whose attached PostgreSQL connection only sees committed rows; building it once per module also
keeps the suite fast. It is removed again when the module ends.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import override_settings
from rest_framework.test import APIClient

from analytics.rollups import derived_rows_delete, rollups_process_dirty
from analytics.tests.factories import RawEvent, events_delete, events_insert, touched_days, unique_events
from analytics.web_days import web_days_build, web_days_forget
from core import days as daysmod
from events.columnar import columnar_forget, columnar_write_dirty
from events.dirty import rollups_mark_dirty
from events.duck import duckdb_reset
from persons.cohorts import cohort_members_replace
from persons.models import Cohort, Person, PersonDistinctId
from persons.tests.factories import person_make
from projects.models import Project
from projects.tests.factories import ProjectFactory, editor_key_for, ingest_key_for, read_key_for
from reporting.tests import oracle, web_oracle

FIRST_DAY = dt.date(2024, 2, 20)
DAYS = 35  # crosses the US DST change of 2024-03-10


@dataclass
class Tenant:
    project: Project
    read_key: str
    ingest_key: str
    events: list[RawEvent]  # what the table holds: duplicates removed
    person_of: Callable[[str], str] = str  # an id's person key (merged_dataset links some ids)
    cohort: tuple[int, frozenset[str]] | None = None  # merged_dataset's static cohort: id, members

    @property
    def tz(self):
        return daysmod.zone(self.project.timezone)

    def client(self) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.read_key}")
        return client

    def editor(self) -> APIClient:
        """A client that may also write (goals, cohorts): an editor's write-scoped personal key.

        Its account is made in the calling test's transaction, and so gone with it."""
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {editor_key_for(self.project)}")
        return client

    def url(self, path: str) -> str:
        return f"/api/v1/projects/{self.project.slug}/{path}"


@dataclass
class Dataset:
    ny: Tenant
    kolkata: Tenant


def _load(project: Project, seed: int, users: int, typed_keys: int, generate=oracle.generate) -> list[RawEvent]:
    tz = daysmod.zone(project.timezone)
    generated = generate(project_id=project.pk, tz=tz, first=FIRST_DAY, days=DAYS, users=users, seed=seed)
    rng = random.Random(seed + 1)
    late = [e for e in generated if rng.random() < 0.08]
    late_ids = {id(e) for e in late}
    on_time = [e for e in generated if id(e) not in late_ids]
    duplicates = rng.sample(on_time, 40)
    # First flush and rollup, then late events for past days plus replays of already stored events.
    events_insert(on_time)
    rollups_mark_dirty(touched=touched_days(on_time))
    rollups_process_dirty()
    # Every day into the columnar tier; the late events then send their days back to PostgreSQL,
    # so the query layer answers from files and PostgreSQL together. One project's files have
    # typed columns for every key, the other's for two: the rest of its keys come from the JSON.
    with override_settings(EVENTBASE={**settings.EVENTBASE, "COLUMNAR_PROPERTY_KEYS": typed_keys}):
        columnar_write_dirty(max_days=10_000, settle_seconds=0)
    if generate is web_oracle.generate:
        # The web rollup of every day (the project loaded before: again, as its files were
        # rewritten); the late events send their days back to their events.
        web_days_build(max_days=10_000)
    second = late + duplicates
    events_insert(second)
    rollups_mark_dirty(touched=touched_days(second))
    rollups_process_dirty()
    return unique_events(generated + duplicates)


def _cleanup(project_ids: list[int]) -> None:
    events_delete(project_ids)
    with transaction.atomic():
        for project_id in project_ids:
            columnar_forget(project_id=project_id)
            web_days_forget(project_id=project_id)
    with connection.cursor() as cur:
        cur.execute("DELETE FROM events_columnar_dirty WHERE project_id = ANY(%s)", [project_ids])
    derived_rows_delete(project_ids=project_ids)
    with connection.cursor() as cur:
        cur.execute("DELETE FROM analytics_fill_state")
    Project.objects.filter(pk__in=project_ids).delete()


def _dataset(django_db_blocker, users: tuple[int, int], generate):
    with django_db_blocker.unblock():
        tenants = []
        for tz_name, seed, n, typed_keys in (("America/New_York", 7, users[0], 100), ("Asia/Kolkata", 11, users[1], 2)):
            # Fixed 2024 dates: keep raw events (and so rollup rebuilds) for those days.
            project = ProjectFactory(timezone=tz_name, raw_retention_days=10 * 365)
            tenants.append(
                Tenant(
                    project=project,
                    read_key=read_key_for(project),
                    ingest_key=ingest_key_for(project),
                    events=_load(project, seed, n, typed_keys, generate),
                )
            )
        try:
            yield Dataset(*tenants)
        finally:
            duckdb_reset()
            _cleanup([t.project.pk for t in tenants])


@pytest.fixture(scope="module")
def dataset(django_db_setup, django_db_blocker):
    yield from _dataset(django_db_blocker, (60, 30), oracle.generate)


@pytest.fixture(scope="module")
def web_dataset(django_db_setup, django_db_blocker):
    """Web traffic (pageviews with the enrichment's columns, crawlers, sessionless pageviews)."""
    yield from _dataset(django_db_blocker, (80, 40), web_oracle.generate)


@contextlib.contextmanager
def persons_merged(dataset: Dataset, *, persons: int) -> Iterator[Dataset]:
    """``persons`` persons of two or three ids each (arriving on different days) in each tenant,
    the rollups rebuilt as the worker would, and a static cohort of every other person. Each tenant
    gets ``person_of`` (an id's person key, as the reports' ``person`` column has it) and ``cohort``.
    Run with the database unblocked; the persons and cohorts are removed on the way out."""
    project_ids = [dataset.ny.project.pk, dataset.kolkata.project.pk]
    for tenant in (dataset.ny, dataset.kolkata):
        ids = sorted({e.user_id for e in tenant.events})
        random.Random(tenant.project.pk).shuffle(ids)
        for n in range(persons):
            person_make(project_id=tenant.project.pk, distinct_ids=ids[n * 3 : n * 3 + (3 if n % 2 else 2)])
        # The linked ids' days were marked dirty; the rollup worker counts them as persons again.
        rollups_process_dirty()
        links = {
            link.distinct_id: f"person:{link.person_id}"
            for link in PersonDistinctId.objects.filter(project_id=tenant.project.pk)
        }
        tenant.person_of = lambda user_id, links=links: links.get(user_id, user_id)
        # Every other person, merged ones included: a cohort filter keeps all their ids' events.
        members = sorted({tenant.person_of(e.user_id) for e in tenant.events})[::2]
        cohort = Cohort.objects.create(project_id=tenant.project.pk, name="every other", kind=Cohort.STATIC)
        cohort_members_replace(cohort=cohort, persons=members)
        tenant.cohort = (cohort.pk, frozenset(members))
    try:
        yield dataset
    finally:
        Cohort.objects.filter(project_id__in=project_ids).delete()
        PersonDistinctId.objects.filter(project_id__in=project_ids).delete()
        Person.objects.filter(project_id__in=project_ids).delete()


@pytest.fixture(scope="module")
def merged_dataset(dataset, django_db_blocker):
    """The dataset with some ids merged into persons, so reports must count a person once and
    take their first event over all their ids (``persons_merged``)."""
    with django_db_blocker.unblock(), persons_merged(dataset, persons=8) as merged:
        yield merged
