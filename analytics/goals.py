"""Web goals: storing a definition, and reading a project's goals for the overview.

A definition is ``{"name", "kind": "pageview", "path": "/checkout/*"}`` or ``{"name", "kind":
"event", "event": "signup", "filters": [...]}``; goal filters are event and column filters (the
filter contract), which a goal's event alone answers. The API's input serializer
(``reporting/web_serializers.py`` ``GoalInput``) is where a definition is checked; the services
here take its :class:`GoalDefinition` as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from analytics.models import Goal
from analytics.query.filters import filters_parse
from analytics.query.web import GoalSpec

MAX_GOALS = 50  # each is a flag in the overview's one pass over the events
GOAL_FILTER_TYPES = ("event", "column")  # what the goal's event row alone answers


class GoalError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class GoalDefinition:
    """A checked definition, every field set (a pageview goal's event and filters empty, an
    event goal's path empty)."""

    name: str
    kind: str
    path: str
    event: str
    filters: list


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
