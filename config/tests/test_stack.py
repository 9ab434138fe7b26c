"""What `make run` starts (config.stack), without starting it."""

from config.jobs_registry import PERIODIC_JOBS
from config.stack import _children_commands
from core.env import DEFAULT_STREAM_SHARDS


def _flushers(env: dict[str, str]) -> int:
    return sum(1 for name in _children_commands(env) if name.startswith("flusher-"))


def test_one_flush_worker_per_shard_unless_told_otherwise():
    assert _flushers({}) == DEFAULT_STREAM_SHARDS
    assert _flushers({"INGEST_STREAM_SHARDS": "3"}) == 3
    assert _flushers({"INGEST_STREAM_SHARDS": "3", "RQ_WORKERS": "5"}) == 5


def test_the_rollups_have_a_worker_of_their_own():
    """Maintenance (columnar files, catch-up) must never delay the 5-second rollup job."""
    commands = _children_commands({"RQ_BACKGROUND_WORKERS": "2"})
    assert commands["rollups"][-4:] == ["rqworker", "rollups", "--worker-class", "rq.worker.SimpleWorker"]
    background = [name for name in commands if name.startswith("worker-")]
    assert len(background) == 2
    assert all(commands[name][-5:-2] == ["rqworker", "default", "rollups"] for name in background)
    by_queue = {job.func.__name__: job.queue for job in PERIODIC_JOBS}
    assert by_queue["rebuild_dirty_rollups"] == "rollups"
    assert {name for name, queue in by_queue.items() if queue == "rollups"} == {"rebuild_dirty_rollups"}
