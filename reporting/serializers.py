"""Input validation of the reporting API (the output shapes are in reporting/outputs.py).

Input serializers get the project in their context (its timezone decides "today" and which
events and properties exist). Every error is keyed by the parameter's name, so a 400 says which
parameter was wrong. Range limits keep each query's cost bounded: rollup reads are cheap per day,
raw-event reads (breakdowns, funnels, sessions, hourly users, export) are not.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from rest_framework import serializers

from analytics.query.filters import COLUMN_KEYS, FilterError, filters_parse
from analytics.query.formula import FormulaError, formula_parse
from analytics.query.funnels import FunnelStepSpec
from analytics.query.retention import RetentionEvents
from analytics.query.series import BREAKDOWN_LIMIT, BREAKDOWN_TYPES, MEASURES, PROPERTY_MATHS, Breakdown
from analytics.query.trends import SeriesSpec
from core import days as daysmod
from projects.models import Project
from reporting.cursors import decode_cursor, export_cursor_decode
from reporting.queries.common import event_is_known, property_is_known, unknown_events
from reporting.queries.export import ExportCursor
from reporting.query_fields import (
    BreakdownInput,
    FiltersField,
    GroupTypeField,
    breakdown_of,
    cohort_check,
    group_index_check,
)

DATE_FORMATS = ["%Y-%m-%d"]
MAX_ROLLUP_DAYS = 731
MAX_RAW_DAYS = 92
MAX_HOURLY_DAYS = 31
DEFAULT_DAYS = 30


# Dates outside eventbase's calendar would make the range and window arithmetic leave what
# Python's datetime holds (9999-12-31 plus a day); no event can be there anyway.
CALENDAR_VALIDATORS = [
    MinValueValidator(daysmod.EARLIEST_DAY, message=f"must be on or after {daysmod.EARLIEST_DAY.isoformat()}."),
    MaxValueValidator(daysmod.LATEST_DAY, message=f"must be on or before {daysmod.LATEST_DAY.isoformat()}."),
]


def _date_field(**kwargs: Any) -> serializers.DateField:
    return serializers.DateField(input_formats=DATE_FORMATS, validators=CALENDAR_VALIDATORS, **kwargs)


class _RangeInput(serializers.Serializer):
    """``from`` and ``to``: inclusive local dates; default the last 30 days up to today."""

    max_days = MAX_ROLLUP_DAYS

    def get_fields(self) -> dict:
        fields = super().get_fields()
        # "from" is a Python keyword, so the field is added under its wire name here.
        fields["from"] = _date_field(required=False, help_text="First day (YYYY-MM-DD), inclusive.")
        fields["to"] = _date_field(required=False, help_text="Last day (YYYY-MM-DD), inclusive.")
        return fields

    def _today(self) -> dt.date:
        return daysmod.local_date(timezone.now(), daysmod.zone(self.context["project"].timezone))

    def _max_days(self, attrs: dict) -> int:
        # A filter makes the question read events, not rollups: the raw-event limit applies.
        return min(self.max_days, MAX_RAW_DAYS) if attrs.get("filters") else self.max_days

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        date_to = attrs.pop("to", None) or self._today()
        date_from = attrs.pop("from", None) or date_to - dt.timedelta(days=DEFAULT_DAYS - 1)
        if date_from > date_to:
            raise serializers.ValidationError({"from": f"must not be after to ({date_to.isoformat()})."})
        limit = self._max_days(attrs)
        if (date_to - date_from).days + 1 > limit:
            raise serializers.ValidationError({"to": f"the range from..to must be at most {limit} days."})
        attrs["date_from"], attrs["date_to"] = date_from, date_to
        return attrs


def _check_event(project: Project, event: str, field: str = "event") -> None:
    if not event_is_known(project=project, event=event):
        raise serializers.ValidationError({field: f"unknown event {event!r} in this project."})


class ActiveUsersInput(_RangeInput):
    interval = serializers.ChoiceField(choices=["day", "week", "month"], default="day")
    filters = FiltersField()


class TopEventsInput(_RangeInput):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=10)
    filters = FiltersField()


class TrendsInput(_RangeInput):
    event = serializers.CharField(max_length=200)
    interval = serializers.ChoiceField(choices=["hour", "day", "week", "month"], default="day")
    math = serializers.ChoiceField(choices=["total", "users"], default="total")
    breakdown = serializers.CharField(
        max_length=200, required=False, help_text="A top-level property key (or a column, see breakdown_type)."
    )
    breakdown_type = serializers.ChoiceField(choices=list(BREAKDOWN_TYPES), default="event")
    breakdown_limit = serializers.IntegerField(min_value=1, max_value=100, default=BREAKDOWN_LIMIT)
    filters = FiltersField(groups=True)
    aggregation_group_type = GroupTypeField()

    def _max_days(self, attrs: dict) -> int:
        if attrs.get("interval") == "hour":
            return MAX_HOURLY_DAYS
        raw = attrs.get("breakdown") or attrs.get("filters") or attrs.get("aggregation_group_type") is not None
        return MAX_RAW_DAYS if raw else MAX_ROLLUP_DAYS

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        project = self.context["project"]
        _check_event(project, attrs["event"])
        key = attrs.get("breakdown")
        if key and attrs["breakdown_type"] == "column" and key not in COLUMN_KEYS:
            raise serializers.ValidationError(
                {"breakdown": f"unknown column {key!r}; use one of {', '.join(COLUMN_KEYS)}."}
            )
        # Person properties have no per-event statistics to check a key against.
        if (
            key
            and attrs["breakdown_type"] == "event"
            and not property_is_known(project=project, event=attrs["event"], key=key)
        ):
            raise serializers.ValidationError({"breakdown": f"unknown property {key!r} for event {attrs['event']!r}."})
        attrs["group_index"] = attrs.pop("aggregation_group_type", None)
        return attrs


class SeriesInput(serializers.Serializer):
    name = serializers.RegexField(r"^[A-Z]$", required=False, help_text="A letter the formula names it by.")
    event = serializers.CharField(max_length=200)
    math = serializers.ChoiceField(choices=list(MEASURES), default="total")
    math_property = serializers.CharField(max_length=200, required=False, help_text="For sum, avg, min, max, …")
    filters = FiltersField(groups=True)

    def validate(self, attrs: dict) -> dict:
        if attrs["math"] in PROPERTY_MATHS and not attrs.get("math_property"):
            raise serializers.ValidationError({"math_property": f"math {attrs['math']!r} needs a math_property."})
        return attrs


class TrendsQueryInput(_RangeInput):
    """``POST trends``: several series, a formula over them, a breakdown, the previous period."""

    max_days = MAX_RAW_DAYS
    series = SeriesInput(many=True, min_length=1, max_length=10)
    formula = serializers.CharField(max_length=200, required=False)
    interval = serializers.ChoiceField(choices=["hour", "day", "week", "month"], default="day")
    filters = FiltersField(groups=True)
    breakdown = BreakdownInput(required=False)
    breakdown_limit = serializers.IntegerField(min_value=1, max_value=100, default=BREAKDOWN_LIMIT)
    compare = serializers.BooleanField(default=False)
    aggregation_group_type = GroupTypeField()

    def _max_days(self, attrs: dict) -> int:
        return MAX_HOURLY_DAYS if attrs.get("interval") == "hour" else self.max_days

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        names = [item.get("name") or chr(ord("A") + i) for i, item in enumerate(attrs["series"])]
        if len(set(names)) != len(names):
            raise serializers.ValidationError({"series": "series names must be distinct."})
        unknown = unknown_events(project=self.context["project"], events=[item["event"] for item in attrs["series"]])
        if unknown:
            raise serializers.ValidationError({"series": f"unknown event(s) in this project: {', '.join(unknown)}."})
        attrs["series"] = [
            SeriesSpec(name, item["event"], item["math"], item.get("math_property"), item["filters"])
            for name, item in zip(names, attrs["series"], strict=True)
        ]
        if attrs.get("formula"):
            try:
                attrs["formula"] = (attrs["formula"], formula_parse(attrs["formula"], names=set(names)))
            except FormulaError as exc:
                raise serializers.ValidationError({"formula": str(exc)}) from None
        else:
            attrs["formula"] = None
        attrs["breakdown"] = breakdown_of(attrs.pop("breakdown", None), attrs.pop("breakdown_limit"))
        attrs["group_index"] = group_index_check(attrs, attrs["breakdown"])
        return attrs


class FunnelStepField(serializers.Field):
    """A step: an event name, or ``{"event": name, "filters": [...]}`` (filters on that step only)."""

    def to_internal_value(self, data: Any) -> FunnelStepSpec:
        if isinstance(data, str):
            data = {"event": data}
        if not isinstance(data, dict) or not isinstance(data.get("event"), str) or not data["event"]:
            raise serializers.ValidationError('a step is an event name or {"event": name, "filters": [...]}.')
        if len(data["event"]) > 200:
            raise serializers.ValidationError("an event name has at most 200 characters.")
        if "\x00" in data["event"]:
            raise serializers.ValidationError("an event name cannot contain the NUL character.")
        extra = set(data) - {"event", "filters"}
        if extra:
            raise serializers.ValidationError(f"unknown key(s) {sorted(extra)}; a step has event and filters.")
        try:
            filters = filters_parse(data.get("filters"), path="filters", cohort_exists=cohort_check(self))
        except FilterError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return FunnelStepSpec(data["event"], filters)

    def to_representation(self, value: Any) -> Any:
        return value


class FunnelInput(_RangeInput):
    max_days = MAX_RAW_DAYS
    steps = serializers.ListField(
        child=FunnelStepField(),
        min_length=2,
        max_length=10,
        help_text='Event names, in order; a step may be {"event": name, "filters": [...]}.',
    )
    window_hours = serializers.IntegerField(min_value=1, max_value=24 * 90, default=24)
    filters = FiltersField(groups=True)
    breakdown = BreakdownInput(required=False, help_text="Of the step-1 event that starts each path.")
    breakdown_limit = serializers.IntegerField(min_value=1, max_value=100, default=BREAKDOWN_LIMIT)
    aggregation_group_type = GroupTypeField(help_text="A group type: the group moves through the steps.")

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        attrs["breakdown"] = breakdown_of(attrs.pop("breakdown", None), attrs.pop("breakdown_limit"))
        attrs["group_index"] = group_index_check(attrs, attrs["breakdown"])
        return attrs

    def validate_steps(self, steps: list[FunnelStepSpec]) -> list[FunnelStepSpec]:
        # A name may repeat (pageview -> pageview): the query layer then matches distinct events.
        names = list(dict.fromkeys(step.event for step in steps))
        unknown = unknown_events(project=self.context["project"], events=names)
        if unknown:
            raise serializers.ValidationError(f"unknown event(s) in this project: {', '.join(unknown)}.")
        return steps


class _RetentionEventsInput(serializers.Serializer):
    """What starts a cohort and what counts as a return (any event by default), each with filters."""

    filters = FiltersField(groups=True)
    start_event = serializers.CharField(max_length=200, required=False)
    start_filters = FiltersField(groups=True, help_text="Filters on the start event only (a JSON list).")
    return_event = serializers.CharField(max_length=200, required=False)
    return_filters = FiltersField(groups=True, help_text="Filters on the return event only (a JSON list).")

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        for field in ("start_event", "return_event"):
            if attrs.get(field):
                _check_event(self.context["project"], attrs[field], field)
        attrs["spec"] = RetentionEvents(
            start_event=attrs.pop("start_event", None),
            start_filters=attrs.pop("start_filters"),
            return_event=attrs.pop("return_event", None),
            return_filters=attrs.pop("return_filters"),
        )
        return attrs


class RetentionInput(_RetentionEventsInput):
    start_date = _date_field()
    windows = serializers.IntegerField(min_value=1, max_value=104, default=3)
    period = serializers.ChoiceField(choices=["day", "week"], default="week")
    breakdown = serializers.CharField(
        max_length=200,
        required=False,
        help_text="Of the first start event; with breakdown_type=cohort, cohort ids: 1,2.",
    )
    breakdown_type = serializers.ChoiceField(choices=[*BREAKDOWN_TYPES, "cohort"], default="event")
    breakdown_limit = serializers.IntegerField(min_value=1, max_value=100, default=BREAKDOWN_LIMIT)
    aggregation_group_type = GroupTypeField(help_text="A group type: the retention of its groups.")

    def validate(self, attrs: dict) -> dict:
        if attrs["period"] == "day" and attrs["windows"] > 90:
            raise serializers.ValidationError({"windows": "at most 90 daily windows."})
        key, kind, limit = attrs.pop("breakdown", None), attrs.pop("breakdown_type"), attrs.pop("breakdown_limit")
        if key and kind == "column" and key not in COLUMN_KEYS:
            raise serializers.ValidationError(
                {"breakdown": f"unknown column {key!r}; use one of {', '.join(COLUMN_KEYS)}."}
            )
        if key and kind == "cohort":
            attrs["breakdown"] = Breakdown(kind, "", limit, self._cohort_ids(key))
        else:
            attrs["breakdown"] = Breakdown(kind, key, limit) if key else None
        attrs["group_index"] = group_index_check(attrs, attrs["breakdown"])
        return super().validate(attrs)

    def _cohort_ids(self, text: str) -> tuple[int, ...]:
        parts = [part.strip() for part in text.split(",")]
        if not all(part.isdigit() for part in parts) or len(parts) > 20:
            raise serializers.ValidationError({"breakdown": "with breakdown_type=cohort, up to 20 cohort ids: 1,2."})
        ids = tuple(dict.fromkeys(int(part) for part in parts))
        known = cohort_check(self)
        unknown = [cohort_id for cohort_id in ids if known is None or not known(cohort_id)]
        if unknown:
            raise serializers.ValidationError({"breakdown": f"unknown cohort(s) {unknown}."})
        return ids


class RetentionCohortsInput(_RetentionEventsInput, _RangeInput):
    max_days = 366
    period = serializers.ChoiceField(choices=["day", "week"], default="week")

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        if attrs["period"] == "day" and (attrs["date_to"] - attrs["date_from"]).days >= 92:
            raise serializers.ValidationError({"to": "a daily cohort table spans at most 92 days."})
        return attrs


class UserDetailInput(serializers.Serializer):
    """The user id from the path: any text capture could have stored (so never a NUL)."""

    user_id = serializers.CharField(trim_whitespace=False)


class UsersInput(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)
    cursor = serializers.CharField(required=False, max_length=200)
    filters = FiltersField()

    def validate_cursor(self, raw: str) -> int:
        value = decode_cursor(raw)
        if not value.isdigit():
            raise serializers.ValidationError("malformed cursor.")
        return int(value)


class EventsInput(_RangeInput):
    max_days = MAX_RAW_DAYS
    event = serializers.CharField(max_length=200, required=False)
    # "format" is also DRF's renderer override; the view's negotiation ignores it (see views.py).
    format = serializers.ChoiceField(choices=["json", "csv", "ndjson"], default="json")
    limit = serializers.IntegerField(min_value=1, max_value=10_000, default=1000, help_text="json only.")
    cursor = serializers.CharField(required=False, max_length=300, help_text="json only.")
    filters = FiltersField()

    def validate_cursor(self, raw: str) -> ExportCursor:
        return export_cursor_decode(raw)

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        if attrs.get("event"):
            _check_event(self.context["project"], attrs["event"])
        return attrs


class LiveInput(serializers.Serializer):
    filters = FiltersField()


class SessionsInput(_RangeInput):
    max_days = MAX_RAW_DAYS
    filters = FiltersField()
