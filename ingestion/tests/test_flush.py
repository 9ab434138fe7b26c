"""The flusher's promises: nothing lost, nothing doubled, poison isolated, every event counted."""

import os
import signal
import subprocess
import sys
import time
import uuid
from io import StringIO
from pathlib import Path

import django_rq
import orjson
import pytest
from django.core.management import call_command
from django.db import connection
from rq.worker import SimpleWorker

from config.pytest_plugin import restart_valkey
from config.settings import BASE_DIR
from ingestion import buffer, sessions
from ingestion import flush as flusher
from ingestion.dead_letters import dead_letters_count, dead_letters_list
from ingestion.flush_read import decode_entry, read_entries
from ingestion.flush_write import write_entries
from ingestion.ledger import ledger_sync
from ingestion.models import IngestionLedger
from ingestion.selectors import flushed_until
from ingestion.tests.conftest import stored


def _count(project_id: int) -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT event_id) FROM events WHERE project_id = %s", [project_id])
        total, distinct = cur.fetchone()
    assert total == distinct, "an event was stored twice"
    return total


def _post_many(post, key: str, requests: int, per_request: int = 100) -> None:
    for n in range(requests):
        body = {
            "events": [
                {"event": f"e{i % 7}", "user_id": f"user-{(n * per_request + i) % 97}"} for i in range(per_request)
            ]
        }
        assert post(key, body).json()["accepted"] == per_request


@pytest.mark.django_db
def test_crash_after_commit_before_ack_stores_each_event_once(project, ingest_key, post, settings):
    _post_many(post, ingest_key, 3, 50)
    client = flusher.get_redis()
    buffer.ensure_groups(client)
    stream = buffer.stream_key(0)
    # What a worker does up to its commit, then it "dies": no acknowledgement.
    for shard in range(buffer.shard_count()):
        raw = read_entries(client, buffer.stream_key(shard), "doomed-worker", 10_000)
        entries = [decode_entry(stream, entry_id, fields) for entry_id, fields in raw]
        if entries:
            write_entries(entries)
    assert _count(project.pk) == 150
    # Another worker claims the dead worker's entries once they are idle long enough.
    settings.EVENTBASE = {**settings.EVENTBASE, "FLUSH_CLAIM_IDLE_MS": 1}
    time.sleep(0.01)
    stats = flusher.drain(seconds=10)
    assert stats.entries > 0 and stats.inserted == 0
    assert _count(project.pk) == 150
    assert sum(buffer.get_redis().xlen(k) for k in buffer.all_stream_keys()) == 0
    assert sum(IngestionLedger.objects.filter(project=project).values_list("flushed", flat=True)) == 150


@pytest.mark.django_db
def test_lowering_the_shard_count_strands_nothing(project, ingest_key, post, settings):
    settings.EVENTBASE = {**settings.EVENTBASE, "STREAM_SHARDS": 6}
    _post_many(post, ingest_key, 4, 100)
    client = buffer.get_redis()
    assert client.xlen(buffer.stream_key(4)) and client.xlen(buffer.stream_key(5))
    # Restarted with fewer shards: new events go to two, but what shards 2-5 hold must still flush.
    settings.EVENTBASE = {**settings.EVENTBASE, "STREAM_SHARDS": 2}
    assert buffer.all_stream_keys() == [buffer.stream_key(n) for n in range(6)]
    post(ingest_key, {"event": "after", "user_id": "user-1"})
    flusher.drain(seconds=10)
    assert _count(project.pk) == 401
    # Empty, the retired shards are forgotten, with their session state.
    assert buffer.all_stream_keys() == [buffer.stream_key(0), buffer.stream_key(1)]
    assert not any(client.exists(buffer.stream_key(n), sessions.session_key(buffer.stream_key(n))) for n in range(2, 6))


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_flush_loses_nothing_and_doubles_nothing(
    project, ingest_key, post, settings, test_database_url
):
    _post_many(post, ingest_key, 60, 100)  # 6,000 events
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url,
        "FLUSH_BATCH_EVENTS": "300",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    code = "import django; django.setup(); from ingestion.flush import drain; drain(seconds=120)"
    worker = subprocess.Popen(
        [sys.executable, "-c", code], env=env, cwd=BASE_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while _count(project.pk) < 600 and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.02)
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.wait(timeout=30)
    stored_before = _count(project.pk)
    assert 0 < stored_before < 6000, "the worker should have been killed part-way"
    # The next worker on this machine takes the dead one's locks over at once, and the entries it
    # had read but not stored, without waiting for the lock to expire or the entries to go idle.
    started = time.monotonic()
    flusher.drain(seconds=60)
    assert time.monotonic() - started < 20
    assert _count(project.pk) == 6000
    ledger_sync()
    totals = IngestionLedger.objects.filter(project=project)
    assert sum(totals.values_list("flushed", flat=True)) == 6000
    assert sum(totals.values_list("accepted", flat=True)) == 6000


