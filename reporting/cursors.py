"""Opaque pagination cursors: base64url text a client passes back to continue after a key."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid

from rest_framework import serializers

from reporting.queries.export import ExportCursor


def decode_cursor(raw: str) -> str:
    """The text of a cursor made by ``encode_cursor``; a ValidationError ("malformed cursor.") otherwise."""
    try:
        return base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise serializers.ValidationError("malformed cursor.") from None


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def export_cursor_encode(cursor: ExportCursor) -> str:
    """A (timestamp, event id) keyset: the export's pages, a person's timeline."""
    return encode_cursor(f"{cursor.timestamp.isoformat()}|{cursor.event_id}")


def export_cursor_decode(raw: str) -> ExportCursor:
    """The keyset of ``export_cursor_encode``; a ValidationError ("malformed cursor.") otherwise."""
    ts, _, event_id = decode_cursor(raw).partition("|")
    try:
        cursor = ExportCursor(dt.datetime.fromisoformat(ts), str(uuid.UUID(event_id)))
    except ValueError:
        raise serializers.ValidationError("malformed cursor.") from None
    if cursor.timestamp.tzinfo is None:  # compared with stored instants: a naive one cannot be
        raise serializers.ValidationError("malformed cursor.")
    return cursor
