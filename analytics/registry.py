"""Every table derived from raw ``events``, declared once.

Rebuilding a local day, retention, a data-subject erasure and the tests' clean-up all need to know
which tables hold what. Each of them used to carry its own list, and the lists drifted apart:
retention missed the two tables that keep raw property values, so they were never expired. They
now iterate ``DERIVED_TABLES``; ``analytics/tests/test_registry.py`` fails when a model of this app
that belongs to a project is not declared here, or is declared with a shape it does not have.

Tables are named in SQL with ``psycopg.sql.Identifier`` from the model's ``db_table``, never by
pasting text, so a declaration is the only place a table's name is written besides its model.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from django.db import models
from psycopg import sql

from analytics.models import (
    Annotation,
    DailyEventCount,
    DailyPropertyCount,
    DailyPropertySample,
    DailyPropertyType,
    DayUsersBitmap,
    EventDefinition,
    Goal,
    HourlyEventCount,
    PropertyDefinition,
    PropertyRollupGap,
    TrackedUser,
    UserDay,
    WebDay,
)
from events.models import ColumnarDay, ColumnarDirtyDay, RollupDirtyDay


class UserData(enum.Enum):
    """How a table refers to one user, which decides how an erasure removes them."""

    NONE = "none"  # counts over events, names or keys: no row belongs to one user
    ROWS = "rows"  # a ``user_key`` column: the user's rows are deleted
    BITMAP = "bitmap"  # ``users`` is a bitmap over user keys: the user's bit is cleared
    DICTIONARY = "dictionary"  # the ``user_id`` -> ``user_key`` map itself: deleted after the rest


@dataclass(frozen=True)
class DerivedTable:
    model: type[models.Model]
    # A ``day`` column (the project's local day): rebuilding a day deletes its rows and inserts
    # them again, and aggregate retention deletes the days before its cutoff.
    per_day: bool
    user_data: UserData = UserData.NONE

    @property
    def name(self) -> str:
        return self.model._meta.db_table

    @property
    def identifier(self) -> sql.Identifier:
        return sql.Identifier(self.name)


DERIVED_TABLES: tuple[DerivedTable, ...] = (
    DerivedTable(TrackedUser, per_day=False, user_data=UserData.DICTIONARY),
    DerivedTable(UserDay, per_day=True, user_data=UserData.ROWS),
    DerivedTable(DayUsersBitmap, per_day=True, user_data=UserData.BITMAP),
    DerivedTable(DailyEventCount, per_day=True),
    DerivedTable(HourlyEventCount, per_day=True),
    # Raw property values (those of keys with few values a day): retention must expire them.
    DerivedTable(DailyPropertyCount, per_day=True),
    DerivedTable(PropertyRollupGap, per_day=True),
    # The taxonomy (analytics.taxonomy): types of values per key, and the top values of keys over
    # the cap (raw values too, so per day: rebuilt, expired and erased like the two above).
    DerivedTable(DailyPropertyType, per_day=True),
    DerivedTable(DailyPropertySample, per_day=True),
    # Names of events and property keys, kept while the project exists (no day to expire by).
    DerivedTable(EventDefinition, per_day=False),
    DerivedTable(PropertyDefinition, per_day=False),
    # The rollup job's queue of UTC dates to rebuild: project data, but nothing to expire or erase.
    DerivedTable(RollupDirtyDay, per_day=False),
    # The columnar tier's manifest and markers (events.columnar): its files are copies of events,
    # forgotten by erasure and retention through columnar_forget.
    DerivedTable(ColumnarDay, per_day=False),
    DerivedTable(ColumnarDirtyDay, per_day=False),
    # The web rollup's manifest (analytics.web_days): its files hold user ids, forgotten by erasure
    # and retention through web_days_forget.
    DerivedTable(WebDay, per_day=False),
)

PER_DAY_TABLES: tuple[DerivedTable, ...] = tuple(t for t in DERIVED_TABLES if t.per_day)

# Tables of a project that its users define rather than derive from events (web goals, chart
# annotations): nothing to rebuild, expire or erase (they hold no tracked person's data; an
# annotation's author is an account, set to NULL when it is deleted); a foreign key takes them
# with the project.
DEFINITION_TABLES: tuple[type[models.Model], ...] = (Goal, Annotation)


def tables_with(user_data: UserData) -> tuple[DerivedTable, ...]:
    return tuple(t for t in DERIVED_TABLES if t.user_data is user_data)
