"""The public share-link API, included under /api/v1/shared/ (no project slug: the token names it)."""

from django.urls import path

from reporting import views_shared

urlpatterns = [
    path("<str:token>", views_shared.SharedView.as_view(), name="shared"),
    path(
        "<str:token>/insights/<int:insight_id>/results", views_shared.SharedResultsView.as_view(), name="shared-results"
    ),
]
