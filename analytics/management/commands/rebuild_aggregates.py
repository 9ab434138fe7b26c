from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from analytics.maintenance import aggregates_rebuild
from core.commands import parse_date, usage_error
from projects.commands import ProjectCommand


class Command(ProjectCommand):
    help = "Rebuild a project's rollups for a range of its local days from the raw events (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, metavar="SLUG")
        parser.add_argument("--from", dest="date_from", required=True, metavar="YYYY-MM-DD", help="First local day")
        parser.add_argument("--to", dest="date_to", required=True, metavar="YYYY-MM-DD", help="Last local day")

    def handle(self, *args: Any, **options: Any) -> None:
        project = self.project_or_usage_error(options["project"])
        date_from = parse_date(options["date_from"], "--from")
        date_to = parse_date(options["date_to"], "--to")
        if date_from > date_to:
            raise usage_error("--from must not be after --to.")
        if (date_to - date_from).days > 3660:
            raise usage_error("the range may span at most ten years.")
        result = aggregates_rebuild(
            project=project, date_from=date_from, date_to=date_to, dry_run=options["dry_run"], progress=self.progress
        )
        verb = "would rebuild" if options["dry_run"] else "rebuilt"
        self.stdout.write(self.style.SUCCESS(f"{verb} {result.days_rebuilt} days of {project.slug}"))
