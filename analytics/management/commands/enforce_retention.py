from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from analytics.retention import retention_enforce
from core.commands import OpsCommand, parse_date, usage_error


class Command(OpsCommand):
    help = (
        "Remove raw events older than each project's raw_retention_days (dropping whole partitions "
        "when every project allows it) and rollups older than aggregate_retention_days. Safe to re-run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--archive", metavar="DIR", help="Write the raw events to Parquet under DIR first")
        parser.add_argument("--today", metavar="YYYY-MM-DD", help="Act as if today (UTC) were this day")

    def handle(self, *args: Any, **options: Any) -> None:
        archive = None
        if options["archive"]:
            archive = Path(options["archive"])
            if archive.exists() and not archive.is_dir():
                raise usage_error(f"--archive {archive} exists and is not a folder.")
            archive.mkdir(parents=True, exist_ok=True)
        today = parse_date(options["today"], "--today") if options["today"] else None
        result = retention_enforce(today=today, dry_run=options["dry_run"], archive_dir=archive, progress=self.progress)
        verb = "would remove" if options["dry_run"] else "removed"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {sum(result.rows_deleted.values())} raw events ({len(result.partitions_dropped)} partitions "
                f"dropped) and {sum(result.aggregate_rows_deleted.values())} rollup rows"
                + (f"; archived {len(result.archived_files)} files to {archive}" if archive else "")
            )
        )
