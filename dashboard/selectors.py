"""Which projects a logged-in person may open in the dashboard.

The dashboard shows only what the reporting API returns, and that API lets a session user read a
project when they are staff or superuser (there is no per-project membership yet). Keeping the
same rule here means the picker never lists a project whose every panel would then fail.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from projects.models import Project


def dashboard_projects_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Project]:
    allowed = getattr(user, "is_staff", False) or getattr(user, "is_superuser", False)
    if not (user.is_authenticated and user.is_active and allowed):
        return Project.objects.none()
    return Project.objects.order_by("name")


def dashboard_project_for_user(*, user: AbstractBaseUser | AnonymousUser, slug: str) -> Project | None:
    return dashboard_projects_for_user(user=user).filter(slug=slug).first()
