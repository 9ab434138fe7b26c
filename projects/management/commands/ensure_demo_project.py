import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from projects.services import demo_project_ensure


class Command(BaseCommand):
    help = "Make sure the demo project exists and print its keys (kept in var/demo-project.json)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        demo = demo_project_ensure(state_file=settings.BASE_DIR / "var" / "demo-project.json")
        if options["json"]:
            self.stdout.write(json.dumps(demo))
        else:
            self.stdout.write(
                f"demo project {demo['slug']}: ingest key {demo['ingest_key']}, read key {demo['read_key']}"
            )
