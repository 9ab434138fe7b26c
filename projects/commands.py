"""The base of operations commands that act on one project (``--project SLUG``)."""

from __future__ import annotations

from core.commands import OpsCommand, usage_error
from projects.models import Project


class ProjectCommand(OpsCommand):
    def project_or_usage_error(self, slug: str) -> Project:
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise usage_error(f"no project with slug {slug!r}.")
        return project
