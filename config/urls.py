from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.health import health
from monitoring.metrics import metrics_view
from monitoring.views import system_health
from projects.views import invitation_page

urlpatterns = [
    path("health", health, name="health"),
    path("", include("ingestion.urls")),
    path("admin/rq/", include("django_rq.urls")),
    # Before admin/ so the admin's catch-all does not answer it; admin_view: staff only.
    path("admin/system-health/", admin.site.admin_view(system_health), name="system-health"),
    path("admin/", admin.site.urls),
    # Sign-in, sign-out and password reset by email (Django's views; the login form is ours).
    # Sign-up is by invitation only (projects/invitations.py).
    path("accounts/invite/<str:token>/", invitation_page, name="invitation"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/projects/<slug:slug>/", include("reporting.urls")),
    # Share links: the token is the credential and names the project (no slug, no session).
    path("api/v1/shared/", include("reporting.urls_shared")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file (?script=), not inline: the
    # Content-Security-Policy refuses inline scripts (config/csp.py).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("dashboard.urls")),
    # Our view rather than django_prometheus.urls: it merges gunicorn's worker processes
    # (multiprocess mode) and adds the pipeline metrics computed at scrape time.
    path("metrics", metrics_view, name="prometheus-django-metrics"),
]
