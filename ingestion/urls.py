from django.urls import path

from ingestion import api, views

urlpatterns = [
    path("api/v1/events", views.capture, name="capture"),
    path("api/v1/projects/<slug:slug>/ingestion", api.IngestionLedgerView.as_view(), name="ingestion-ledger"),
]
