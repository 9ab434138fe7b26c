"""backfill: the API's validation and dedupe, line numbers for what it refuses, numbers right at exit."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from analytics import backfill as backfill_module
from events.models import WEB_COLUMNS
from ingestion.flush import drain
from ingestion.ledger import ledger_sync
from ingestion.models import IngestionLedger
from ingestion.tests.conftest import stored
from ingestion.validation import validate_native_batch
from projects.models import AuditAction, AuditEntry
from projects.tests.factories import ProjectFactory


@pytest.fixture
def project(db):
    return ProjectFactory()


@pytest.fixture
def flush():
    return lambda: drain(seconds=30)


pytestmark = pytest.mark.django_db

DAY = (dt.datetime.now(dt.UTC) - dt.timedelta(days=10)).replace(hour=12, minute=0, second=0, microsecond=0)


def _ts(minutes: int = 0) -> str:
    return (DAY + dt.timedelta(minutes=minutes)).isoformat()


def _run(*args: str) -> str:
    out = StringIO()
    call_command("backfill", *args, stdout=out)
    return out.getvalue()


def _daily(project_id: int) -> dict:
    with connection.cursor() as cur:
        cur.execute("SELECT day, event_name, events FROM analytics_daily_events WHERE project_id = %s", [project_id])
        return {(day, name): n for day, name, n in cur.fetchall()}


@pytest.fixture
def ndjson(tmp_path):
    lines = [
        json.dumps(
            {
                "event": "signup",
                "user_id": "u1",
                "timestamp": _ts(0),
                "event_id": "0b7e0d7e-0000-4000-8000-000000000001",
            }
        ),
        json.dumps({"event": "pageview", "user_id": "u1", "timestamp": _ts(1), "properties": {"path": "/"}}),
        json.dumps({"event": "pageview", "user_id": "u2", "timestamp": _ts(2)}),
        "{not json",
        "",
        json.dumps({"event": "pageview", "user_id": "u3", "timestamp": "last tuesday"}),
    ]
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_ndjson_backfill_reports_line_numbers_and_rebuilds_rollups(project, ndjson, tmp_path):
    errors = tmp_path / "rejected.ndjson"
    out = _run(str(ndjson), "--project", project.slug, "--errors", str(errors))
    assert "line 4: not valid JSON" in out
    assert "line 6: timestamp 'last tuesday' is not an ISO-8601 date-time." in out
    assert "5 lines: took 3, 0 duplicates, 2 rejected" in out
    rows = stored(project.pk)
    assert [(r["event_name"], r["user_id"]) for r in rows] == [("signup", "u1"), ("pageview", "u1"), ("pageview", "u2")]
    assert rows[0]["event_id"] == "0b7e0d7e-0000-4000-8000-000000000001"
    assert rows[1]["properties"] == {"path": "/"}
    assert {r["user_agent"] for r in rows} == {"backfill"}
    # The numbers are right when the command exits: rollups rebuilt for the day.
    assert _daily(project.pk) == {(DAY.date(), "signup"): 1, (DAY.date(), "pageview"): 2}
    # Counted in the ledger like API traffic (the unparseable line never became an event).
    ledger_sync()
    totals = IngestionLedger.objects.filter(project=project).values_list("received", "accepted", "rejected", "flushed")
    assert [sum(col) for col in zip(*totals, strict=True)] == [4, 3, 1, 3]
    assert [json.loads(line)["line"] for line in errors.read_text().splitlines()] == [4, 6]
    assert AuditEntry.objects.get(action=AuditAction.BACKFILL, project=project).details["accepted"] == 3


def test_running_the_same_file_again_adds_nothing(project, ndjson):
    _run(str(ndjson), "--project", project.slug)
    out = _run(str(ndjson), "--project", project.slug)
    assert "took 0, 3 duplicates" in out
    assert len(stored(project.pk)) == 3


def test_csv_export_columns_in_small_batches_ignoring_rate_limits(tmp_path, monkeypatch):
    project = ProjectFactory(rate_limit_per_minute=1, rate_limit_per_ip_per_minute=1)
    monkeypatch.setattr(backfill_module, "BATCH_SIZE", 2)
    path = tmp_path / "export.csv"
    path.write_text(
        "event_id,occurred_at,user_id,event_type,properties_json\n"
        f'0b7e0d7e-0000-4000-8000-00000000000a,{_ts(0)},u1,purchase,"{{""amount"": 12.5, ""items"": [1, 2]}}"\n'
        f",{_ts(1)},u2,pageview,\n"
        f",{_ts(2)},u3,pageview,{{broken\n"
        f",{_ts(3)},u4,signup,{{}}\n"
        f",{_ts(4)},u5,pageview,\n"
    )
    out = _run(str(path), "--project", project.slug)
    assert "line 4: properties is not valid JSON" in out
    assert "5 lines: took 4, 0 duplicates, 1 rejected" in out
    rows = stored(project.pk)
    assert len(rows) == 4
    assert next(r for r in rows if r["event_name"] == "purchase")["properties"] == {"amount": 12.5, "items": [1, 2]}


def test_gzip_and_dry_run(project, ndjson, tmp_path):
    packed = tmp_path / "events.ndjson.gz"
    packed.write_bytes(gzip.compress(ndjson.read_bytes()))
    out = _run(str(packed), "--project", project.slug, "--dry-run")
    assert "would take 3" in out and "2 rejected" in out
    assert stored(project.pk) == []
    assert not AuditEntry.objects.filter(action=AuditAction.BACKFILL).exists()
    _run(str(packed), "--project", project.slug)
    assert len(stored(project.pk)) == 3


def test_no_wait_leaves_the_events_buffered_for_the_workers(project, ndjson, flush):
    _run(str(ndjson), "--project", project.slug, "--no-wait")
    flush()
    assert len(stored(project.pk)) == 3


@pytest.mark.parametrize("args", [["/nonexistent.ndjson", "--project", "{slug}"], ["{file}", "--project", "nope"]])
def test_bad_usage_exits_2(project, ndjson, args):
    with pytest.raises(CommandError) as exc:
        _run(*(a.format(slug=project.slug, file=ndjson) for a in args))
    assert exc.value.returncode == 2


def test_web_columns_a_line_carries_are_stored_as_they_are_not_derived(tmp_path):
    project = ProjectFactory()
    page = {"$current_url": "https://other.example/x?utm_source=ads"}
    lines = [
        # An export's line: its columns win over what the properties would give, nulls included.
        {"event": "pageview", "user_id": "u1", "timestamp": _ts(0), "properties": page, "host": "shop.example",
         "pathname": "/a", "country": "FR", "utm_source": None, "channel": "Direct"},
        # No web column: derived from the page, as at capture.
        {"event": "pageview", "user_id": "u2", "timestamp": _ts(1), "properties": page},
        {"event": "pageview", "user_id": "u3", "timestamp": _ts(2), "country": 49},
        {"event": "pageview", "user_id": "u4", "timestamp": _ts(3), "device_type": "bot"},
    ]  # fmt: skip
    path = tmp_path / "events.ndjson"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = _run(str(path), "--project", project.slug)
    assert "line 3: country must be a string, not a number." in out
    # The project drops bots (the default): a line whose device_type says bot is not stored.
    assert "4 lines: took 2, 0 duplicates, 1 rejected, 1 bots not stored" in out
    given, derived = stored(project.pk)
    assert {k: given[k] for k in ("host", "pathname", "country", "utm_source", "channel", "browser")} == {
        "host": "shop.example", "pathname": "/a", "country": "FR", "utm_source": None, "channel": "Direct",
        "browser": None,
    }  # fmt: skip
    assert (derived["host"], derived["pathname"], derived["utm_source"]) == ("other.example", "/x", "ads")


def test_a_csv_naming_web_columns_keeps_their_empty_cells_null(tmp_path):
    project = ProjectFactory()
    path = tmp_path / "events.csv"
    path.write_text(
        "event,user_id,timestamp,properties,host,country\n"
        f'pageview,u1,{_ts(0)},"{{""$current_url"": ""https://shop.example/a""}}",,\n'
        f"pageview,u2,{_ts(1)},,shop.example,DE\n"
    )
    assert "2 lines: took 2, 0 duplicates, 0 rejected" in _run(str(path), "--project", project.slug)
    empty, filled = stored(project.pk)
    assert (empty["host"], empty["pathname"], empty["country"]) == (None, None, None)
    assert (filled["host"], filled["country"]) == ("shop.example", "DE")


def test_only_the_backfill_takes_web_columns_as_given():
    raw = [{"event": "pageview", "country": "FR"}]
    now = dt.datetime.now(dt.UTC)
    api = validate_native_batch(raw, received_at=now, sent_at_raw=None, allowed_sources=None)
    backfill = validate_native_batch(raw, received_at=now, sent_at_raw=None, allowed_sources=None, stored_web=True)
    assert api.events[0][1].web is None
    assert backfill.events[0][1].web == tuple("FR" if name == "country" else None for name in WEB_COLUMNS)
