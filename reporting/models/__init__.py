"""What people save and share: insights, dashboards, share links (and, beside them, alerts).

Each concern has its own module; Django finds the models through this package.
"""

from reporting.models.alerts import (
    Alert,
    AlertCondition,
    AlertEvent,
    AlertEventState,
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    Subscription,
    SubscriptionFrequency,
    SubscriptionRun,
)
from reporting.models.insights import Dashboard, DashboardTile, Insight, ShareLink

__all__ = [
    "Alert",
    "AlertCondition",
    "AlertEvent",
    "AlertEventState",
    "Dashboard",
    "DashboardTile",
    "Delivery",
    "DeliveryChannel",
    "DeliveryStatus",
    "Insight",
    "ShareLink",
    "Subscription",
    "SubscriptionFrequency",
    "SubscriptionRun",
]
