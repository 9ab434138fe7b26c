"""Every operation under /api/v1/projects/{slug}/ in /api/schema/, driven by schemathesis: whatever
the parameters, the answer is never a 5xx.

The requests carry the read key of a project with committed data (``dataset``). One test sends
what schemathesis makes of the schema (boundary values and wrong types in its coverage phase,
then random ones); the other swaps most of those values for real ones (event names, their
property keys, date ranges over the data and at the calendar's edges, users, cursors), so that
the cases get past validation into the queries. The WSGI app is called in-process, in the test's
transaction.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from core import days
from reporting.cursors import encode_cursor
from reporting.tests.conftest import DAYS, FIRST_DAY, Tenant

pytestmark = pytest.mark.django_db

# Loaded at import, which reads the schema only (no database): schemathesis's fixture-based
# loader does not run under pytest 9.
schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler()).include(
    path_regex=r"^/api/v1/projects/\{slug\}/"
)

_EDGES = [days.EARLIEST_DAY, days.LATEST_DAY, dt.date(1969, 12, 31), dt.date(3000, 1, 1), dt.date(9999, 12, 31)]
_UTC = dt.UTC


@pytest.fixture(autouse=True)
def _one_connection():
    """Keep the test's database connection across the in-process requests, as Django's test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _call(case, tenant: Tenant) -> None:
    case.path_parameters["slug"] = tenant.project.slug
    response = case.call(headers={"Authorization": f"Bearer {tenant.read_key}"})
    case.validate_response(response, checks=[not_a_server_error])


@schema.parametrize()
# The coverage phase already tries every parameter's boundaries and wrong types, once each;
# random cases on top of it add little, and each one costs a query.
@settings(max_examples=max(10, settings.default.max_examples // 3))
def test_schema_cases_never_get_a_5xx(case, dataset):
    _call(case, dataset.ny)


# --- Real values -----------------------------------------------------------------------------

_days = st.one_of(
    st.integers(-5, DAYS + 5).map(lambda n: FIRST_DAY + dt.timedelta(days=n)),
    st.sampled_from(_EDGES),
)
_instants = st.datetimes(
    min_value=dt.datetime(1969, 12, 1),  # noqa: DTZ001 - hypothesis wants naive bounds; the zone is added below
    max_value=dt.datetime(3000, 2, 1),  # noqa: DTZ001
    timezones=st.just(_UTC),
)


@st.composite
def _range(draw) -> tuple[str, str]:
    start = draw(_days)
    length = draw(st.sampled_from([0, 1, 6, 30, 31, 91, 92, 800]))
    try:
        end = start + dt.timedelta(days=length)
    except OverflowError:
        end = start
    return start.isoformat(), end.isoformat()


def _swap_in(case, data, tenant: Tenant) -> None:
    """Most of the time, replace what schemathesis drew with values of the dataset."""
    events_of: dict[str, set[str]] = {}
    for e in tenant.events:
        events_of.setdefault(e.event_name, set()).update(e.properties)
    names = sorted(events_of)
    operation = case.path.removeprefix("/api/v1/projects/{slug}/")

    def maybe() -> bool:
        return data.draw(st.integers(0, 3)) > 0

    if operation == "users/{user_id}" and maybe():
        case.path_parameters["user_id"] = data.draw(st.sampled_from(sorted({e.user_id for e in tenant.events})))
    values = case.body if operation in {"funnels", "paths"} else case.query
    if not isinstance(values, dict):
        return
    if operation not in {"retention", "live", "ingestion", "users", "users/{user_id}"} and maybe():
        values["from"], values["to"] = data.draw(_range())
    if operation in {"trends", "events", "stickiness", "lifecycle"} and maybe():
        values["event"] = data.draw(st.sampled_from(names))
        if operation == "trends" and maybe():
            values["breakdown"] = data.draw(st.sampled_from(sorted(events_of[values["event"]]) or ["path"]))
    if operation == "funnels" and maybe():
        values["steps"] = data.draw(st.lists(st.sampled_from(names), min_size=2, max_size=3, unique=True))
    if operation == "paths" and maybe():
        values["path_key"] = data.draw(st.sampled_from(["pathname", "path", "plan", "$no such"]))
        if maybe():
            values[data.draw(st.sampled_from(["start_event", "end_event"]))] = data.draw(st.sampled_from(names))
    if operation == "retention" and maybe():
        values["start_date"] = data.draw(_days).isoformat()
    if operation == "ingestion" and maybe():
        since, until = sorted(data.draw(st.lists(_instants, min_size=2, max_size=2)))
        values["since"], values["until"] = since.isoformat(), until.isoformat()
    if operation == "users" and maybe():
        values["cursor"] = encode_cursor(str(data.draw(st.integers(-1, 2**70))))
    if operation == "events" and maybe():
        moment, event_id = data.draw(_instants), data.draw(st.uuids())
        values["cursor"] = encode_cursor(f"{moment.isoformat()}|{event_id}")
    if operation == "persons/{person_id}" and maybe():
        case.path_parameters["person_id"] = data.draw(st.sampled_from(sorted({e.user_id for e in tenant.events})))
        if maybe():
            moment, event_id = data.draw(_instants), data.draw(st.uuids())
            values["timeline_cursor"] = encode_cursor(f"{moment.isoformat()}|{event_id}")
    if operation == "persons" and maybe():
        values["cursor"] = encode_cursor(json.dumps([data.draw(_instants).isoformat(), data.draw(st.text())]))


@schema.parametrize()
@schema.given(data=st.data())
def test_real_values_never_get_a_5xx(case, data, dataset):
    _swap_in(case, data, dataset.ny)
    _call(case, dataset.ny)
