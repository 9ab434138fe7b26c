"""The atomic append: dedupe windows and per-shard stream entries, against the real Redis."""

from ingestion import buffer

DAY_US = 86_400 * 1_000_000


def _append(event_ids: list[str], *, day: int, project_id: int = 7) -> list[bool]:
    events = [buffer.StreamEvent(event_id, 0, f"record of {event_id}") for event_id in event_ids]
    return buffer.append(
        project_id=project_id,
        received_us=day * DAY_US + 5,
        events=events,
        ledger_key=f"eb:ledger:{project_id}:0",
        quota_key=f"eb:quota:{project_id}:x",
        ledger_counts={},
    )


def test_an_id_is_recognised_in_its_window_and_the_next_then_forgotten(settings):
    settings.EVENTBASE = {**settings.EVENTBASE, "DEDUPE_WINDOW_SECONDS": 86_400}
    assert _append(["a", "b"], day=100) == [True, True]
    assert _append(["a", "c"], day=100) == [False, True]
    assert _append(["b", "d"], day=101) == [False, True]
    assert _append(["a", "d"], day=102) == [True, False]


def test_ids_repeated_within_one_append_are_taken_once():
    assert _append(["x", "x", "y"], day=5) == [True, False, True]
    entries = buffer.get_redis().xrange(buffer.stream_key(0))
    assert len(entries) == 1
    assert entries[0][1][b"e"].decode().split("\n") == ["record of x", "record of y"]


def test_dedupe_is_per_project():
    assert _append(["same"], day=1, project_id=1) == [True]
    assert _append(["same"], day=1, project_id=2) == [True]


def test_window_zero_turns_dedupe_off(settings):
    settings.EVENTBASE = {**settings.EVENTBASE, "DEDUPE_WINDOW_SECONDS": 0}
    assert _append(["z"], day=1) == [True]
    assert _append(["z"], day=1) == [True]
