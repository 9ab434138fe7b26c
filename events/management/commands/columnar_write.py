from __future__ import annotations

import time
from typing import Any

from django.core.management.base import CommandParser
from django.db import transaction

from core.commands import usage_error
from events.columnar import columnar_mark_partition, columnar_write_dirty
from events.partitions import list_partitions
from projects.commands import ProjectCommand


class Command(ProjectCommand):
    help = (
        "Write the columnar tier's files now: the days marked (what the periodic job would write), and with "
        "--missing every stored day without a file (events stored before the tier existed) or with --all "
        "every stored day (after changing COLUMNAR_PROPERTY_KEYS). Idempotent; safe to interrupt."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--missing", action="store_true", help="Also every stored day that has no file.")
        which.add_argument("--all", action="store_true", help="Also rewrite every stored day's file.")
        parser.add_argument("--project", metavar="SLUG", help="Only this project's days (with --missing/--all).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["project"] and not (options["missing"] or options["all"]):
            raise usage_error("--project goes with --missing or --all.")
        project = self.project_or_usage_error(options["project"]) if options["project"] else None
        dry_run = options["dry_run"]
        if options["missing"] or options["all"]:
            partitions = list_partitions()
            marked = 0
            with transaction.atomic():
                for i, partition in enumerate(partitions, start=1):
                    marked += columnar_mark_partition(
                        partition.day, project_id=project.pk if project else None, only_missing=options["missing"]
                    )
                    if i % 30 == 0 or i == len(partitions):
                        self.progress(f"scanned {i}/{len(partitions)} partitions: {marked} days to write")
                if dry_run:
                    transaction.set_rollback(True)
            if dry_run:
                self.stdout.write(self.style.SUCCESS(f"would write {marked} days (plus any already marked)"))
                return
        elif dry_run:
            self.stdout.write("would write the days already marked")
            return
        started, total = time.monotonic(), 0
        while written := columnar_write_dirty(max_days=20, settle_seconds=0):
            total += written
            self.progress(f"wrote {total} days ({time.monotonic() - started:.0f} s)")
        # 0 also when another writer (the periodic job) holds the lock: it writes the rest.
        self.stdout.write(self.style.SUCCESS(f"wrote {total} days; the periodic job writes any still marked"))
