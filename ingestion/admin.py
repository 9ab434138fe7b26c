from django.contrib import admin
from django.http import HttpRequest

from ingestion.models import IngestionLedger


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
