import pytest
from django.contrib.auth.models import User

from projects.models import ApiKey
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser("admin", "admin@example.com", "pw")
    client.force_login(user)
    return client


def test_admin_action_creates_key_and_shows_it_once(admin_client):
    project = ProjectFactory()
    response = admin_client.post(
        "/admin/projects/project/",
        {"action": "create_read_key", "_selected_action": [project.pk]},
        follow=True,
    )
    assert response.status_code == 200
    key = ApiKey.objects.get(project=project, scope="read")
    text = response.content.decode()
    assert "will not be shown again" in text
    assert key.prefix in text


def test_admin_revoke_action(admin_client):
    project = ProjectFactory()
    admin_client.post("/admin/projects/project/", {"action": "create_ingest_key", "_selected_action": [project.pk]})
    key = ApiKey.objects.get(project=project)
    admin_client.post("/admin/projects/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_project_admin_pages_render(admin_client):
    project = ProjectFactory()
    assert admin_client.get(f"/admin/projects/project/{project.pk}/change/").status_code == 200
    assert admin_client.get("/admin/projects/apikey/").status_code == 200


def test_admin_adds_a_personal_key_shows_it_once_and_revokes_it(admin_client):
    from projects.models import AuditAction, AuditEntry, PersonalApiKey
    from projects.services import hash_key

    project = ProjectFactory()
    someone = User.objects.create_user("someone", password="pw-123456-long")
    response = admin_client.post(
        "/admin/projects/personalapikey/add/",
        {"user": someone.pk, "name": "reports", "scope": "read", "projects": [project.pk]},
        follow=True,
    )
    assert response.status_code == 200
    key = PersonalApiKey.objects.get()
    text = response.content.decode()
    assert "will not be shown again" in text
    raw = text[text.index(key.prefix) :].split()[0]
    assert key.user == someone and key.key_hash == hash_key(raw) and list(key.projects.all()) == [project]
    audited = AuditEntry.objects.get(action=AuditAction.PERSONAL_KEY_CREATED, details__prefix=key.prefix)
    assert audited.actor == "admin:admin"
    # Read-only afterwards: no edit, no delete; revoked by the action.
    page = admin_client.get(f"/admin/projects/personalapikey/{key.pk}/change/")
    assert page.status_code == 200 and 'name="name"' not in page.content.decode()
    assert admin_client.get("/admin/projects/personalapikey/").status_code == 200
    admin_client.post("/admin/projects/personalapikey/", {"action": "revoke", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert AuditEntry.objects.filter(action=AuditAction.PERSONAL_KEY_REVOKED, details__prefix=key.prefix).count() == 1
