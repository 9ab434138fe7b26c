"""The Web page's server side: it renders its slots and config, and follows the access rule."""

import pytest
from django.contrib.auth.models import User

from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def test_web_page_renders_its_cards_and_config(client):
    client.force_login(User.objects.create_user("staff", "staff@example.com", "pw", is_staff=True))
    ProjectFactory(name="Shop", slug="shop")
    response = client.get("/dashboard/shop/web/")
    assert response.status_code == 200
    text = response.content.decode()
    for slot in ("date-range", "filter-bar", "web-overview-panel", "web-live-panel", "web-goals-card"):
        assert f'id="{slot}"' in text, slot
    for card in ("pages", "sources", "countries", "devices"):
        assert f'data-card="{card}"' in text, card
    for metric in ("visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration_seconds"):
        assert f'data-metric="{metric}"' in text, metric
    assert 'type="module" src="/static/dashboard/js/web.js"' in text
    # Every project page links the tab, carrying the filters along.
    assert 'data-keeps-filters href="/dashboard/shop/web/" aria-current="page"' in text
    assert 'href="/dashboard/shop/web/"' in client.get("/dashboard/shop/").content.decode()
    config = response.context["dashboard_config"]
    assert config["apiBase"] == "/api/v1/projects/shop/"
    assert config["trackerUrl"] == "http://testserver/t.js"


def test_web_page_follows_the_access_rule(client):
    ProjectFactory(name="Hidden", slug="hidden")
    assert client.get("/dashboard/hidden/web/").status_code == 302  # to the log-in page
    client.force_login(User.objects.create_user("someone", password="pw"))
    assert client.get("/dashboard/hidden/web/").status_code == 404
