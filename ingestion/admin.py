from django.contrib import admin
from django.http import HttpRequest

from ingestion.models import Destination, DestinationBatch, IngestionLedger


@admin.register(IngestionLedger)
class IngestionLedgerAdmin(admin.ModelAdmin):
    """The delivery ledger, read-only: counters are written by the pipeline, never by hand."""

    list_display = (
        "minute",
        "project",
        "received",
        "accepted",
        "duplicate",
        "late",
        "rejected",
        "rate_limited",
        "quota_exceeded",
        "bot",
        "flushed",
    )
    list_filter = ("project",)
    date_hierarchy = "minute"
    readonly_fields = [f.name for f in IngestionLedger._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: IngestionLedger | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: IngestionLedger | None = None) -> bool:
        return False


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


@admin.register(Destination)
class DestinationAdmin(_ReadOnly):
    """Destinations, read-only: they are changed through the API (which audits and takes effect at once)."""

    list_display = ("name", "project", "url", "enabled", "batch_size", "created_at")
    list_filter = ("project", "enabled")
    exclude = ("secret",)  # shown once, to its creator


@admin.register(DestinationBatch)
class DestinationBatchAdmin(_ReadOnly):
    """The outbox: what was, is being or could not be forwarded (replay dead batches with the API)."""

    list_display = ("id", "destination", "status", "event_count", "attempts", "next_attempt_at", "last_error")
    list_filter = ("status", "destination__project")
    date_hierarchy = "created_at"

    def has_delete_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False
