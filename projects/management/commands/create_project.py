import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from projects.models import Project
from projects.services import project_create


class Command(BaseCommand):
    help = "Create a project with an ingest key and a read key, and print the keys (shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Human-readable project name")
        parser.add_argument("--slug", help="URL identifier (default: derived from the name)")
        parser.add_argument("--timezone", default="UTC", help="IANA time zone for day boundaries")
        parser.add_argument(
            "--json",
            action="store_true",
            help='Print exactly one JSON object {"slug", "ingest_key", "read_key"}',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["slug"] and Project.objects.filter(slug=options["slug"]).exists():
            raise CommandError(f"A project with slug {options['slug']!r} already exists.")
        try:
            created = project_create(name=options["name"], slug=options["slug"], timezone_name=options["timezone"])
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        payload = {
            "slug": created.project.slug,
            "ingest_key": created.ingest_key.raw,
            "read_key": created.read_key.raw,
        }
        if options["json"]:
            self.stdout.write(json.dumps(payload))
            return
        self.stdout.write(self.style.SUCCESS(f"Created project {created.project.name!r} ({payload['slug']})"))
        self.stdout.write(f"  ingest key (public, for SDKs and browsers): {payload['ingest_key']}")
        self.stdout.write(f"  read key   (secret, for the reporting API): {payload['read_key']}")
        self.stdout.write("Keep the read key safe: only its hash is stored and it will not be shown again.")