@pytest.mark.django_db
@pytest.mark.embedded_only
def test_redis_crash_and_restart_with_aof_loses_no_accepted_event(project, ingest_key, post, flush):
    root = os.environ.get("EVENTBASE_EMBEDDED_TEST_ROOT")
    if not root or os.environ.get("REDIS_URL", "").startswith("redis://"):
        pytest.skip("needs the suite's own Valkey (REDIS_URL unset) to crash and restart it")
    _post_many(post, ingest_key, 5, 100)
    pid = int((Path(root) / "valkey" / "valkey.pid").read_text())
    os.kill(pid, signal.SIGKILL)  # a crash, not a polite shutdown
    for _ in range(100):
        try:
            os.kill(pid, 0)
            time.sleep(0.05)
        except ProcessLookupError:
            break
    restart_valkey()
    buffer.get_redis().connection_pool.disconnect()
    flush()
    assert _count(project.pk) == 500


@pytest.mark.django_db
def test_poison_entry_goes_to_dead_letters_and_neighbours_are_stored(project, ingest_key, post, flush, settings):
    client = buffer.get_redis()
    buffer.ensure_groups(client)
    post(ingest_key, {"events": [{"event": "good", "user_id": "a"}, {"event": "good", "user_id": "b"}]})
    bad_event = {
        "id": "not-a-uuid",
        "n": "bad",
        "s": "api",
        "u": "x",
        "a": False,
        "sid": "s",
        "t": 0,
        "p": {},
        "ip": None,
        "ua": None,
    }
    client.xadd(buffer.stream_key(0), {"p": project.pk, "r": 0, "d": orjson.dumps([bad_event])})
    client.xadd(buffer.stream_key(0), {"p": project.pk, "r": 0, "d": b"{broken"})
    for _ in range(settings.EVENTBASE["FLUSH_MAX_ATTEMPTS"]):
        flush()
    assert [r["event_name"] for r in stored(project.pk)] == ["good", "good"]
    letters = dead_letters_list()
    assert len(letters) == 2
    assert any("uuid" in letter.error.lower() for letter in letters)
    assert any("undecodable" in letter.error for letter in letters)
    assert sum(client.xlen(k) for k in buffer.all_stream_keys()) == 0


@pytest.mark.django_db
def test_dead_letters_can_be_listed_and_replayed(project, flush):
    client = buffer.get_redis()
    event = {
        "id": str(uuid.uuid4()),
        "n": "revived",
        "s": "api",
        "u": "x",
        "a": False,
        "sid": "s",
        "t": 1_700_000_000_000_000,
        "p": {"k": 1},
        "ip": None,
        "ua": None,
    }
    client.xadd(
        buffer.DLQ,
        {
            "p": project.pk,
            "r": 1_700_000_000_000_000,
            "d": orjson.dumps([event]),
            "stream": buffer.stream_key(0),
            "entry_id": "1-0",
            "error": "db was down",
            "failed_at": 0,
        },
    )
    out = StringIO()
    call_command("replay_dead_letters", "--list", stdout=out)
    assert "db was down" in out.getvalue() and "dead letters: 1" in out.getvalue()
    call_command("replay_dead_letters", "--dry-run", stdout=StringIO())
    assert dead_letters_count() == 1
    call_command("replay_dead_letters", stdout=StringIO())
    assert dead_letters_count() == 0
    flush()
    assert [r["event_name"] for r in stored(project.pk)] == ["revived"]


