from typing import Any

from django.core.management.base import BaseCommand

from core.preflight import check_stores


class Command(BaseCommand):
    help = "Check that PostgreSQL and Redis answer; exit 2 with one clear line when one does not."

    def handle(self, *args: Any, **options: Any) -> None:
        check_stores()
        self.stdout.write("PostgreSQL and Redis are reachable.")
