"""RQ jobs of the projects app: thin, the work in projects.services."""

from __future__ import annotations

from projects.services import api_key_usage_sync


def sync_key_usage() -> int:
    """Copy API keys' last-use minutes from Redis into ApiKey.last_used_at."""
    return api_key_usage_sync()
