from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import CommandParser

from analytics.demo import demo_data_generate
from core.commands import OpsCommand, usage_error
from projects.models import Project
from projects.services import project_create


class Command(OpsCommand):
    help = (
        "Load realistic demo events (sessions, a sign-up funnel with drop-off, weekly retention decay) "
        "straight into events with COPY, then build the rollups. Same seed, same hour: nothing added."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--events", type=int, default=100_000)
        parser.add_argument("--users", type=int, default=2_000)
        parser.add_argument("--days", type=int, default=60)
        parser.add_argument("--project", default="demo", metavar="SLUG", help="Created when missing (default: demo)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--end", metavar="ISO-8601", help="End of the period (default: start of this UTC hour)")

    def handle(self, *args: Any, **options: Any) -> None:
        events, users, days = options["events"], options["users"], options["days"]
        if events < 1 or users < 1 or not 1 <= days <= 3650:
            raise usage_error("--events and --users must be at least 1, --days between 1 and 3650.")
        end = None
        if options["end"]:
            try:
                end = dt.datetime.fromisoformat(options["end"])
            except ValueError:
                raise usage_error(f"--end {options['end']!r} is not an ISO-8601 date-time.") from None
            if end.tzinfo is None:
                raise usage_error("--end needs a time zone, e.g. 2024-05-01T00:00Z.")
        if options["dry_run"]:
            self.stdout.write(f"would generate {events} events for {users} users over {days} days")
            return
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            slug = options["project"]
            project = project_create(name=slug.replace("-", " ").title(), slug=slug).project
            self.progress(f"created project {slug}")
        started = time.monotonic()
        result = demo_data_generate(
            project=project,
            events=events,
            users=users,
            days=days,
            seed=options["seed"],
            end=end,
            progress=self.progress,
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.events} events inserted ({result.generated} generated) for {project.slug} and "
                f"{result.days_rebuilt} days rolled up in {time.monotonic() - started:.1f} s"
            )
        )
