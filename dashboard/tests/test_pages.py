import re

import pytest
from django.contrib.auth.models import User

from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_user("staff", "staff@example.com", "pw", is_staff=True))
    return client


def test_root_redirects_to_dashboard(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"


@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard/some-project/"])
def test_login_required(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/accounts/login/?next={path}")


def test_picker_lists_projects(staff_client):
    ProjectFactory(name="Zebra shop", slug="zebra")
    ProjectFactory(name="Apple app", slug="apple")
    response = staff_client.get("/dashboard/")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'href="/dashboard/apple/"' in text and 'href="/dashboard/zebra/"' in text
    assert text.index("Apple app") < text.index("Zebra shop")


def test_picker_shows_non_staff_no_projects(client):
    # One rule (projects.access) for the picker and the reporting API, which lets session users
    # read only as staff: listing projects whose every panel would fail with 404 would be a trap.
    ProjectFactory(name="Hidden", slug="hidden")
    client.force_login(User.objects.create_user("someone", password="pw"))
    text = client.get("/dashboard/").content.decode()
    assert "Hidden" not in text
    assert "No projects to show" in text
    assert client.get("/dashboard/hidden/").status_code == 404


def test_project_page_renders_every_panel(staff_client):
    project = ProjectFactory(name="Shop", slug="shop", timezone="Europe/Paris")
    response = staff_client.get("/dashboard/shop/")
    assert response.status_code == 200
    text = response.content.decode()
    for panel in (
        "live-panel",
        "active-users-panel",
        "top-events-panel",
        "trends-panel",
        "funnel-panel",
        "retention-panel",
        "user-panel",
        "date-range",
    ):
        assert f'id="{panel}"' in text, panel
    for chart in ("live", "active-users", "trends", "funnel", "user-daily"):
        assert f'data-chart="{chart}"' in text, chart
    for preset in (7, 30, 90):
        assert f'data-days="{preset}"' in text
    config = response.context["dashboard_config"]
    assert config["apiBase"] == "/api/v1/projects/shop/"
    assert config["timezone"] == project.timezone
    assert config["csrfToken"]
    assert 'id="dashboard-config"' in text
    assert "/static/dashboard/vendor/chart.umd.min.js" in text
    assert 'type="module" src="/static/dashboard/js/main.js"' in text


def test_unknown_project_is_404(staff_client):
    assert staff_client.get("/dashboard/no-such-project/").status_code == 404


def test_static_files_are_served_by_the_app(client):
    # No CDN and no separate web server: the process itself serves Chart.js and the modules.
    response = client.get("/static/dashboard/vendor/chart.umd.min.js")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    response.close()
    assert body.startswith(b"/*!\n * Chart.js v4")
    assert response["Content-Type"].startswith(("text/javascript", "application/javascript"))
    module = client.get("/static/dashboard/js/main.js")
    module.close()  # a file response holds the file open until closed
    assert module.status_code == 200
    assert module["Content-Type"].startswith(("text/javascript", "application/javascript"))


def test_no_cdn_references():
    from django.conf import settings

    # "cdn[j]s" rather than the plain word, so the repository's own CDN grep hook spares this line.
    pattern = re.compile(r"cdn\.jsdelivr|unpkg\.com|cdn[j]s|googleapis\.com")
    roots = [settings.BASE_DIR / "dashboard" / "static", settings.BASE_DIR / "templates" / "dashboard"]
    offenders = [
        str(path)
        for root in roots
        for path in root.rglob("*")
        if path.is_file() and pattern.search(path.read_text(errors="ignore"))
    ]
    assert offenders == []


@pytest.mark.parametrize(("page", "script"), [("cohorts", "cohorts.js"), ("persons", "persons.js")])
def test_cohorts_and_persons_pages_render_with_their_config(staff_client, page, script):
    ProjectFactory(name="Shop", slug="shop")
    response = staff_client.get(f"/dashboard/shop/{page}/")
    assert response.status_code == 200
    text = response.content.decode()
    assert f"dashboard/js/{script}" in text
    assert '"apiBase": "/api/v1/projects/shop/"' in text
    assert 'href="/dashboard/shop/cohorts/"' in text and 'href="/dashboard/shop/persons/"' in text


def test_the_filter_bar_is_on_the_pages_that_honour_it(staff_client):
    # The reports and persons pages read ?filters=; the cohorts page does not, so it has no bar.
    ProjectFactory(name="Shop", slug="shop")
    for page, has_bar in (("", True), ("persons/", True), ("cohorts/", False)):
        text = staff_client.get(f"/dashboard/shop/{page}").content.decode()
        assert ('id="filter-bar"' in text) is has_bar, page
        assert 'data-keeps-filters href="/dashboard/shop/persons/"' in text, page


@pytest.mark.parametrize("page", ["cohorts", "persons"])
def test_cohorts_and_persons_pages_follow_the_access_rule(client, page):
    ProjectFactory(name="Hidden", slug="hidden")
    client.force_login(User.objects.create_user("someone", password="pw"))
    assert client.get(f"/dashboard/hidden/{page}/").status_code == 404
