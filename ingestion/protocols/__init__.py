"""Wire-compatible adapters for other analytics SDKs (PostHog, Segment/RudderStack).

Each adapter only translates: it unpacks the SDK's envelope, maps every message to the native
``validation.Event`` with the same field rules as the native API, and hands the batch to
``services.ingest_batch``. Buffering, dedupe, the ledger and storage are shared.
"""
