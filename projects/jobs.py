"""RQ jobs of the projects app: thin, the work in projects.services."""

from __future__ import annotations

from projects.personal_keys import personal_key_usage_sync
from projects.services import api_key_usage_sync


def sync_key_usage() -> int:
    """Copy API keys' (project and personal) last-use minutes from Redis into their last_used_at."""
    return api_key_usage_sync() + personal_key_usage_sync()
