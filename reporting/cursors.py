"""Opaque pagination cursors: base64url text a client passes back to continue after a key."""

from __future__ import annotations

import base64
import binascii

from rest_framework import serializers


def decode_cursor(raw: str) -> str:
    """The text of a cursor made by ``encode_cursor``; a ValidationError ("malformed cursor.") otherwise."""
    try:
        return base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise serializers.ValidationError("malformed cursor.") from None


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")
