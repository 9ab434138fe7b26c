from django.urls import path, re_path

from ingestion import protocol_views, tracker, views

urlpatterns = [
    path("api/v1/events", views.capture, name="capture"),
    path("t.js", tracker.tracker_js, name="tracker-js"),
    # PostHog SDKs: every capture path they use, with or without the trailing slash.
    re_path(r"^(?:e|i/v0/e|batch|capture|track)/?$", protocol_views.posthog_capture, name="posthog-capture"),
    re_path(r"^i/v1/analytics/events/?$", protocol_views.posthog_capture_v1, name="posthog-capture-v1"),
    re_path(r"^(?:flags|decide)/?$", protocol_views.posthog_flags, name="posthog-flags"),
    re_path(r"^s/?$", protocol_views.posthog_ignored, name="posthog-recordings"),
    path("array/<str:token>/config.js", protocol_views.posthog_config_js, name="posthog-config-js"),
    path("array/<str:token>/config", protocol_views.posthog_config, name="posthog-config"),
    # Segment and RudderStack SDKs.
    re_path(
        r"^v1/(?P<kind>track|identify|page|screen|group|alias|batch|import|[tipsgab])/?$",
        protocol_views.segment_capture,
        name="segment-capture",
    ),
    path("v1/projects/<str:write_key>/settings", protocol_views.segment_settings, name="segment-settings"),
]
