"""Destinations' promises, through the real path (capture → stream → flush → outbox → sender →
a real HTTP receiver): every accepted event arrives, each in exactly one successful delivery,
signed; failures are retried with back-off, then dead, and replay sends them; the outbox is
written only for events really inserted, so a flush run again after a crash doubles nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
import uuid
from collections import Counter

import django_rq
import orjson
import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient
from rq.worker import SimpleWorker

from core.tests.concurrency import in_threads
from ingestion import buffer
from ingestion import flush as flusher
from ingestion.destination_outbox import destination_routes_forget, outbox_candidates
from ingestion.destination_sender import destinations_deliver
from ingestion.destination_services import destination_create
from ingestion.flush_read import decode_entry, read_entries
from ingestion.flush_write import write_entries
from ingestion.models import BatchStatus, Destination, DestinationBatch
from ingestion.tests.conftest import stored
from ingestion.tests.webhook_receiver import Receiver, free_port
from projects.models import AuditAction, AuditEntry, ProjectMembership, ProjectRole


@pytest.fixture(autouse=True)
def _routes():
    destination_routes_forget()
    yield
    destination_routes_forget()


@pytest.fixture
def receiver():
    r = Receiver(port=free_port())
    r.start()
    yield r
    r.stop()


@pytest.fixture
def admin(project) -> APIClient:
    user = get_user_model().objects.create_user("dest-admin", password="pw-123456-long")
    ProjectMembership.objects.create(project=project, user=user, role=ProjectRole.ADMIN)
    client = APIClient()
    client.force_login(user)
    return client


def _post_events(post, key: str, events: list[dict]) -> None:
    for start in range(0, len(events), 50):
        chunk = events[start : start + 50]
        assert post(key, {"events": chunk}).json()["accepted"] == len(chunk)


def _delivered_ids(receiver: Receiver) -> list[str]:
    """Event ids of every successful delivery, a batch counted once by its delivery id (what a
    receiver that drops duplicates keeps)."""
    seen: set[str] = set()
    ids: list[str] = []
    for request in receiver.successes():
        delivery = request.headers["X-Eventbase-Delivery"]
        if delivery in seen:
            continue
        seen.add(delivery)
        ids += [event["event_id"] for event in orjson.loads(request.body)["events"]]
    return ids


def _statuses(destination: Destination) -> Counter:
    return Counter(DestinationBatch.objects.filter(destination=destination).values_list("status", flat=True))


@pytest.mark.django_db
def test_failures_then_recovery_deliver_every_event_once_signed(project, ingest_key, read_key, post, flush, receiver):
    destination = destination_create(project=project, actor="test", name="hook", url=receiver.url, batch_size=7)
    _post_events(post, ingest_key, [{"event": f"e{i % 3}", "user_id": f"u{i % 11}"} for i in range(130)])
    flush()
    batches = list(DestinationBatch.objects.filter(destination=destination))
    assert sum(b.event_count for b in batches) == 130
    assert all(1 <= b.event_count <= 7 for b in batches)
    t0 = dt.datetime.now(dt.UTC)

    # The receiver answers 500: every batch fails, says why, and waits the first delay.
    receiver.status = 500
    stats = destinations_deliver(now=t0)
    assert stats.failed == len(batches) and stats.delivered == 0
    for batch in DestinationBatch.objects.filter(destination=destination):
        assert batch.status == BatchStatus.FAILED and batch.attempts == 1
        assert batch.last_error == "HTTP 500: receiver is failing on purpose"
        assert batch.next_attempt_at == t0 + dt.timedelta(seconds=30)
    assert destinations_deliver(now=t0 + dt.timedelta(seconds=29)).failed == 0  # not due yet

    # The receiver is down: connection refused, the second delay.
    receiver.stop()
    t1 = t0 + dt.timedelta(seconds=31)
    assert destinations_deliver(now=t1).failed == len(batches)
    assert set(DestinationBatch.objects.filter(destination=destination).values_list("last_error", flat=True)) == {
        "connection refused"
    }
    assert {b.next_attempt_at for b in DestinationBatch.objects.filter(destination=destination)} == {
        t1 + dt.timedelta(seconds=120)
    }

    # It recovers: everything arrives, each event in exactly one successful delivery.
    receiver.status = 200
    receiver.start()
    t2 = t1 + dt.timedelta(seconds=121)
    stats = destinations_deliver(now=t2)
    assert stats.delivered == len(batches) and stats.forwarded == 130
    assert _statuses(destination) == {BatchStatus.DELIVERED: len(batches)}
    delivered = _delivered_ids(receiver)
    assert Counter(delivered) == Counter(e["event_id"] for e in stored(project.pk))
    assert len(delivered) == len(set(delivered)) == 130
    # (No retry came after a success, so even without de-duplication each id arrived once.)
    assert len(receiver.successes()) == len(batches)

    # Every request, failed or not, is signed over its raw body and names its delivery.
    for request in receiver.requests:
        expected = hmac.new(destination.secret.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-Eventbase-Signature"] == f"sha256={expected}"
        body = orjson.loads(request.body)
        assert body["delivery"] == request.headers["X-Eventbase-Delivery"]
        assert body["project"] == project.slug and body["destination"]["id"] == destination.pk
    first = orjson.loads(receiver.successes()[0].body)["events"][0]
    assert set(first) >= {"event_id", "event", "user_id", "timestamp", "properties", "session_id"}

    # The delivery ledger: forwarded equals the events delivered; nothing waits, nothing is dead.
    response = APIClient().get(
        f"/api/v1/projects/{project.slug}/ingestion",
        {"since": (t0 - dt.timedelta(hours=1)).isoformat(), "until": (t2 + dt.timedelta(minutes=1)).isoformat()},
        HTTP_AUTHORIZATION=f"Bearer {read_key}",
    )
    assert response.status_code == 200, response.content
    ledger = response.json()
    assert ledger["forwarded"] == 130
    assert ledger["destinations"] == [
        {"destination_id": destination.pk, "name": "hook", "forwarded": 130, "pending": 0, "dead": 0}
    ]

    # A success recorded twice (a second worker after a lease ran out) counts once.
    assert destinations_deliver(now=t2 + dt.timedelta(days=1)).delivered == 0


@pytest.mark.django_db
def test_filters_forward_only_matching_events(project, ingest_key, post, flush, receiver):
    by_name = destination_create(project=project, actor="t", name="signups", url=receiver.url, events=["signup"])
    by_both = destination_create(
        project=project, actor="t", name="pro", url=receiver.url, events=["signup"], properties={"plan": "pro"}
    )
    events = [
        {"event": "signup", "user_id": "a", "properties": {"plan": "pro"}},
        {"event": "signup", "user_id": "b", "properties": {"plan": "free"}},
        {"event": "signup", "user_id": "c"},
        {"event": "$pageview", "user_id": "a", "properties": {"plan": "pro"}},
        {"event": "signup\twith tab", "user_id": "d", "properties": {"plan": "pro"}},
    ]
    _post_events(post, ingest_key, events)
    flush()
    destinations_deliver()
    got: dict[str, list[str]] = {}
    for request in receiver.successes():
        body = orjson.loads(request.body)
        got.setdefault(body["destination"]["name"], []).extend(e["user_id"] for e in body["events"])
    assert sorted(got["signups"]) == ["a", "b", "c"]
    assert got["pro"] == ["a"]
    assert set(got) == {by_name.name, by_both.name}


@pytest.mark.django_db
def test_no_destination_costs_nothing_and_disabled_ones_take_nothing(project, ingest_key, post, flush, receiver):
    _post_events(post, ingest_key, [{"event": "a"}] * 5)
    client = buffer.get_redis()
    buffer.ensure_groups(client)
    raw = read_entries(client, buffer.stream_key(0), "peek", 100) + read_entries(
        client, buffer.stream_key(1), "peek", 100
    )
    entries = [decode_entry(buffer.stream_key(0), entry_id, fields) for entry_id, fields in raw]
    assert outbox_candidates(entries) == []
    destination_create(project=project, actor="t", name="off", url=receiver.url, enabled=False)
    assert outbox_candidates(entries) == []
    flush()
    assert not DestinationBatch.objects.exists()


@pytest.mark.django_db
def test_dead_after_the_retry_limit_then_replayed(
    project, ingest_key, read_key, post, flush, receiver, admin, settings
):
    settings.EVENTBASE = {**settings.EVENTBASE, "DESTINATION_RETRY_DELAYS": [10, 20]}
    destination = destination_create(project=project, actor="t", name="hook", url=receiver.url, batch_size=4)
    _post_events(post, ingest_key, [{"event": "e", "user_id": f"u{i}"} for i in range(10)])
    flush()
    n = DestinationBatch.objects.filter(destination=destination).count()
    receiver.status = 503
    moment = dt.datetime.now(dt.UTC)
    for step, delay in enumerate([0, 10, 20]):  # the first try and two retries, each when due
        moment += dt.timedelta(seconds=delay)
        stats = destinations_deliver(now=moment)
        assert (stats.failed, stats.dead) == ((n, 0) if step < 2 else (0, n))
    assert _statuses(destination) == {BatchStatus.DEAD: n}
    assert destinations_deliver(now=moment + dt.timedelta(days=1)).failed == 0  # dead stays dead

    base = f"/api/v1/projects/{project.slug}/destinations/{destination.pk}"
    dead = admin.get(f"{base}/batches", {"status": "dead"}).json()["results"]
    assert len(dead) == n and {b["attempts"] for b in dead} == {3}
    assert all(b["last_error"].startswith("HTTP 503") for b in dead)
    ledger = (
        APIClient().get(f"/api/v1/projects/{project.slug}/ingestion", HTTP_AUTHORIZATION=f"Bearer {read_key}").json()
    )
    assert ledger["destinations"][0]["dead"] == 10 and ledger["destinations"][0]["pending"] == 0

    # Replay: a batch that is not dead (or not this destination's) is refused, naming it.
    bogus = "00000000-0000-4000-8000-000000000000"
    refused = admin.post(f"{base}/replay", {"batch_ids": [dead[0]["id"], bogus]}, format="json")
    assert refused.status_code == 400 and bogus in refused.json()["batch_ids"][0]
    assert admin.post(f"{base}/replay", {"batch_ids": "x"}, format="json").status_code == 400
    assert _statuses(destination) == {BatchStatus.DEAD: n}

    receiver.status = 200
    one = admin.post(f"{base}/replay", {"batch_ids": [dead[0]["id"]]}, format="json")
    assert one.json() == {"replayed": 1}
    assert destinations_deliver().delivered == 1
    rest = admin.post(f"{base}/replay", {}, format="json")
    assert rest.json() == {"replayed": n - 1}
    assert destinations_deliver().delivered == n - 1
    assert _statuses(destination) == {BatchStatus.DELIVERED: n}
    assert sorted(_delivered_ids(receiver)) == sorted(e["event_id"] for e in stored(project.pk))
    replays = AuditEntry.objects.filter(action=AuditAction.DESTINATION_REPLAYED, project=project)
    assert sorted(e.details["batches"] for e in replays) == sorted([1, n - 1])
    assert {e.actor for e in replays} == {"user:dest-admin"}
    ledger = (
        APIClient().get(f"/api/v1/projects/{project.slug}/ingestion", HTTP_AUTHORIZATION=f"Bearer {read_key}").json()
    )
    assert ledger["forwarded"] == 10 and ledger["destinations"][0]["dead"] == 0


@pytest.mark.django_db
def test_flush_run_again_after_a_crash_writes_no_second_batch(project, ingest_key, post, settings, receiver):
    destination = destination_create(project=project, actor="t", name="hook", url=receiver.url, batch_size=1000)
    _post_events(post, ingest_key, [{"event": "e", "user_id": f"u{i % 13}"} for i in range(150)])
    client = flusher.get_redis()
    buffer.ensure_groups(client)
    # What a worker does up to its commit, then it "dies": no acknowledgement.
    for shard in range(buffer.shard_count()):
        stream = buffer.stream_key(shard)
        raw = read_entries(client, stream, "doomed-worker", 10_000)
        entries = [decode_entry(stream, entry_id, fields) for entry_id, fields in raw]
        if entries:
            write_entries(entries)
    before = DestinationBatch.objects.filter(destination=destination).count()
    assert sum(DestinationBatch.objects.values_list("event_count", flat=True)) == 150
    # Another worker takes the entries over and stores them again: every row is a no-op.
    settings.EVENTBASE = {**settings.EVENTBASE, "FLUSH_CLAIM_IDLE_MS": 1}
    time.sleep(0.01)
    stats = flusher.drain(seconds=10)
    assert stats.entries > 0 and stats.inserted == 0
    assert DestinationBatch.objects.filter(destination=destination).count() == before
    destinations_deliver()
    delivered = _delivered_ids(receiver)
    assert len(delivered) == len(set(delivered)) == 150


@pytest.mark.django_db
def test_a_partly_stored_batch_forwards_only_the_new_rows(project, ingest_key, post, flush, receiver, settings):
    """The slow path (some rows already stored): the outbox names only the rows really inserted."""
    settings.EVENTBASE = {**settings.EVENTBASE, "DEDUPE_WINDOW_SECONDS": 0}  # as if past the window
    destination = destination_create(project=project, actor="t", name="hook", url=receiver.url)
    _post_events(post, ingest_key, [{"event": "old", "user_id": "a"}])
    flush()
    first = {e["event_id"] for e in stored(project.pk)}
    # The same event again, past the dedupe window, with a new neighbour.
    old = stored(project.pk)[0]
    _post_events(
        post,
        ingest_key,
        [
            {"event": "old", "user_id": "a", "event_id": old["event_id"], "timestamp": old["timestamp"].isoformat()},
            {"event": "new", "user_id": "b"},
        ],
    )
    flush()
    destinations_deliver()
    delivered = _delivered_ids(receiver)
    new = {e["event_id"] for e in stored(project.pk, event_name="new")}
    assert len(delivered) == 2 and set(delivered) == first | new
    assert sum(DestinationBatch.objects.filter(destination=destination).values_list("event_count", flat=True)) == 2


@pytest.mark.django_db(transaction=True)
def test_two_senders_never_send_the_same_batch(project, ingest_key, post, flush, receiver):
    destination = destination_create(project=project, actor="t", name="hook", url=receiver.url, batch_size=1)
    _post_events(post, ingest_key, [{"event": "e", "user_id": f"u{i}"} for i in range(12)])
    flush()
    assert DestinationBatch.objects.filter(destination=destination).count() == 12
    receiver.delay = 0.05

    in_threads(lambda: destinations_deliver(seconds=30), 3)
    deliveries = [r.headers["X-Eventbase-Delivery"] for r in receiver.requests]
    assert len(deliveries) == len(set(deliveries)) == 12
    assert _statuses(destination) == {BatchStatus.DELIVERED: 12}


@pytest.mark.django_db(transaction=True)
def test_the_job_on_a_real_rq_worker_delivers_and_prunes_old_deliveries(project, ingest_key, post, flush, receiver):
    destination = destination_create(project=project, actor="t", name="hook", url=receiver.url)
    _post_events(post, ingest_key, [{"event": "e", "user_id": "u"}] * 3)
    flush()
    old = DestinationBatch.objects.create(
        id=uuid.uuid4(), destination=destination, event_keys=[], event_count=0, status=BatchStatus.DELIVERED,
        next_attempt_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        delivered_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
    )  # fmt: skip
    queue = django_rq.get_queue("default")
    job = queue.enqueue("ingestion.jobs.deliver_destinations", seconds=5)
    django_rq.get_worker("default", worker_class=SimpleWorker).work(burst=True)
    job.refresh()
    assert job.is_finished, job.latest_result()
    assert job.return_value() == {"delivered": 1, "forwarded": 3, "failed": 0, "dead": 0, "pruned": 1}
    assert not DestinationBatch.objects.filter(pk=old.pk).exists()
    assert len(_delivered_ids(receiver)) == 3


@pytest.mark.django_db
def test_admin_lists_destinations_and_batches_without_the_secret(
    project, ingest_key, post, flush, receiver, admin_client
):
    destination = destination_create(project=project, actor="t", name="hook", url=receiver.url)
    _post_events(post, ingest_key, [{"event": "e"}])
    flush()
    batch = DestinationBatch.objects.get()
    for url in (
        "/admin/ingestion/destination/",
        f"/admin/ingestion/destination/{destination.pk}/change/",
        "/admin/ingestion/destinationbatch/",
        f"/admin/ingestion/destinationbatch/{batch.pk}/change/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert destination.secret not in response.content.decode()
