"""Cookieless visitors: an anonymous id that is the same within one UTC day, and only that day.

A project in cookieless mode stores no id in the visitor's browser (``/t.js`` with
``data-cookieless``); an event sent without a user id gets ``ingestion.identity.anonymous_id``
keyed by the salt of the day and with the site's host, as Plausible does. Each project's salt of
a UTC day is a random secret kept only in Redis and expiring an hour after its day ends, so once
it is gone nobody (the operator included) can link a visitor's days or recompute an id from an
IP address. The honest consequence, in the README: visitors are unique per day, not across days,
and a visitor whose IP or browser changes during the day is counted twice. If Redis loses the
day's salt (a reset), a new one is drawn and that day's visitors may be counted twice.
"""

from __future__ import annotations

import datetime as dt
import secrets

from core import keys
from core.redis import get_redis

# (project id, day) -> salt, so a salt costs Redis one round trip per process and day.
_salts: dict[tuple[int, dt.date], str] = {}


def daily_salt(project_id: int, day: dt.date) -> str:
    """The project's salt of this UTC day, drawn by whichever process needs it first."""
    cached = _salts.get((project_id, day))
    if cached is not None:
        return cached
    key = keys.cookieless_salt(project_id, day)
    client = get_redis()
    # SET NX then GET: every process agrees on the first salt drawn; the expiry ends its life.
    ends = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    lifetime = max(60, int((ends - dt.datetime.now(dt.UTC)).total_seconds()) + 3_600)
    client.set(key, secrets.token_hex(32), nx=True, ex=min(lifetime, keys.COOKIELESS_SALT_TTL_SECONDS))
    salt = client.get(key)
    value = salt.decode() if isinstance(salt, bytes) else str(salt)
    for old in [k for k in _salts if k[1] < day - dt.timedelta(days=1)]:
        del _salts[old]  # a past day's salt is not kept in memory either
    _salts[(project_id, day)] = value
    return value
