"""What `make run` starts (config.stack), without starting it."""

from config.stack import _children_commands
from core.env import DEFAULT_STREAM_SHARDS


def _flushers(env: dict[str, str]) -> int:
    return sum(1 for name in _children_commands(env) if name.startswith("flusher-"))


def test_one_flush_worker_per_shard_unless_told_otherwise():
    assert _flushers({}) == DEFAULT_STREAM_SHARDS
    assert _flushers({"INGEST_STREAM_SHARDS": "3"}) == 3
    assert _flushers({"INGEST_STREAM_SHARDS": "3", "RQ_WORKERS": "5"}) == 5
