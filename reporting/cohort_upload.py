"""A static cohort from an uploaded CSV file of ids: the first column of each line is an id.

A first line that names the column (``user_id``, ``distinct_id``, ``id``) is skipped. The file is
taken whole or not at all: a line that cannot be an id (empty, too long, a NUL) makes the upload a
400 that lists the rejected lines by number, so the sender fixes the file and sends it again.
"""

from __future__ import annotations

import csv
import io

from django.core.files.uploadedfile import UploadedFile
from rest_framework import serializers

MAX_IDS = 1_000_000
MAX_ID_LENGTH = 200
HEADERS = {"user_id", "distinct_id", "id"}
SHOWN = 20  # rejected lines listed in an answer; the count says how many more


def ids_from_csv(upload: UploadedFile) -> list[str]:
    """The ids of the file, in order, once each; a ValidationError on ``file`` naming bad lines."""
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise serializers.ValidationError({"file": ["the file is not UTF-8 text."]}) from None
    ids: list[str] = []
    rejected: list[str] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        value = row[0].strip() if row else ""
        if number == 1 and value.lower() in HEADERS:
            continue
        if not value:
            rejected.append(f"line {number}: no id in the first column.")
        elif len(value) > MAX_ID_LENGTH:
            rejected.append(f"line {number}: an id has at most {MAX_ID_LENGTH} characters.")
        elif "\x00" in value:
            rejected.append(f"line {number}: an id cannot contain the NUL character.")
        else:
            ids.append(value)
    if rejected:
        more = [f"… and {len(rejected) - SHOWN} more rejected lines."] if len(rejected) > SHOWN else []
        raise serializers.ValidationError({"file": rejected[:SHOWN] + more})
    unique = list(dict.fromkeys(ids))
    if not unique:
        raise serializers.ValidationError({"file": ["the file holds no id."]})
    if len(unique) > MAX_IDS:
        raise serializers.ValidationError({"file": [f"at most {MAX_IDS:,} ids per cohort."]})
    return unique
