"""The permission matrix's world (test_permission_matrix.py): two projects with data, every kind
of principal with its credentials, and one of each thing the endpoints read and write; built once
per module and removed again."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction

from analytics.models import Annotation, Goal
from analytics.rollups import derived_rows_delete, rollups_process_dirty
from analytics.tests.factories import RawEvent, events_delete, events_insert, touched_days
from events.dirty import rollups_mark_dirty
from events.duck import duckdb_reset
from ingestion.models import Destination
from persons.groups import GroupOp, group_columns, groups_apply
from persons.models import Cohort, Group, GroupTypeMapping, Person, PersonDistinctId
from projects.models import ApiKeyScope, AuditEntry, PersonalKeyScope, Project, ProjectMembership, ProjectRole
from projects.personal_keys import personal_key_create, personal_key_revoke
from projects.services import api_key_create
from reporting.insights.sharing import share_link_create
from reporting.models import Alert, Dashboard, DashboardTile, Insight, Subscription

TODAY = dt.datetime.now(dt.UTC).date()  # the project's time zone is UTC
TRENDS_QUERY = {"series": [{"event": "signup"}], "interval": "day"}
PASSWORD = "pw-123456-long"
ACTOR = "matrix-test"  # the audit entries of the keys made here, removed with the rest


@dataclass
class World:
    project: Project
    other: Project
    cohort_id: int
    goal_id: int
    annotation_id: int
    destination_id: int
    insight_id: int
    dashboard_id: int
    alert_id: int
    subscription_id: int
    keys: dict[str, str]  # principal -> raw bearer key (or share token)


@contextlib.contextmanager
def world_built(django_db_blocker: Any) -> Iterator[World]:
    """One small project with a few events, a cohort, a goal and a group; another project; the
    accounts and keys of every principal. Committed (funnels and paths read through DuckDB, which
    sees committed rows only), and removed when the module ends."""
    users = get_user_model().objects
    with django_db_blocker.unblock():
        project = Project.objects.create(name="Matrix", slug="matrix")
        other = Project.objects.create(name="Elsewhere", slug="elsewhere")
        now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)
        events = [
            RawEvent(project.pk, name, user, now - dt.timedelta(days=day, minutes=n), session_id=f"s-{user}-{day}",
                     properties={"plan": "pro", "$pathname": "/pricing"}, web={"pathname": "/pricing"})
            for day in (0, 1)
            for user in ("u-1", "u-2")
            for n, name in enumerate(("$pageview", "signup"))
        ]  # fmt: skip
        events_insert(events)
        rollups_mark_dirty(touched=touched_days(events))
        rollups_process_dirty()
        cohort = Cohort.objects.create(project_id=project.pk, name="all", kind=Cohort.STATIC)
        goal = Goal.objects.create(project=project, name="pricing", kind=Goal.PAGEVIEW, path="/pricing")
        annotation = Annotation.objects.create(project=project, date=now.date(), text="launch")
        destination = Destination.objects.create(project=project, name="hook", url="https://example.com/h", secret="s")
        insight = Insight.objects.create(
            project=project, name="signups", kind="trends", query=TRENDS_QUERY, date_range={"last_days": 7}
        )
        dashboard = Dashboard.objects.create(project=project, name="main")
        DashboardTile.objects.create(dashboard=dashboard, insight=insight, position=0)
        share = share_link_create(project=project, dashboard=dashboard, user_id=None, actor=ACTOR)
        alert = _alert(project, insight)
        subscription = _subscription(project, insight)
        with transaction.atomic():
            with connection.cursor() as cur:
                group_columns(cur, {project.pk: [{"company": "acme"}]})
            groups_apply(ops=[GroupOp(project.pk, str(uuid.uuid4()), 1, "company", "acme", {"name": "Acme"})], now=now)

        accounts = {}
        for name, role in (
            ("viewer", ProjectRole.VIEWER),
            ("editor", ProjectRole.EDITOR),
            ("admin", ProjectRole.ADMIN),
        ):
            accounts[name] = users.create_user(f"matrix-{name}", password=PASSWORD)
            ProjectMembership.objects.create(project=project, user=accounts[name], role=role)
        accounts["staff"] = users.create_user("matrix-staff", password=PASSWORD, is_staff=True)
        accounts["other member"] = users.create_user("matrix-other", password=PASSWORD)
        ProjectMembership.objects.create(project=other, user=accounts["other member"], role=ProjectRole.ADMIN)
        revoked = personal_key_create(user=accounts["viewer"], name="revoked", actor=ACTOR)
        personal_key_revoke(key=revoked.key, actor=ACTOR)
        keys = {
            "read key": api_key_create(project=project, scope=ApiKeyScope.READ).raw,
            "ingest key": api_key_create(project=project, scope=ApiKeyScope.INGEST).raw,
            "personal key": personal_key_create(user=accounts["viewer"], name="matrix", actor=ACTOR).raw,
            "editor's read personal key": personal_key_create(user=accounts["editor"], name="r", actor=ACTOR).raw,
            "editor's write personal key": personal_key_create(
                user=accounts["editor"], name="w", scope=PersonalKeyScope.WRITE, actor=ACTOR
            ).raw,
            "viewer's write personal key": personal_key_create(
                user=accounts["viewer"], name="w", scope=PersonalKeyScope.WRITE, actor=ACTOR
            ).raw,
            "revoked personal key": revoked.raw,
            "other read key": api_key_create(project=other, scope=ApiKeyScope.READ).raw,
            "other personal key": personal_key_create(user=accounts["other member"], name="o", actor=ACTOR).raw,
            # A share link's token reads its dashboard through /api/v1/shared/ only: no credential here.
            "share token": share.token,
        }
        try:
            yield World(
                project=project,
                other=other,
                cohort_id=cohort.pk,
                goal_id=goal.pk,
                annotation_id=annotation.pk,
                destination_id=destination.pk,
                insight_id=insight.pk,
                dashboard_id=dashboard.pk,
                alert_id=alert.pk,
                subscription_id=subscription.pk,
                keys=keys,
            )
        finally:
            duckdb_reset()
            ids = [project.pk, other.pk]
            events_delete(ids)
            derived_rows_delete(project_ids=ids)
            for model in (Cohort, Group, GroupTypeMapping, Person, PersonDistinctId):
                model.objects.filter(project_id__in=ids).delete()
            Project.objects.filter(pk__in=ids).delete()
            users.filter(username__startswith="matrix-").delete()
            AuditEntry.objects.filter(actor=ACTOR).delete()


def _alert(project: Project, insight: Insight) -> Alert:
    return Alert.objects.create(
        project=project, insight=insight, name="mine", condition="above", threshold=1, emails=["a@example.com"]
    )


def _subscription(project: Project, insight: Insight) -> Subscription:
    return Subscription.objects.create(
        project=project, insight=insight, name="mine", emails=["a@example.com"], frequency="daily", time=dt.time(9)
    )
