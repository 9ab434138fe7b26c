"""Groups (persons.groups): a type's groups by key, keyset-paginated, and one group."""

from __future__ import annotations

from typing import Any

from reporting.queries.common import fetchall, json_value
from reporting.queries.persons import like_pattern

_COLUMNS = "group_key, properties, created_at, updated_at"


def _row(group_type: str, key: str, properties: Any, created_at: Any, updated_at: Any) -> dict[str, Any]:
    return {
        "group_type": group_type,
        "group_key": key,
        "properties": json_value(properties),
        "created_at": created_at,
        "updated_at": updated_at,
    }


def groups_page(
    *, project_id: int, group_type: str, index: int, limit: int, after: str | None = None, search: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """The type's groups by key (code-point order, so the keyset does not depend on the database's
    collation); with ``search``, only those whose key or a top-level property value (as
    ``jsonb_each_text`` gives it) contains it, case-insensitive. Returns the page and the key to
    continue after, None on the last page."""
    where = ""
    params: dict[str, Any] = {"p": project_id, "i": index, "n": limit + 1}
    if after is not None:
        where += ' AND group_key COLLATE "C" > %(after)s'
        params["after"] = after
    if search:
        where += (
            " AND (group_key ILIKE %(q)s OR EXISTS (SELECT 1 FROM jsonb_each_text(properties) kv "
            "WHERE kv.value ILIKE %(q)s))"
        )
        params["q"] = like_pattern(search)
    rows = fetchall(
        f"SELECT {_COLUMNS} FROM persons_group WHERE project_id = %(p)s AND group_type_index = %(i)s{where} "
        'ORDER BY group_key COLLATE "C" LIMIT %(n)s',
        params,
    )
    page = [_row(group_type, *row) for row in rows[:limit]]
    return page, (page[-1]["group_key"] if len(rows) > limit else None)


def group_get(*, project_id: int, group_type: str, index: int, key: str) -> dict[str, Any] | None:
    rows = fetchall(
        f"SELECT {_COLUMNS} FROM persons_group WHERE project_id = %s AND group_type_index = %s AND group_key = %s",
        [project_id, index, key],
    )
    return _row(group_type, *rows[0]) if rows else None
