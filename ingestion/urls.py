from django.urls import path

from ingestion import views

urlpatterns = [
    path("api/v1/events", views.capture, name="capture"),
]
