import datetime as dt
from typing import Any

from django.core.management.base import CommandParser

from core.commands import OpsCommand, usage_error
from ingestion.dead_letters import dead_letters_list, dead_letters_replay


class Command(OpsCommand):
    help = (
        "List the dead-letter stream, or put its entries back on the ingest streams to be flushed again "
        "(safe to repeat: stored events are skipped). Exit 2 when a named id is not a dead letter."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", help="Replay only these dead-letter ids (default: all)")
        parser.add_argument("--list", action="store_true", help="Only list the dead letters")

    def handle(self, *args: Any, **options: Any) -> None:
        letters = dead_letters_list(limit=100_000)
        if options["ids"]:
            known = {letter.id for letter in letters}
            unknown = [letter_id for letter_id in options["ids"] if letter_id not in known]
            if unknown:
                # A mistyped id must not look like a successful (empty) replay to a script.
                raise usage_error(f"not in the dead-letter stream: {', '.join(unknown)}")
            letters = [letter for letter in letters if letter.id in options["ids"]]
        if options["list"] or options["dry_run"]:
            for letter in letters:
                when = dt.datetime.fromtimestamp(letter.failed_at, dt.UTC).isoformat(timespec="seconds")
                self.stdout.write(
                    f"{letter.id}  project={letter.project_id} events={letter.events} "
                    f"failed_at={when}  error={letter.error}"
                )
            verb = "would replay" if options["dry_run"] else "dead letters:"
            self.stdout.write(f"{verb} {len(letters)}")
            return
        replayed = dead_letters_replay(ids=options["ids"] or None)
        self.stdout.write(
            self.style.SUCCESS(
                f"replayed {replayed} dead letter(s); the flusher stores them within seconds (duplicates are skipped)."
            )
        )
