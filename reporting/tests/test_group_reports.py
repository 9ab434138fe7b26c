"""Reports that count groups (``aggregation_group_type``), against plain-Python oracles.

The oracles are the persons' ones (reporting/tests/oracle.py) run over the events whose ``user_id``
is replaced by the event's company, events of no company left out: "active companies" are the
distinct users of that list. The dataset is committed (DuckDB only sees committed rows); its days
come from layout-4 files, layout-3 files written before the group columns existed, and PostgreSQL
(late events), so every tier answers a group question.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import random
import uuid
from collections.abc import Iterator

import duckdb
import pytest
from django.db import connection, transaction

from analytics.query.source import EventScope, events_relation
from analytics.rollups import rollups_process_dirty
from analytics.tests.factories import RawEvent, events_insert, touched_days
from core import days as daysmod
from events.columnar import columnar_path, columnar_write_dirty
from events.dirty import rollups_mark_dirty
from events.duck import duckdb_reset, duckdb_sql_string
from persons.groups import GroupOp, group_type_indexes, groups_apply
from persons.models import Person, PersonDistinctId
from persons.tests.factories import person_make
from projects.tests.factories import ProjectFactory, ingest_key_for, read_key_for
from reporting.tests import oracle
from reporting.tests.conftest import Tenant, _cleanup

pytestmark = pytest.mark.django_db

FIRST = dt.date(2024, 3, 1)
DAYS = 21
LAST = FIRST + dt.timedelta(days=DAYS - 1)
OLD_LAYOUT_DAYS = (FIRST + dt.timedelta(days=3), FIRST + dt.timedelta(days=4))  # files from before the groups


@dataclasses.dataclass
class GroupTenant:
    tenant: Tenant
    company: dict  # event id -> company key (events of no company absent)
    team: dict  # event id -> team key

    def by_company(self) -> list[RawEvent]:
        """The oracle's view: each event of a company as an event of a "user" that is the company."""
        return [
            dataclasses.replace(e, user_id=self.company[e.event_id])
            for e in self.tenant.events
            if e.event_id in self.company
        ]


def _generate(project_id: int, tz) -> tuple[list[RawEvent], dict, dict]:
    rng = random.Random(5)
    events, company, team = [], {}, {}
    for day in daysmod.days_between(FIRST, LAST):
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=tz)
        for user in range(30):
            if rng.random() > 0.45:
                continue
            t = midnight + dt.timedelta(seconds=rng.randrange(0, 20 * 3600))
            names = ["pageview"] * rng.randint(1, 3)
            names += ["signup"] * (rng.random() < 0.5) + ["purchase"] * (rng.random() < 0.4)
            for name in names:
                t += dt.timedelta(minutes=rng.randint(1, 90))
                properties = {"plan": rng.choice(["free", "pro"])}
                groups = {}
                if user < 25:  # users 25..29 belong to no company: their events are not counted
                    groups["company"] = f"co-{user % 7}"
                if user < 10:
                    groups["team"] = f"team-{user % 3}"
                if groups:
                    properties["$groups"] = groups
                event = RawEvent(project_id, name, f"u{user}", t.astimezone(dt.UTC), properties=properties)
                events.append(event)
                if "company" in groups:
                    company[event.event_id] = groups["company"]
                if "team" in groups:
                    team[event.event_id] = groups["team"]
    return events, company, team


def _set_group_columns(project_id: int, company: dict, team: dict, indexes: dict) -> None:
    """What the flush writes (ingestion/tests/test_groups_flush.py proves it does)."""
    with connection.cursor() as cur:
        for name, keys in (("company", company), ("team", team)):
            cur.execute(
                f"UPDATE events e SET group_{indexes[name]} = k.key FROM unnest(%s::uuid[], %s::text[]) AS k(id, key) "
                "WHERE e.project_id = %s AND e.event_id = k.id",
                [list(keys), list(keys.values()), project_id],
            )


def _as_layout_3(project_id: int, day: dt.date) -> None:
    """The day's file as a deploy before the group columns left it: without them, layout 3."""
    path = columnar_path(project_id, day)
    tmp = path.with_suffix(".old")
    duckdb.sql(
        f"COPY (SELECT * EXCLUDE (group_0, group_1, group_2, group_3, group_4) FROM read_parquet("
        f"{duckdb_sql_string(str(path))})) TO {duckdb_sql_string(str(tmp))} (FORMAT parquet)"
    )
    tmp.replace(path)
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE events_columnar_day SET layout = 3 WHERE project_id = %s AND utc_date = %s", [project_id, day]
        )


