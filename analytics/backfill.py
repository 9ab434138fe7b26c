"""Backfill: historical events from a file, through the same validation, dedupe and ledger as the API.

Input is NDJSON (one native event per line, as in ``POST /api/v1/events``) or CSV with the native
field names as columns (so a file of ``GET …/events``, see below), or the columns ``event_id,
occurred_at, user_id, event_type, properties_json``. Files are read as a stream (``.gz`` too),
``BATCH_SIZE`` events at a time, so their size does not matter. Rate limits do not apply (this is
the operator, not a client), but the events count in the ledger and the monthly quota like any
other.

A file of ``GET …/events`` (csv or ndjson) imports as it is, with three differences from the
rows exported: ``received_at`` is the import's (a new receipt), ``is_anonymous`` is false (every id
is taken as the client's), and an event without a ``session_id`` gets a server session, as at
capture. Its web columns (browser … channel) are stored as they are: they cannot be derived
again (that needs the request's IP and user agent), so a line that carries any of them, or a csv
whose header names any, keeps them, nulls included (``ingestion.validation.stored_web_columns``).
A line that carries none has them derived from its properties, as at capture. Either way, a
project that drops bots drops events whose ``device_type`` is ``bot``.

Re-running a file is safe: a line without an ``event_id`` gets one derived from its content and
the project, so the same line is recognised as a duplicate (by the Redis window for a day, then by
PostgreSQL's unique key when it carries a timestamp).

The streams are drained as the file is read (back-pressure: Redis never holds much more than a
few batches) and, unless told not to wait, at the end the buffer is flushed and the rollups
rebuilt, so the numbers are right when the command exits.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from analytics.rollups import rollups_process_dirty
from events.models import WEB_COLUMNS
from ingestion.flush import drain
from ingestion.ledger import ledger_sync
from ingestion.selectors import buffered_entries
from ingestion.services import Client, ingest_batch
from ingestion.validation import validate_native_batch
from projects.audit import audit_record
from projects.models import AuditAction, EventSource, Project

BATCH_SIZE = 1000
MAX_BUFFERED_ENTRIES = 200  # drain before appending more: a backfill must not fill Redis' memory
CLIENT = Client(ip="", user_agent="backfill")
# Fixed namespace: the same line of the same project always gets the same event id.
_ID_NAMESPACE = uuid.UUID("5d0c6f58-3c1b-4a52-9a53-8f0f1d3b8a11")
# Other names a csv may give native fields (not the names of GET …/events, which are native).
_CSV_ALIASES = {"event_type": "event", "properties_json": "properties"}

Progress = Callable[[str], None]


@dataclass
class BackfillReport:
    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    bots: int = 0  # crawlers' and spam referrers' events, not stored (the project's bot setting)
    rejected: int = 0
    rejections: list[tuple[int, str]] = field(default_factory=list)  # (line, error); the first 1000 kept
    days_rebuilt: int = 0

    def reject(self, line: int, error: str) -> None:
        self.rejected += 1
        if len(self.rejections) < 1000:
            self.rejections.append((line, error))


@dataclass(frozen=True)
class Record:
    line: int
    text: str  # the line as read (for --errors)
    event: Any = None  # the raw event, or None when the line could not be parsed
    error: str | None = None


def _open(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def detect_format(path: Path) -> str:
    name = path.name.removesuffix(".gz").lower()
    return "csv" if name.endswith(".csv") else "ndjson"


def _ndjson_records(stream: IO[str]) -> Iterator[Record]:
    for number, text in enumerate(stream, start=1):
        stripped = text.strip()
        if not stripped:
            continue
        try:
            yield Record(line=number, text=stripped, event=orjson.loads(stripped))
        except orjson.JSONDecodeError as exc:
            yield Record(line=number, text=stripped, error=f"not valid JSON: {exc}")


def _csv_records(stream: IO[str]) -> Iterator[Record]:
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None:
        return
    columns = [_CSV_ALIASES.get(name.strip(), name.strip()) for name in header]
    line = reader.line_num + 1
    for row in reader:
        text = ",".join(row)
        event: dict[str, Any] = {}
        error = None
        for name, value in zip(columns, row, strict=False):
            if value == "":
                # An empty cell is an absent field, not an empty string; a web column's is null, so
                # that a file whose header names them keeps them even when a row has none.
                if name in WEB_COLUMNS:
                    event[name] = None
                continue
            if name == "properties":
                try:
                    value = orjson.loads(value)
                except orjson.JSONDecodeError as exc:
                    error = f"properties is not valid JSON: {exc}"
            event[name] = value
        if len(row) > len(columns):
            error = f"{len(row)} cells but {len(columns)} columns"
        yield Record(line=line, text=text, event=None if error else event, error=error)
        line = reader.line_num + 1


def _with_stable_id(project: Project, record: Record) -> Any:
    event = record.event
    if isinstance(event, dict) and event.get("event_id") in (None, ""):
        event = {**event, "event_id": str(uuid.uuid5(_ID_NAMESPACE, f"{project.pk}\n{record.text}"))}
    return event


def _buffered() -> int:
    return sum(buffered_entries().values())


def _drain_below(limit: int) -> None:
    """Flush in this process until the streams hold at most ``limit`` entries (workers may help)."""
    while _buffered() > limit:
        stats = drain(seconds=10)
        if not stats.entries:
            time.sleep(0.2)  # flush workers hold the shards: they are draining them


def _settle(progress: Progress) -> int:
    """Store everything buffered, sync the ledger, rebuild the dirty days; returns days rebuilt."""
    _drain_below(0)
    ledger_sync()
    days = 0
    while True:
        run = rollups_process_dirty()
        days += run.local_days
        if not run.markers:
            return days
        progress(f"rollups: {days} days rebuilt …")


def backfill_file(
    *,
    project: Project,
    path: Path,
    fmt: str | None = None,
    dry_run: bool = False,
    wait: bool = True,
    errors_out: IO[str] | None = None,
    progress: Progress = lambda _message: None,
    actor: str = "command",
) -> BackfillReport:
    """Import ``path`` into ``project``; raises ``ingestion.buffer.BufferUnavailable`` if Redis refuses writes."""
    fmt = fmt or detect_format(path)
    sources = (
        frozenset(EventSource.objects.filter(project=project).values_list("name", flat=True))
        if project.restrict_sources
        else None
    )
    report = BackfillReport()

    def rejected(record: Record, error: str) -> None:
        report.reject(record.line, error)
        if errors_out is not None:
            errors_out.write(orjson.dumps({"line": record.line, "error": error, "input": record.text}).decode() + "\n")

    def flush_batch(records: list[Record]) -> None:
        received_at = dt.datetime.now(dt.UTC)
        batch = validate_native_batch(
            [_with_stable_id(project, r) for r in records],
            received_at=received_at,
            sent_at_raw=None,
            allowed_sources=sources,
            stored_web=True,
        )
        for error in batch.errors:
            rejected(records[error["index"]], error["error"])
        if dry_run:
            report.accepted += len(batch.events)
            return
        result = ingest_batch(project=project, batch=batch, client=CLIENT, received_at=received_at)
        report.accepted += result.accepted
        report.duplicates += result.duplicates
        report.bots += result.bots
        _drain_below(MAX_BUFFERED_ENTRIES)

    with _open(path) as stream:
        records = _csv_records(stream) if fmt == "csv" else _ndjson_records(stream)
        pending: list[Record] = []
        batches = 0
        for record in records:
            report.lines += 1
            if record.error is not None:
                rejected(record, record.error)
                continue
            pending.append(record)
            if len(pending) >= BATCH_SIZE:
                flush_batch(pending)
                pending = []
                batches += 1
                if batches % 10 == 0:
                    progress(
                        f"{report.lines} lines: {report.accepted} taken, {report.duplicates} duplicates, "
                        f"{report.rejected} rejected"
                    )
        if pending:
            flush_batch(pending)
    if dry_run:
        return report
    if wait:
        report.days_rebuilt = _settle(progress)
    audit_record(
        action=AuditAction.BACKFILL,
        project=project,
        actor=actor,
        details={
            "file": path.name,
            "lines": report.lines,
            "accepted": report.accepted,
            "duplicates": report.duplicates,
            "bots": report.bots,
            "rejected": report.rejected,
        },
    )
    return report
