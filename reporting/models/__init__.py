"""What people save and share: insights, dashboards, share links (and, beside them, alerts).

Each concern has its own module; Django finds the models through this package.
"""

from reporting.models.insights import Dashboard, DashboardTile, Insight, ShareLink

__all__ = ["Dashboard", "DashboardTile", "Insight", "ShareLink"]
