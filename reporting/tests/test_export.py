"""The raw export's row shape (GET …/events): the event's fields, then the web columns, in every
format and on both read paths (PostgreSQL without filters, DuckDB with them); and a file of it
imported by ``backfill`` into another project exports the same rows again.

The data is committed (DuckDB only sees committed rows), once for the module.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from analytics.query.export import EXPORT_COLUMNS
from analytics.tests.factories import RawEvent, events_delete, events_insert
from events.duck import duckdb_reset
from events.models import WEB_COLUMNS
from projects.models import Project
from projects.tests.factories import ProjectFactory, read_key_for

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
FROM, TO = (NOW - dt.timedelta(days=3)).date(), NOW.date()
FULL = {
    "browser": "Firefox",
    "browser_version": "133",
    "os": "Linux",
    "os_version": "6",
    "device_type": "desktop",
    "country": "DE",
    "region": "Hesse",
    "city": "Frankfurt am Main",
    "host": "shop.example",
    "pathname": "/p/42",
    "referrer_host": "news.example",
    "utm_source": "newsletter",
    "utm_medium": "email",
    "utm_campaign": 'spring, "sale"',  # a comma and quotes: the csv must quote the cell
    "utm_content": "hero",
    "utm_term": "boots",
    "channel": "Email",
}
PART = {"host": "shop.example", "pathname": "/cart", "channel": "Direct"}


def _events(project_id: int) -> list[RawEvent]:
    at = NOW - dt.timedelta(days=1)
    return [
        RawEvent(project_id, "pageview", "u1", at, session_id="s1", properties={"n": 1}, web=FULL),
        RawEvent(project_id, "pageview", "u1", at + dt.timedelta(seconds=1), session_id="s1", web=PART),
        # A server-side event: nothing to derive, every web column null.
        RawEvent(project_id, "purchase", "u2", at + dt.timedelta(seconds=2), source="api", session_id="s2"),
    ]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        duckdb_reset()
        project = ProjectFactory()
        events = _events(project.pk)
        events_insert(events)
        try:
            yield project, read_key_for(project), events
        finally:
            duckdb_reset()
            events_delete([project.pk])
            project.delete()


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def _get(project: Project, key: str, **params) -> tuple[list[dict], str]:
    """Every row of the export in ``format``, as the client reads it, and the raw text of streams."""
    url = f"/api/v1/projects/{project.slug}/events"
    if params.get("format", "json") == "json":
        rows, cursor = [], None
        while True:
            response = _client(key).get(url, {**params, **({"cursor": cursor} if cursor else {})})
            assert response.status_code == 200, response.content
            rows += response.json()["results"]
            cursor = response.json()["next"]
            if cursor is None:
                return rows, ""
    response = _client(key).get(url, params)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    if params["format"] == "csv":
        return list(csv.DictReader(io.StringIO(text))), text
    return [json.loads(line) for line in text.splitlines()], text


def _web(event: RawEvent) -> dict:
    return {name: event.web.get(name) for name in WEB_COLUMNS}


def test_the_row_shape_is_the_event_then_the_web_columns():
    assert EXPORT_COLUMNS[9:] == WEB_COLUMNS
    assert EXPORT_COLUMNS[:9] == (
        "event_id", "event", "source", "user_id", "is_anonymous", "session_id", "timestamp", "received_at", "properties"
    )  # fmt: skip


@pytest.mark.parametrize("filtered", [False, True], ids=["postgres", "duckdb"])
@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_json_and_ndjson_rows_carry_the_web_columns_null_when_unset(world, fmt, filtered):
    project, key, events = world
    params = {"from": FROM, "to": TO, "format": fmt, "limit": 1}
    if filtered:  # every event matches: the filter only sends the read through DuckDB
        params["filters"] = json.dumps([{"type": "column", "key": "event", "operator": "is_set"}])
    rows, _ = _get(project, key, **params)
    assert [list(row) for row in rows] == [list(EXPORT_COLUMNS)] * 3
    assert [row["event_id"] for row in rows] == [str(e.event_id) for e in events]
    assert [{name: row[name] for name in WEB_COLUMNS} for row in rows] == [_web(e) for e in events]
    assert rows[2]["country"] is None and rows[1]["country"] is None and rows[0]["country"] == "DE"


def test_a_web_column_filter_and_the_columns_it_returns(world):
    project, key, _ = world
    raw = [{"type": "column", "key": "channel", "operator": "exact", "value": "Email"}]
    rows, _ = _get(project, key, **{"from": FROM, "to": TO, "filters": json.dumps(raw)})
    assert [{name: row[name] for name in WEB_COLUMNS} for row in rows] == [FULL]


@pytest.mark.parametrize("filtered", [False, True], ids=["postgres", "duckdb"])
def test_csv_has_a_column_each_after_properties_empty_when_unset(world, filtered):
    project, key, events = world
    params = {"from": FROM, "to": TO, "format": "csv"}
    if filtered:
        params["filters"] = json.dumps([{"type": "column", "key": "event", "operator": "is_set"}])
    rows, text = _get(project, key, **params)
    assert text.splitlines()[0] == ",".join(EXPORT_COLUMNS)
    assert '"spring, ""sale"""' in text
    assert [{name: row[name] for name in WEB_COLUMNS} for row in rows] == [
        {name: value or "" for name, value in _web(e).items()} for e in events
    ]


def test_the_schema_declares_the_web_columns_nullable(admin_client):
    schema = admin_client.get("/api/schema/", {"format": "json"}).json()
    fields = schema["components"]["schemas"]["ExportEvent"]["properties"]
    assert list(fields) == list(EXPORT_COLUMNS)
    assert all(fields[name]["type"] == "string" and fields[name]["nullable"] for name in WEB_COLUMNS)


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_an_exported_file_backfills_into_the_same_rows(world, fmt, tmp_path):
    project, key, _ = world
    _, text = _get(project, key, **{"from": FROM, "to": TO, "format": fmt})
    path = tmp_path / f"export.{fmt}"
    path.write_text(text)
    # Only the project's setting could change a row: keep bots, as where the file came from.
    target = ProjectFactory(bot_handling="keep")
    out = io.StringIO()
    call_command("backfill", str(path), "--project", target.slug, stdout=out)
    assert "3 lines: took 3, 0 duplicates, 0 rejected" in out.getvalue()
    exported, _ = _get(project, key, **{"from": FROM, "to": TO})
    imported, _ = _get(target, read_key_for(target), **{"from": FROM, "to": TO})
    # received_at is the import's: a new receipt.
    assert [{**row, "received_at": None} for row in imported] == [{**row, "received_at": None} for row in exported]
    assert imported[0]["utm_campaign"] == 'spring, "sale"' and imported[2]["browser"] is None
