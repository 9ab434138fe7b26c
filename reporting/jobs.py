"""RQ jobs of the reporting app (registered in config/jobs_registry.py): thin wrappers over services."""

from __future__ import annotations

import logging

from reporting.alerts.deliver import deliveries_send_due
from reporting.alerts.evaluate import alerts_evaluate_due
from reporting.alerts.subscriptions import subscriptions_run_due

logger = logging.getLogger(__name__)


def evaluate_insight_alerts() -> int:
    """Judge every enabled alert's newly completed intervals; returns the events recorded."""
    recorded = alerts_evaluate_due()
    if recorded:
        logger.info("alert events recorded", extra={"events": recorded})
    return recorded


def run_subscriptions() -> int:
    """Queue the reports of the subscriptions whose slot is due; returns the runs made."""
    return subscriptions_run_due()


def send_notifications() -> int:
    """Send due alert and report notifications (a batch); returns how many were delivered."""
    return deliveries_send_due()
