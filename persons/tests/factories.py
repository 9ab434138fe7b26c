"""Persons made through the service the flush uses, so tests hold what production would."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from persons.services import IdentityOp, persons_apply


def person_make(*, project_id: int, distinct_ids: list[str], properties: dict[str, Any] | None = None) -> None:
    """One person: ``distinct_ids[0]`` identified with each other id, then ``properties`` ``$set``."""
    first, others = distinct_ids[0], distinct_ids[1:]
    ops = [IdentityOp(project_id, str(uuid.uuid4()), first, n, other_id=other) for n, other in enumerate(others)]
    if properties or not others:
        ops.append(IdentityOp(project_id, str(uuid.uuid4()), first, len(others), set=properties or {"seen": True}))
    persons_apply(ops=ops, now=dt.datetime.now(dt.UTC))
