"""RQ jobs of the monitoring app: thin, no arguments, the work in monitoring.alerts."""

from __future__ import annotations

from monitoring.alerts import alerts_evaluate, alerts_log


def evaluate_alerts() -> list[str]:
    """Evaluate the alerts and log them (firing every run, resolved once); returns the firing names."""
    alerts = alerts_evaluate()
    alerts_log(alerts)
    return [alert.name for alert in alerts]