# The companies' properties: co-6 never sent a $groupidentify (every property unset).
TIERS = {f"co-{n}": {"tier": "gold" if n < 3 else "silver", "seats": 10 * n} for n in range(6)}
TEAMS = {"team-0": {"area": "growth"}, "team-1": {"area": "core"}, "team-2": {"area": "growth"}}


def _group_ops(project_id: int) -> list[GroupOp]:
    ops = [GroupOp(project_id, str(uuid.uuid4()), 0, "company", key, props) for key, props in TIERS.items()]
    return ops + [GroupOp(project_id, str(uuid.uuid4()), 0, "team", key, props) for key, props in TEAMS.items()]


@pytest.fixture(scope="module")
def groups(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        project = ProjectFactory(timezone="America/New_York", raw_retention_days=10 * 365)
        tz = daysmod.zone(project.timezone)
        events, company, team = _generate(project.pk, tz)
        # Late events on the last week's days: those are read from PostgreSQL.
        late_ids = {e.event_id for e in events[::17] if e.timestamp.date() >= FIRST + dt.timedelta(days=14)}
        late = [e for e in events if e.event_id in late_ids]
        on_time = [e for e in events if e.event_id not in late_ids]
        with transaction.atomic(), connection.cursor() as cur:
            indexes = group_type_indexes(cur, project.pk, ["team"])  # team first: company gets index 1
            indexes |= group_type_indexes(cur, project.pk, ["company"])
        assert indexes == {"team": 0, "company": 1}
        with transaction.atomic():
            groups_apply(ops=_group_ops(project.pk), now=dt.datetime.now(dt.UTC))
        events_insert(on_time)
        _set_group_columns(project.pk, company, team, indexes)
        rollups_mark_dirty(touched=touched_days(on_time))
        rollups_process_dirty()
        columnar_write_dirty(max_days=10_000, settle_seconds=0)
        for day in OLD_LAYOUT_DAYS:
            _as_layout_3(project.pk, day)
        events_insert(late)  # their days are read from PostgreSQL until written again
        _set_group_columns(project.pk, company, team, indexes)
        rollups_mark_dirty(touched=touched_days(late))
        rollups_process_dirty()
        tenant = Tenant(project, read_key_for(project), ingest_key_for(project), events)
        try:
            yield GroupTenant(tenant, company, team)
        finally:
            duckdb_reset()
            _cleanup([project.pk])
            with connection.cursor() as cur:
                cur.execute("DELETE FROM persons_group_type WHERE project_id = %s", [project.pk])
                cur.execute("DELETE FROM persons_group WHERE project_id = %s", [project.pk])


def test_layout_3_files_serve_every_question_but_groups(groups):
    project_id, tz = groups.tenant.project.pk, groups.tenant.tz
    old = str(columnar_path(project_id, OLD_LAYOUT_DAYS[0]))
    plain, _ = events_relation(EventScope(project_id, tz, FIRST, LAST))
    grouped, _ = events_relation(EventScope(project_id, tz, FIRST, LAST, group_index=1))
    assert old in plain and old not in grouped
    assert str(columnar_path(project_id, FIRST + dt.timedelta(days=10))) in grouped  # a layout-4 file


@pytest.mark.parametrize(("interval", "math"), [("day", "users"), ("week", "users"), ("day", "total")])
def test_trends_count_companies(groups, interval, math):
    tenant = groups.tenant
    params = {"event": "pageview", "from": FIRST, "to": LAST, "interval": interval, "math": math}
    response = tenant.client().get(tenant.url("trends"), {**params, "aggregation_group_type": "company"})
    assert response.status_code == 200, response.content
    expected = oracle.trends(groups.by_company(), tenant.tz, "pageview", FIRST, LAST, interval, math)
    assert response.json()["series"] == expected
    assert max(point["value"] for point in expected[0]["data"]) > 0
    if math == "users":  # at most 7 companies a day, against up to 30 users
        assert max(point["value"] for point in expected[0]["data"]) <= 7


def test_trends_post_counts_companies_per_series(groups):
    tenant = groups.tenant
    body = {
        "series": [{"event": "pageview", "math": "users"}, {"event": "signup", "math": "users"}],
        "from": FIRST.isoformat(),
        "to": LAST.isoformat(),
        "aggregation_group_type": "company",
    }
    response = tenant.client().post(tenant.url("trends"), body, format="json")
    assert response.status_code == 200, response.content
    for entry, event in zip(response.json()["series"], ["pageview", "signup"], strict=True):
        [expected] = oracle.trends(groups.by_company(), tenant.tz, event, FIRST, LAST, "day", "users")
        assert entry["data"] == expected["data"]


@pytest.mark.parametrize("window_hours", [2, 24])
def test_funnel_moves_companies_through_the_steps(groups, window_hours):
    tenant = groups.tenant
    steps = ["pageview", "signup", "purchase"]
    body = {"steps": steps, "from": FIRST.isoformat(), "to": LAST.isoformat(), "window_hours": window_hours}
    response = tenant.client().post(tenant.url("funnels"), {**body, "aggregation_group_type": "company"}, format="json")
    assert response.status_code == 200, response.content
    expected = oracle.funnel(groups.by_company(), tenant.tz, steps, FIRST, LAST, window_hours)
    assert [row["users"] for row in response.json()["results"]] == expected
    assert expected[0] == 7


@pytest.mark.parametrize(("period", "windows"), [("day", 5), ("week", 2)])
def test_retention_of_companies(groups, period, windows):
    tenant = groups.tenant
    start = FIRST
    response = tenant.client().get(
        tenant.url("retention"),
        {"start_date": start, "windows": windows, "period": period, "aggregation_group_type": "company"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    last = start + dt.timedelta(days=(7 if period == "week" else 1) * (windows + 1) - 1)
    expected = oracle.cohort_table(groups.by_company(), tenant.tz, [start], windows, period, last)[0]
    assert {k: body[k] for k in ("start_date", "cohort_size", "retention")} == expected
    assert expected["cohort_size"] > 0


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("get", "trends", {"event": "pageview"}),
        ("post", "trends", {"series": [{"event": "pageview"}]}),
        ("post", "funnels", {"steps": ["pageview", "signup"]}),
        ("get", "retention", {"start_date": FIRST.isoformat()}),
    ],
)
def test_unknown_group_type_is_400_naming_aggregation_group_type(groups, method, path, params):
    tenant = groups.tenant
    client = tenant.client()
    payload = {**params, "aggregation_group_type": "planet"}
    if method == "get":
        response = client.get(tenant.url(path), payload)
    else:
        response = client.post(tenant.url(path), payload, format="json")
    assert response.status_code == 400, response.content
    assert "planet" in str(response.json()["aggregation_group_type"])


def test_cohort_breakdown_of_groups_is_400(groups):
    tenant = groups.tenant
    body = {
        "series": [{"event": "pageview"}],
        "breakdown": {"type": "cohort", "values": [1]},
        "aggregation_group_type": "company",
    }
    response = tenant.client().post(tenant.url("trends"), body, format="json")
    assert response.status_code == 400, response.content


def _group_filter(group_type: str, key: str, operator: str, value=None) -> dict:
    leaf = {"type": "group", "group_type": group_type, "key": key, "operator": operator}
    return leaf if value is None else {**leaf, "value": value}


def _property(keys: dict, props: dict, event: RawEvent, key: str):
    """The event's group's property (None: no group of the type, or the group never identified)."""
    group = keys.get(event.event_id)
    return None if group is None else props.get(group, {}).get(key)


GROUP_FILTER_CASES = [
    # (filter, which events it keeps)
    (_group_filter("company", "tier", "exact", "gold"), lambda g, e: _property(g.company, TIERS, e, "tier") == "gold"),
    # A negation keeps events of no company, and of a company without the property (co-6).
    (_group_filter("company", "tier", "is_not", "gold"), lambda g, e: _property(g.company, TIERS, e, "tier") != "gold"),
    (_group_filter("company", "seats", "gte", 30), lambda g, e: (_property(g.company, TIERS, e, "seats") or -1) >= 30),
    (_group_filter("company", "tier", "is_not_set"), lambda g, e: _property(g.company, TIERS, e, "tier") is None),
    (_group_filter("team", "area", "exact", "growth"), lambda g, e: _property(g.team, TEAMS, e, "area") == "growth"),
]


@pytest.mark.parametrize(("leaf", "keeps"), GROUP_FILTER_CASES)
@pytest.mark.parametrize("counted", [None, "company"])
def test_group_filters_keep_the_events_of_matching_groups(groups, leaf, keeps, counted):
    tenant = groups.tenant
    params = {"event": "pageview", "from": FIRST, "to": LAST, "math": "users", "filters": json.dumps([leaf])}
    if counted:
        params["aggregation_group_type"] = counted
    response = tenant.client().get(tenant.url("trends"), params)
    assert response.status_code == 200, response.content
    kept = GroupTenant(
        dataclasses.replace(tenant, events=[e for e in tenant.events if keeps(groups, e)]), groups.company, groups.team
    )
    events = kept.by_company() if counted else kept.tenant.events
    expected = oracle.trends(events, tenant.tz, "pageview", FIRST, LAST, "day", "users")
    assert response.json()["series"] == expected
    assert sum(point["value"] for point in expected[0]["data"]) > 0


def test_group_filter_in_a_funnel(groups):
    tenant = groups.tenant
    leaf = _group_filter("company", "tier", "exact", "silver")
    steps = ["pageview", "signup"]
    body = {"steps": steps, "from": FIRST.isoformat(), "to": LAST.isoformat(), "filters": [leaf]}
    response = tenant.client().post(tenant.url("funnels"), body, format="json")
    assert response.status_code == 200, response.content
    kept = [e for e in tenant.events if _property(groups.company, TIERS, e, "tier") == "silver"]
    assert [row["users"] for row in response.json()["results"]] == oracle.funnel(
        kept, tenant.tz, steps, FIRST, LAST, 24
    )


@pytest.mark.parametrize(
    ("path", "leaf"),
    [
        ("trends", _group_filter("planet", "tier", "exact", "gold")),  # an unknown type
        ("trends", {"type": "group", "key": "tier", "operator": "exact", "value": "gold"}),  # no type
        ("persons", _group_filter("company", "tier", "exact", "gold")),  # not where persons are listed
    ],
)
def test_bad_group_filters_are_400_naming_filters(groups, path, leaf):
    tenant = groups.tenant
    response = tenant.client().get(tenant.url(path), {"event": "pageview", "filters": json.dumps([leaf])})
    assert response.status_code == 400, response.content
    assert "filters" in response.json()


# Last in the module: the merges stay until it ends.
def _active(tenant: Tenant, **extra) -> int:
    """Pageview's active persons (or groups) summed over the days, through the API."""
    body = {"series": [{"event": "pageview", "math": "users"}], "from": FIRST.isoformat(), "to": LAST.isoformat()}
    response = tenant.client().post(tenant.url("trends"), {**body, **extra}, format="json")
    assert response.status_code == 200, response.content
    return sum(point["value"] for point in response.json()["series"][0]["data"])


@contextlib.contextmanager
def users_of_companies_merged(tenant: Tenant) -> Iterator[None]:
    """Users of different companies merged into persons (committed: DuckDB reads the links), and
    unmerged on the way out; run with the database unblocked."""
    person_make(project_id=tenant.project.pk, distinct_ids=["u0", "u1", "u2"])
    person_make(project_id=tenant.project.pk, distinct_ids=["u3", "u27"])
    try:
        yield
    finally:
        PersonDistinctId.objects.filter(project_id=tenant.project.pk).delete()
        Person.objects.filter(project_id=tenant.project.pk).delete()


@pytest.fixture(scope="module")
def merged(groups, django_db_blocker):
    """``users_of_companies_merged``; yields the counts from before the merge."""
    tenant = groups.tenant
    with django_db_blocker.unblock():
        before = (_active(tenant), _active(tenant, aggregation_group_type="company"))
        with users_of_companies_merged(tenant):
            yield before


def test_merging_persons_changes_persons_not_companies(groups, merged):
    persons_before, companies_before = merged
    assert _active(groups.tenant) < persons_before
    assert _active(groups.tenant, aggregation_group_type="company") == companies_before
    [expected] = oracle.trends(groups.by_company(), groups.tenant.tz, "pageview", FIRST, LAST, "day", "users")
    assert companies_before == sum(point["value"] for point in expected["data"])
