from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from analytics.backfill import backfill_file
from core.commands import FAILURE, usage_error
from ingestion.buffer import BufferUnavailable
from projects.commands import ProjectCommand


class Command(ProjectCommand):
    help = (
        "Import historical events from NDJSON or CSV (optionally .gz) through the API's validation and "
        "dedupe, then flush and rebuild the touched days. Re-running the same file adds nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="NDJSON (one event per line) or CSV file; .gz is read as gzip")
        parser.add_argument("--project", required=True, metavar="SLUG")
        parser.add_argument("--format", choices=("ndjson", "csv"), help="Default: from the file name (.csv or not)")
        parser.add_argument(
            "--errors", metavar="FILE", help="Write rejected lines there as NDJSON (line, error, input)"
        )
        parser.add_argument(
            "--no-wait",
            action="store_true",
            help="Return once the events are buffered; the workers store them and rebuild the rollups",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = self.project_or_usage_error(options["project"])
        path = Path(options["file"])
        if not path.is_file():
            raise usage_error(f"{path} is not a readable file.")
        errors_out = open(options["errors"], "w", encoding="utf-8") if options["errors"] else None  # noqa: SIM115
        try:
            report = backfill_file(
                project=project,
                path=path,
                fmt=options["format"],
                dry_run=options["dry_run"],
                wait=not options["no_wait"],
                errors_out=errors_out,
                progress=self.progress,
            )
        except BufferUnavailable as exc:
            raise CommandError(f"the event buffer (Redis) refused the write: {exc}", returncode=FAILURE) from exc
        except UnicodeDecodeError as exc:
            raise usage_error(f"{path} is not UTF-8 text: {exc}") from exc
        finally:
            if errors_out is not None:
                errors_out.close()
        for line, error in report.rejections[:20]:
            self.stdout.write(f"line {line}: {error}")
        if report.rejected > 20:
            self.stdout.write(
                f"… and {report.rejected - 20} more rejected lines"
                + (f" (all in {options['errors']})" if options["errors"] else " (use --errors FILE to keep them all)")
            )
        verb = "would take" if options["dry_run"] else "took"
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.lines} lines: {verb} {report.accepted}, {report.duplicates} duplicates, "
                f"{report.rejected} rejected"
                + (f", {report.bots} bots not stored" if report.bots else "")
                + (f"; rebuilt {report.days_rebuilt} days" if report.days_rebuilt else "")
            )
        )
