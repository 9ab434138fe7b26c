"""The delivery ledger: every event that reached the API is accounted for, per project and minute."""

from django.db import models


class IngestionLedger(models.Model):
    """Counters for one project and one minute of receive time (UTC).

    The API-side counters are copied from Redis, where the capture path increments them
    atomically with the stream write; ``flushed`` is incremented by the flusher inside the same
    transaction that stores the events, so it counts each stored event exactly once. For every
    closed minute: received = accepted + duplicate + rejected + bot, and accepted = flushed once the
    buffer has drained (dead letters excepted, which the monitoring page shows).
    """

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="ledger")
    minute = models.DateTimeField()
    received = models.BigIntegerField(default=0)
    accepted = models.BigIntegerField(default=0)
    duplicate = models.BigIntegerField(default=0)
    late = models.BigIntegerField(default=0, help_text="Accepted events timestamped more than a day ago.")
    rejected = models.BigIntegerField(default=0)
    rejected_by_reason = models.JSONField(default=dict, blank=True)
    rate_limited = models.BigIntegerField(default=0, help_text="Requests refused by a rate limit.")
    quota_exceeded = models.BigIntegerField(default=0, help_text="Requests refused by the monthly quota.")
    flushed = models.BigIntegerField(default=0, help_text="Events stored in PostgreSQL.")
    bot = models.BigIntegerField(  # db_default: the flush's raw INSERT of a ledger row leaves it out
        default=0,
        db_default=0,
        help_text="Events of crawlers and spam referrers not stored (the project's bot setting).",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "minute"], name="uniq_ledger_minute")]
        indexes = [models.Index(fields=["minute"])]
        ordering = ["-minute"]

    def __str__(self) -> str:
        return f"{self.project_id} @ {self.minute:%Y-%m-%d %H:%M}"