@pytest.mark.django_db
def test_ledger_accounts_for_every_event(project, ingest_key, post, flush):
    event_id = str(uuid.uuid4())
    post(
        ingest_key,
        {
            "events": [
                {"event": "a", "event_id": event_id},
                {"event": "b"},
                {"event": ""},
                {"event": "c", "timestamp": "2020-01-01T00:00:00Z"},
            ]
        },
    )
    post(ingest_key, {"event": "a", "event_id": event_id})
    post(ingest_key, None, raw=b"{oops")
    flush()
    ledger_sync()
    rows = IngestionLedger.objects.filter(project=project)
    total = {
        f: sum(getattr(r, f) for r in rows)
        for f in ("received", "accepted", "duplicate", "late", "rejected", "flushed")
    }
    assert total == {"received": 5, "accepted": 3, "duplicate": 1, "late": 1, "rejected": 2, "flushed": 3}
    reasons: dict = {}
    for row in rows:
        for reason, n in row.rejected_by_reason.items():
            reasons[reason] = reasons.get(reason, 0) + n
    assert reasons == {"invalid_event": 1, "invalid_json": 1}


@pytest.mark.django_db
def test_flushed_until_is_the_oldest_buffered_receive_time(project, ingest_key, post, flush):
    import datetime as dt

    before = dt.datetime.now(dt.UTC)
    post(ingest_key, {"event": "a"})
    pending = flushed_until()
    assert pending <= before
    flush()
    assert flushed_until() > before - dt.timedelta(seconds=3)
    assert flushed_until() > pending


@pytest.mark.django_db(transaction=True)
def test_flush_job_runs_on_a_real_rq_worker(project, ingest_key, post):
    post(ingest_key, {"events": [{"event": "via-rq"}] * 3})
    queue = django_rq.get_queue("ingest")
    job = queue.enqueue("ingestion.jobs.flush_streams", seconds=0.2)
    django_rq.get_worker("ingest", worker_class=SimpleWorker).work(burst=True)
    job.refresh()
    assert job.is_finished, job.latest_result()
    assert job.return_value()["inserted"] == 3
    assert _count(project.pk) == 3


@pytest.mark.django_db
def test_replaying_an_unknown_dead_letter_id_is_a_usage_error():
    from django.core.management import CommandError

    with pytest.raises(CommandError) as exc:
        call_command("replay_dead_letters", "123-0", stdout=StringIO())
    assert exc.value.returncode == 2 and "123-0" in str(exc.value)


def test_operations_commands_exit_2_on_bad_usage_from_the_command_line(test_database_url):
    """The real exit status, as cron sees it (argparse errors and CommandError(returncode=2))."""
    import os

    env = {**os.environ, "DATABASE_URL": test_database_url}
    for args in (["backfill"], ["rebuild_aggregates", "--project", "nope", "--from", "2024-01-01", "--to", "x"]):
        result = subprocess.run(
            [sys.executable, str(BASE_DIR / "manage.py"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=BASE_DIR,
        )
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr


@pytest.mark.django_db
def test_partition_dropped_by_another_process_is_created_again(project, ingest_key, post, flush):
    import datetime as dt

    from events.partitions import _remember, partition_name

    day = "2022-03-04"
    post(ingest_key, {"event": "first", "timestamp": f"{day}T10:00:00Z"})
    flush()
    # Retention in another process drops the partition; this process still has it cached.
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE {partition_name(dt.date(2022, 3, 4))}")
    _remember([dt.date(2022, 3, 4)])
    post(ingest_key, {"event": "second", "timestamp": f"{day}T11:00:00Z"})
    stats = flush()
    assert stats.inserted == 1 and stats.dead_lettered == 0
    assert [r["event_name"] for r in stored(project.pk)] == ["second"]
