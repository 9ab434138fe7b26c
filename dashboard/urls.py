from django.urls import path
from django.views.generic import RedirectView

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    # The site root has nothing else to show: people land on the dashboard.
    path("", RedirectView.as_view(pattern_name="dashboard:picker", permanent=False), name="root"),
    path("dashboard/", views.project_picker, name="picker"),
    path("dashboard/<slug:slug>/", views.project_page, name="project"),
    path("dashboard/<slug:slug>/web/", views.web_page, name="web"),
    path("dashboard/<slug:slug>/cohorts/", views.cohorts_page, name="cohorts"),
    path("dashboard/<slug:slug>/persons/", views.persons_page, name="persons"),
]
