"""Web goals: checking a definition, storing it, and reading a project's goals for the overview.

A definition is ``{"name", "kind": "pageview", "path": "/checkout/*"}`` or ``{"name", "kind":
"event", "event": "signup", "filters": [...]}``; goal filters are event and column filters (the
filter contract), which a goal's event alone answers. Everything wrong is a :class:`GoalError`
naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analytics.models import Goal
from analytics.query.filters import FilterError, PropertyFilter, filter_leaves, filters_parse
from analytics.query.web import GoalSpec

MAX_GOALS = 50  # each is a flag in the overview's one pass over the events
GOAL_FILTER_TYPES = ("event", "column")


class GoalError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class GoalDefinition:
    name: str
    kind: str
    path: str
    event: str
    filters: list


def goal_definition_parse(raw: dict[str, Any], *, instance: Goal | None = None) -> GoalDefinition:
    """A checked definition; with ``instance`` (PATCH), the fields not sent keep its values, and a
    change of kind drops the other kind's fields."""
    base: dict[str, Any] = {}
    if instance is not None:
        base = {"name": instance.name, "kind": instance.kind, "path": instance.path, "event": instance.event}
        base["filters"] = instance.filters
        if raw.get("kind", instance.kind) != instance.kind:
            base.update(path="", event="", filters=[])
    merged = {**base, **raw}
    name = merged.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise GoalError("name", "a goal needs a name of 1 to 200 characters.")
    kind = merged.get("kind")
    if kind not in (Goal.PAGEVIEW, Goal.EVENT):
        raise GoalError("kind", f"must be {Goal.PAGEVIEW!r} or {Goal.EVENT!r}, got {kind!r}.")
    if kind == Goal.PAGEVIEW:
        for other in ("event", "filters"):
            if raw.get(other):
                raise GoalError(other, f"a pageview goal has a path, not {other}.")
        return GoalDefinition(name.strip(), kind, _path(merged.get("path")), "", [])
    if raw.get("path"):
        raise GoalError("path", "an event goal has an event (and filters), not a path.")
    event = merged.get("event")
    if not isinstance(event, str) or not event or len(event) > 200 or "\x00" in event:
        raise GoalError("event", "an event goal names its event (1 to 200 characters).")
    filters = merged.get("filters") or []
    try:
        parsed = filters_parse(filters, path="filters")
    except FilterError as exc:
        raise GoalError("filters", str(exc)) from None
    for i, leaf in enumerate(filter_leaves(parsed)):
        if not isinstance(leaf, PropertyFilter) or leaf.type not in GOAL_FILTER_TYPES:
            raise GoalError("filters", f"filter {i}: a goal's filters are of type event or column.")
    return GoalDefinition(name.strip(), kind, "", event, filters)


def _path(path: Any) -> str:
    if not isinstance(path, str) or not path.startswith("/") or len(path) > 500:
        raise GoalError("path", "a pageview goal's path starts with '/' (up to 500 characters), e.g. '/checkout/*'.")
    if "\x00" in path:
        raise GoalError("path", "a path cannot contain the NUL character.")
    return path


def goal_create(*, project_id: int, definition: GoalDefinition) -> Goal:
    if Goal.objects.filter(project_id=project_id).count() >= MAX_GOALS:
        raise GoalError("name", f"a project has at most {MAX_GOALS} goals.")
    return Goal.objects.create(project_id=project_id, **definition.__dict__)


def goal_update(*, goal: Goal, definition: GoalDefinition) -> Goal:
    for key, value in definition.__dict__.items():
        setattr(goal, key, value)
    goal.save()
    return goal


def goal_specs(*, project_id: int) -> tuple[GoalSpec, ...]:
    """The project's goals as the overview reads them, oldest first."""
    specs = []
    for goal in Goal.objects.filter(project_id=project_id).order_by("id"):
        filters = filters_parse(goal.filters, path="filters") if goal.kind == Goal.EVENT else ()
        specs.append(GoalSpec(goal.pk, goal.name, goal.kind, goal.path or None, goal.event or None, filters))
    return tuple(specs)
