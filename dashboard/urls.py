from django.urls import path
from django.views.generic import RedirectView

from dashboard import views, views_keys, views_shared

app_name = "dashboard"

urlpatterns = [
    # The site root has nothing else to show: people land on the dashboard.
    path("", RedirectView.as_view(pattern_name="dashboard:picker", permanent=False), name="root"),
    path("dashboard/", views.project_picker, name="picker"),
    path("dashboard/<slug:slug>/", views.project_page, name="project"),
    path("dashboard/<slug:slug>/web/", views.web_page, name="web"),
    path("dashboard/<slug:slug>/cohorts/", views.cohorts_page, name="cohorts"),
    path("dashboard/<slug:slug>/persons/", views.persons_page, name="persons"),
    # A share link's public pages (no account): read-only, and framable for the embed only.
    path("shared/<str:token>/", views_shared.shared_page, name="shared"),
    path("embed/<str:token>/", views_shared.embed_page, name="embed"),
    # The signed-in person's API keys (under /accounts/ with sign-in; Django's auth URLs leave keys/ free).
    path("accounts/keys/", views_keys.keys_page, name="keys"),
    path("accounts/keys/<int:key_id>/revoke/", views_keys.key_revoke, name="key-revoke"),
]
