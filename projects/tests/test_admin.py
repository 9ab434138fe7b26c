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
