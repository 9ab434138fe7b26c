"""Conventions shared by the operations commands (retention, backfill, erasure, rebuilds, demo data).

They run from cron, so they are idempotent, take ``--dry-run``, print progress on long work and
exit with a status a scheduler can act on: 0 done, 1 failed (a store unreachable, a step that did
not complete: safe to re-run), 2 bad usage (unknown project, bad dates, missing file: fix the
command line). Django already exits 2 on argparse errors and with ``CommandError.returncode``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import redis
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

USAGE = 2
FAILURE = 1


def usage_error(message: str) -> CommandError:
    return CommandError(message, returncode=USAGE)


def parse_date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise usage_error(f"{name} {value!r} is not a date (YYYY-MM-DD).") from None


class OpsCommand(BaseCommand):
    """A cron-friendly command: ``--dry-run``, progress lines, exit codes 0/1/2."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument("--dry-run", action="store_true", help="Say what would be done; change nothing.")
        return parser

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            return super().execute(*args, **options)
        except (DatabaseError, redis.RedisError) as exc:
            # One line for the cron mail; the command is safe to re-run once the store is back.
            first_line = (str(exc).strip().splitlines() or [""])[0]
            raise CommandError(f"{type(exc).__name__}: {first_line}", returncode=FAILURE) from exc

    def progress(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()
