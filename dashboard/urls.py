from django.urls import path
from django.views.generic import RedirectView

from dashboard import views, views_keys, views_settings, views_shared

app_name = "dashboard"

urlpatterns = [
    # The site root has nothing else to show: people land on the dashboard.
    path("", RedirectView.as_view(pattern_name="dashboard:picker", permanent=False), name="root"),
    path("dashboard/", views.project_picker, name="picker"),
    path("dashboard/<slug:slug>/", views.project_page, name="project"),
    path("dashboard/<slug:slug>/web/", views.web_page, name="web"),
    path("dashboard/<slug:slug>/cohorts/", views.cohorts_page, name="cohorts"),
    path("dashboard/<slug:slug>/persons/", views.persons_page, name="persons"),
    # A project's settings, keys and members, for its admins.
    path("dashboard/<slug:slug>/settings/", views_settings.settings_page, name="settings"),
    path("dashboard/<slug:slug>/settings/save/", views_settings.settings_save, name="settings-save"),
    path("dashboard/<slug:slug>/settings/keys/", views_settings.key_create, name="settings-key-create"),
    path(
        "dashboard/<slug:slug>/settings/keys/<int:key_id>/revoke/",
        views_settings.key_revoke,
        name="settings-key-revoke",
    ),
    path(
        "dashboard/<slug:slug>/settings/members/<int:membership_id>/role/",
        views_settings.member_role,
        name="settings-member-role",
    ),
    path(
        "dashboard/<slug:slug>/settings/members/<int:membership_id>/remove/",
        views_settings.member_remove,
        name="settings-member-remove",
    ),
    path("dashboard/<slug:slug>/settings/invitations/", views_settings.invite, name="settings-invite"),
    path(
        "dashboard/<slug:slug>/settings/invitations/<int:invitation_id>/revoke/",
        views_settings.invitation_withdraw,
        name="settings-invitation-revoke",
    ),
    # A share link's public pages (no account): read-only, and framable for the embed only.
    path("shared/<str:token>/", views_shared.shared_page, name="shared"),
    path("embed/<str:token>/", views_shared.embed_page, name="embed"),
    # The signed-in person's API keys (under /accounts/ with sign-in; Django's auth URLs leave keys/ free).
    path("accounts/keys/", views_keys.keys_page, name="keys"),
    path("accounts/keys/<int:key_id>/revoke/", views_keys.key_revoke, name="key-revoke"),
]
