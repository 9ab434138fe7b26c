"""Share links: the token reads its dashboard's tiles (or its one insight) and nothing else, is
stored only as a hash, is audited, answers 410 once revoked or expired, and is no credential for
the project API."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from projects.models import AuditEntry, Project
from projects.tests.factories import editor_key_for
from reporting.models import Insight, ShareLink
from reporting.tests.conftest import FIRST_DAY

pytestmark = pytest.mark.django_db

FIXED = {"from": FIRST_DAY.isoformat(), "to": (FIRST_DAY + dt.timedelta(days=20)).isoformat()}


@pytest.fixture
def setup(dataset):
    tenant = dataset.ny
    editor = APIClient()
    editor.credentials(HTTP_AUTHORIZATION=f"Bearer {editor_key_for(tenant.project)}")
    base = f"/api/v1/projects/{tenant.project.slug}/"

    def save(name: str, kind: str, query: dict) -> int:
        body = {"name": name, "kind": kind, "query": query, "date_range": FIXED}
        response = editor.post(base + "insights", body, format="json")
        assert response.status_code == 201, response.content
        return response.json()["id"]

    shown = save("Signups", "trends", {"series": [{"event": "signup"}], "interval": "week"})
    funnel = save("Funnel", "funnels", {"steps": ["pageview", "signup"]})
    hidden = save("Not on the board", "active-users", {})
    filters = [{"type": "column", "key": "source", "operator": "exact", "value": "ios"}]
    board = editor.post(base + "dashboards", {"name": "Board", "filters": filters}, format="json").json()
    layout = {"tiles": [{"insight": funnel, "width": 12}, {"insight": shown}]}
    assert editor.patch(base + f"dashboards/{board['id']}", layout, format="json").status_code == 200
    return tenant, editor, base, board["id"], shown, funnel, hidden


def share(editor, path: str, **body) -> dict:
    response = editor.post(path, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_dashboard_link_reads_its_tiles_only(setup):
    tenant, editor, base, board, shown, funnel, hidden = setup
    created = share(editor, base + f"dashboards/{board}/share")
    token = created["token"]
    assert token.startswith("sh_") and len(token) > 40
    assert created["url"] == f"{settings.PUBLIC_URL}/shared/{token}/"
    assert created["embed_url"] == f"{settings.PUBLIC_URL}/embed/{token}/"
    assert created["embed_html"] == (
        f'<iframe src="{created["embed_url"]}" width="100%" height="600" frameborder="0"></iframe>'
    )
    assert created["expires_at"] is None
    link = ShareLink.objects.get(pk=created["id"])
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest() and token[:10] == link.token_prefix
    assert token not in str(ShareLink.objects.filter(pk=link.pk).values().first())  # only the hash is kept
    entry = AuditEntry.objects.get(action="share_link.created", details__share_link=link.pk)
    assert entry.project_id == tenant.project.pk and entry.details["type"] == "dashboard"

    anonymous = APIClient()
    shown_body = anonymous.get(f"/api/v1/shared/{token}")
    assert shown_body.status_code == 200, shown_body.content
    body = shown_body.json()
    assert body["type"] == "dashboard"
    assert body["project"] == {"name": tenant.project.name, "timezone": "America/New_York"}
    assert body["dashboard"]["name"] == "Board" and body["dashboard"]["filters"][0]["value"] == "ios"
    tiles = body["dashboard"]["tiles"]
    assert [(t["insight"]["id"], t["width"]) for t in tiles] == [(funnel, 12), (shown, 6)]
    assert set(tiles[0]["insight"]) == {"id", "name", "description", "kind", "date_range"}  # no query, no author
    assert shown_body["Cache-Control"] == "private, no-store"

    # Each tile's results: the project endpoint's with the dashboard's context, JSON and CSV.
    for insight in (shown, funnel):
        public = anonymous.get(f"/api/v1/shared/{token}/insights/{insight}/results")
        assert public.status_code == 200, public.content
        private = tenant.client().get(base + f"insights/{insight}/results", {"dashboard": board}).json()
        got = public.json()
        assert got["insight"]["id"] == insight and "query" not in got["insight"]
        assert {k: got[k] for k in ("kind", "date_from", "date_to", "result")} == {
            k: private[k] for k in ("kind", "date_from", "date_to", "result")
        }
        public_csv = anonymous.get(f"/api/v1/shared/{token}/insights/{insight}/results", {"format": "csv"})
        private_csv = tenant.client().get(base + f"insights/{insight}/results", {"dashboard": board, "format": "csv"})
        assert public_csv["Content-Type"].startswith("text/csv")
        assert public_csv.content == private_csv.content
        assert len(list(csv.reader(io.StringIO(public_csv.content.decode())))) > 1
    # The dashboard's filter (ios only) narrowed the tile.
    alone = tenant.client().get(base + f"insights/{funnel}/results").json()
    on_board = anonymous.get(f"/api/v1/shared/{token}/insights/{funnel}/results").json()
    assert on_board["result"]["results"][0]["users"] < alone["result"]["results"][0]["users"]

    # Nothing else of the project: another insight, another project's, a made-up id.
    other_project = Insight.objects.exclude(project=tenant.project).first()
    for insight in [hidden, 10**9] + ([other_project.pk] if other_project else []):
        assert anonymous.get(f"/api/v1/shared/{token}/insights/{insight}/results").status_code == 404
    # The token is no key: the project API refuses it (401), for reads and writes alike.
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    for path in (base + "insights", base + f"insights/{shown}/results", base + f"dashboards/{board}", base + "trends"):
        assert bearer.get(path).status_code == 401
    assert bearer.post(base + "insights", {"name": "x"}, format="json").status_code == 401
    other = Project.objects.exclude(pk=tenant.project.pk).values_list("slug", flat=True).first()
    assert bearer.get(f"/api/v1/projects/{other}/insights").status_code == 401


def test_insight_link_reads_that_insight_only(setup):
    tenant, editor, base, _board, shown, funnel, hidden = setup
    token = share(editor, base + f"insights/{hidden}/share")["token"]
    anonymous = APIClient()
    body = anonymous.get(f"/api/v1/shared/{token}").json()
    assert body["type"] == "insight" and body["insight"]["id"] == hidden and "dashboard" not in body
    got = anonymous.get(f"/api/v1/shared/{token}/insights/{hidden}/results").json()
    private = tenant.client().get(base + f"insights/{hidden}/results").json()
    assert got["result"] == private["result"] and got["date_from"] == private["date_from"]
    for insight in (shown, funnel):
        assert anonymous.get(f"/api/v1/shared/{token}/insights/{insight}/results").status_code == 404


def test_revoked_and_expired_links_are_410(setup):
    _tenant, editor, base, board, shown, _funnel, _hidden = setup
    anonymous = APIClient()
    created = share(editor, base + f"dashboards/{board}/share")
    token = created["token"]
    listed = editor.get(base + "share-links").json()["results"]
    mine = next(link for link in listed if link["id"] == created["id"])
    assert mine["target"] == {"type": "dashboard", "id": board, "name": "Board"}
    assert mine["active"] and mine["revoked_at"] is None and mine["token_prefix"] == token[:10]
    assert "token" not in mine

    assert editor.delete(base + f"share-links/{created['id']}").status_code == 204
    for path in (f"/api/v1/shared/{token}", f"/api/v1/shared/{token}/insights/{shown}/results"):
        gone = anonymous.get(path)
        assert gone.status_code == 410 and "revoked" in gone.json()["detail"]
    assert AuditEntry.objects.filter(action="share_link.revoked", details__share_link=created["id"]).count() == 1
    assert editor.delete(base + f"share-links/{created['id']}").status_code == 204  # again: still revoked, once
    assert AuditEntry.objects.filter(action="share_link.revoked", details__share_link=created["id"]).count() == 1
    revoked = next(link for link in editor.get(base + "share-links").json()["results"] if link["id"] == created["id"])
    assert not revoked["active"] and revoked["revoked_at"] is not None

    soon = timezone.now() + dt.timedelta(hours=1)
    expiring = share(editor, base + f"insights/{shown}/share", expires_at=soon.isoformat())
    assert dt.datetime.fromisoformat(expiring["expires_at"]) == soon
    assert anonymous.get(f"/api/v1/shared/{expiring['token']}").status_code == 200
    ShareLink.objects.filter(pk=expiring["id"]).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    gone = anonymous.get(f"/api/v1/shared/{expiring['token']}/insights/{shown}/results")
    assert gone.status_code == 410 and "expired" in gone.json()["detail"]

    assert anonymous.get("/api/v1/shared/sh_" + "x" * 43).status_code == 404
    assert anonymous.get("/api/v1/shared/not-a-token").status_code == 404
    assert editor.delete(base + "share-links/999999999").status_code == 404


@pytest.mark.parametrize(
    "expires_at", [(timezone.now() - dt.timedelta(minutes=1)).isoformat(), "tomorrow", "2020-01-01T00:00:00Z"]
)
def test_expiry_must_be_a_future_time(setup, expires_at):
    _tenant, editor, base, board, *_ = setup
    response = editor.post(base + f"dashboards/{board}/share", {"expires_at": expires_at}, format="json")
    assert response.status_code == 400 and "expires_at" in response.json()
    assert not ShareLink.objects.filter(dashboard_id=board).exists()
