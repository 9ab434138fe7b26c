"""GET /api/v1/projects/<slug>/ingestion — the delivery ledger (read key or staff session)."""

from __future__ import annotations

import datetime as dt

from django.core.validators import MaxValueValidator, MinValueValidator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.days import EARLIEST_DAY, LATEST_DAY
from ingestion.selectors import ledger_report
from reporting.base import ReportingAPIView

MAX_RANGE = dt.timedelta(days=31)
_EARLIEST = dt.datetime.combine(EARLIEST_DAY, dt.time(), tzinfo=dt.UTC)
_LATEST = dt.datetime.combine(LATEST_DAY, dt.time.max, tzinfo=dt.UTC)
# An instant outside eventbase's calendar would make "60 minutes before" leave datetime's range.
_CALENDAR = [
    MinValueValidator(_EARLIEST, message=f"must be on or after {_EARLIEST.isoformat()}."),
    MaxValueValidator(_LATEST, message=f"must be before {LATEST_DAY.year + 1}-01-01."),
]


class LedgerInput(serializers.Serializer):
    since = serializers.DateTimeField(
        required=False, validators=_CALENDAR, help_text="Start (ISO-8601); default: 60 minutes ago"
    )
    until = serializers.DateTimeField(required=False, validators=_CALENDAR, help_text="End (ISO-8601); default: now")

    def validate(self, attrs: dict) -> dict:
        now = dt.datetime.now(dt.UTC)
        until = attrs.get("until") or now
        since = attrs.get("since") or until - dt.timedelta(minutes=60)
        if since > until:
            raise serializers.ValidationError({"since": "since must not be after until."})
        if until - since > MAX_RANGE:
            raise serializers.ValidationError({"since": "the range may span at most 31 days."})
        return {"since": since, "until": until}


class LedgerMinute(serializers.Serializer):
    minute = serializers.DateTimeField()
    received = serializers.IntegerField()
    accepted = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    late = serializers.IntegerField()
    rejected = serializers.IntegerField()
    rejected_by_reason = serializers.DictField(child=serializers.IntegerField())
    rate_limited = serializers.IntegerField()
    quota_exceeded = serializers.IntegerField()
    flushed = serializers.IntegerField()


class LedgerDestination(serializers.Serializer):
    destination_id = serializers.IntegerField()
    name = serializers.CharField()
    forwarded = serializers.IntegerField(help_text="Events delivered to it in the range (by time of delivery)")
    pending = serializers.IntegerField(help_text="Events waiting to be sent or retried, now")
    dead = serializers.IntegerField(help_text="Events in dead batches (to replay), now")


class LedgerOutput(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    totals = LedgerMinute()
    results = LedgerMinute(many=True)
    buffered_entries = serializers.IntegerField(help_text="Stream entries waiting to be flushed (all projects)")
    dead_letters = serializers.IntegerField(help_text="Entries in the dead-letter stream (all projects)")
    forwarded = serializers.IntegerField(help_text="Events delivered to the project's destinations in the range")
    destinations = LedgerDestination(many=True)
    complete_until = serializers.DateTimeField()


class IngestionLedgerView(ReportingAPIView):
    # The primary: it syncs Redis counters into the ledger and reads them back, and "flushed" must
    # not lag "accepted" by a replica's delay (events would look lost).
    replica_reads_allowed = False

    @extend_schema(tags=["ingestion"], parameters=[LedgerInput], responses=LedgerOutput)
    def get(self, request: Request, slug: str) -> Response:
        """Per-minute counters of received, accepted, duplicate, late, rejected and flushed events."""
        params = self.validated(LedgerInput, request.query_params)
        return self.answer(LedgerOutput, ledger_report(project=self.project, **params))
