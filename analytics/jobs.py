"""RQ jobs of the analytics app: thin wrappers over services, taking only plain arguments."""

from __future__ import annotations

import logging

from analytics.cohorts import cohorts_compute_due
from analytics.rollups import rollups_catch_up, rollups_process_dirty
from analytics.web_days import web_days_build
from events.columnar import columnar_write_dirty
from events.partitions import create_upcoming_partitions

logger = logging.getLogger(__name__)


def maintain_partitions(days_ahead: int = 7) -> int:
    created = create_upcoming_partitions(days_ahead=days_ahead)
    if created:
        logger.info("partitions created", extra={"days": [d.isoformat() for d in created]})
    return len(created)


def rebuild_dirty_rollups() -> int:
    """Rebuild the local days behind dirty markers and advance the watermark; returns markers done."""
    return rollups_process_dirty().markers


def catch_up_rollups() -> int:
    """Mark closed partitions after the catch-up checkpoint dirty (a few per run)."""
    return rollups_catch_up()


def write_columnar_days() -> int:
    """Write the columnar files of marked days (a few dozen per run); returns the days written."""
    written = columnar_write_dirty()
    if written:
        logger.info("columnar days written", extra={"days": written})
    return written


def build_web_days() -> int:
    """Build the web rollup's days whose files are missing or stale; returns the days built."""
    built = web_days_build()
    if built:
        logger.info("web days built", extra={"days": built})
    return built


def compute_cohorts() -> int:
    """Compute new and changed cohorts, then those due for their refresh; returns how many."""
    return cohorts_compute_due()
