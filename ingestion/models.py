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


class Destination(models.Model):
    """An HTTP webhook a project's events are forwarded to, in batches, as they are flushed.

    Project settings with a secret: only the project's admins read or change them
    (``reporting.views_destinations``). ``events`` limits which event names are forwarded (empty:
    all); ``properties`` further requires each listed property to equal the given value.
    """

    MAX_BATCH = 1000

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="destinations")
    name = models.CharField(max_length=200)
    url = models.CharField(max_length=2000, help_text="http:// or https:// only (checked by the API).")
    secret = models.CharField(max_length=200, help_text="Signs each body: X-Eventbase-Signature: sha256=<hex>.")
    events = models.JSONField(default=list, blank=True, help_text="Event names to forward; empty for all.")
    properties = models.JSONField(default=dict, blank=True, help_text="Property values an event must have.")
    batch_size = models.PositiveIntegerField(default=100)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.project_id}: {self.name}"


class BatchStatus(models.TextChoices):
    PENDING = "pending", "Pending (not tried yet, or being sent)"
    FAILED = "failed", "Failed (will be tried again at next_attempt_at)"
    DELIVERED = "delivered", "Delivered (a 2xx answer)"
    DEAD = "dead", "Dead (retries exhausted; replay to send again)"


class DestinationBatch(models.Model):
    """The outbox: one batch of events for one destination, written in the flush's transaction.

    It holds the events' keys (``[event_id, timestamp µs]``), not their bodies: the sender reads
    the events back when it posts, so the flush only writes one small row per batch. ``id`` (a
    UUID) is sent as ``X-Eventbase-Delivery`` on every attempt, so a receiver can drop a batch it
    has already taken (delivery is at least once).
    """

    id = models.UUIDField(primary_key=True)
    destination = models.ForeignKey(Destination, on_delete=models.CASCADE, related_name="batches")
    event_keys = models.JSONField(help_text="[[event_id, timestamp in µs since the epoch], ...]")
    event_count = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=BatchStatus.choices, default=BatchStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The sender's question: which batches are due now (pending or failed, by time).
            models.Index(
                fields=["next_attempt_at"],
                name="destbatch_due",
                condition=models.Q(status__in=["pending", "failed"]),
            ),
            models.Index(fields=["destination", "status"], name="destbatch_status"),
        ]

    def __str__(self) -> str:
        return f"{self.destination_id}/{self.id} ({self.status})"


class DestinationLedger(models.Model):
    """Events forwarded per destination and minute of delivery: the delivery ledger's
    ``forwarded`` column. Incremented in the transaction that marks a batch delivered, so a
    batch counts once however many times it was sent."""

    destination = models.ForeignKey(Destination, on_delete=models.CASCADE, related_name="ledger")
    minute = models.DateTimeField()
    forwarded = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["destination", "minute"], name="uniq_destination_minute")]

    def __str__(self) -> str:
        return f"{self.destination_id} @ {self.minute:%Y-%m-%d %H:%M}"
