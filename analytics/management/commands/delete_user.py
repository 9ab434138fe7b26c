from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from analytics.erasure import user_erase
from ingestion.flush import drain
from projects.commands import ProjectCommand


class Command(ProjectCommand):
    help = (
        "Erase one data subject of a project: the person the id belongs to with all of its ids and properties, "
        "their raw events in every partition, rollup rows and user dictionary entries; the touched days are "
        "rebuilt. Says what it cannot reach (dead letters, Parquet archives). Writes an audit entry (with a "
        "hash of the id, and counts)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, metavar="SLUG")
        parser.add_argument("--user-id", required=True, metavar="ID")
        parser.add_argument(
            "--no-flush", action="store_true", help="Do not store buffered events first (they may hold this user's)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = self.project_or_usage_error(options["project"])
        dry_run = options["dry_run"]
        if not dry_run and not options["no_flush"]:
            # Events of this user still in the streams would be stored after the erasure.
            stats = drain(seconds=60)
            if stats.entries:
                self.progress(f"stored {stats.inserted} buffered events first")
        result = user_erase(project=project, user_id=options["user_id"], dry_run=dry_run, progress=self.progress)
        verb = "would erase" if dry_run else "erased"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {result.raw_events} raw events in {result.partitions_touched} partitions, "
                f"{result.user_rows} per-user rollup rows, {result.bitmaps_cleared} day bitmaps and "
                f"{result.user_dictionary_rows} user dictionary entries of {result.distinct_ids} id(s); "
                f"{result.persons} person(s) with {result.person_properties} properties; "
                f"{'would rebuild' if dry_run else 'rebuilt'} {result.local_days_rebuilt} days"
            )
        )
        for note in result.out_of_reach():
            self.stdout.write(f"note: {note}")
