"""Reporting endpoints, included under /api/v1/projects/<slug>/ (no catch-all: other apps share it)."""

from django.urls import path

from reporting import (
    ingestion_api,
    views,
    views_alerts,
    views_annotations,
    views_cohorts,
    views_dashboards,
    views_engagement,
    views_insights,
    views_paths,
    views_web,
)
from reporting import views_definitions as taxonomy
from reporting import views_destinations as destinations
from reporting import views_groups as groups
from reporting.views_persons import PersonDetailView, PersonsView

urlpatterns = [
    path("active-users", views.ActiveUsersView.as_view(), name="reporting-active-users"),
    path("top-events", views.TopEventsView.as_view(), name="reporting-top-events"),
    path("trends", views.TrendsView.as_view(), name="reporting-trends"),
    path("funnels", views.FunnelsView.as_view(), name="reporting-funnels"),
    path("retention", views.RetentionView.as_view(), name="reporting-retention"),
    path("retention/cohorts", views.RetentionCohortsView.as_view(), name="reporting-retention-cohorts"),
    path("stickiness", views_engagement.StickinessView.as_view(), name="reporting-stickiness"),
    path("lifecycle", views_engagement.LifecycleView.as_view(), name="reporting-lifecycle"),
    path("paths", views_paths.PathsView.as_view(), name="reporting-paths"),
    path("live", views.LiveView.as_view(), name="reporting-live"),
    path("users", views.UsersView.as_view(), name="reporting-users"),
    path("users/<path:user_id>", views.UserDetailView.as_view(), name="reporting-user"),
    path("events", views.EventsView.as_view(), name="reporting-events"),
    path("sessions", views.SessionsView.as_view(), name="reporting-sessions"),
    path("cohorts", views_cohorts.CohortsView.as_view(), name="reporting-cohorts"),
    path("cohorts/<int:cohort_id>", views_cohorts.CohortView.as_view(), name="reporting-cohort"),
    path("cohorts/<int:cohort_id>/persons", views_cohorts.CohortPersonsView.as_view(), name="reporting-cohort-persons"),
    path("web", views_web.WebView.as_view(), name="reporting-web"),
    path("web/live", views_web.WebLiveView.as_view(), name="reporting-web-live"),
    path("goals", views_web.GoalsView.as_view(), name="reporting-goals"),
    path("goals/<int:goal_id>", views_web.GoalView.as_view(), name="reporting-goal"),
    path("persons", PersonsView.as_view(), name="reporting-persons"),
    path("persons/<path:person_id>", PersonDetailView.as_view(), name="reporting-person"),
    path("groups/types", groups.GroupTypesView.as_view(), name="reporting-group-types"),
    path("groups", groups.GroupsView.as_view(), name="reporting-groups"),
    path("groups/<str:group_type>/<path:key>", groups.GroupDetailView.as_view(), name="reporting-group"),
    path("definitions/events", taxonomy.EventDefinitionsView.as_view(), name="reporting-definitions-events"),
    path("definitions/properties", taxonomy.PropertyDefinitionsView.as_view(), name="reporting-definitions-properties"),
    path("definitions/properties/<path:key>/values", taxonomy.PropertyValuesView.as_view(), name="reporting-values"),
    path("annotations", views_annotations.AnnotationsView.as_view(), name="reporting-annotations"),
    path("annotations/<int:annotation_id>", views_annotations.AnnotationView.as_view(), name="reporting-annotation"),
    path("insights", views_insights.InsightsView.as_view(), name="reporting-insights"),
    path("insights/<int:insight_id>", views_insights.InsightView.as_view(), name="reporting-insight"),
    path(
        "insights/<int:insight_id>/results",
        views_insights.InsightResultsView.as_view(),
        name="reporting-insight-results",
    ),
    path("insights/<int:insight_id>/share", views_insights.InsightShareView.as_view(), name="reporting-insight-share"),
    path("dashboards", views_dashboards.DashboardsView.as_view(), name="reporting-dashboards"),
    path("dashboards/<int:dashboard_id>", views_dashboards.DashboardView.as_view(), name="reporting-dashboard"),
    path(
        "dashboards/<int:dashboard_id>/tiles",
        views_dashboards.DashboardTilesView.as_view(),
        name="reporting-dashboard-tiles",
    ),
    path(
        "dashboards/<int:dashboard_id>/share",
        views_dashboards.DashboardShareView.as_view(),
        name="reporting-dashboard-share",
    ),
    path("share-links", views_dashboards.ShareLinksView.as_view(), name="reporting-share-links"),
    path("share-links/<int:link_id>", views_dashboards.ShareLinkView.as_view(), name="reporting-share-link"),
    path("alerts", views_alerts.AlertsView.as_view(), name="reporting-alerts"),
    path("alerts/<int:alert_id>", views_alerts.AlertView.as_view(), name="reporting-alert"),
    path("alerts/<int:alert_id>/events", views_alerts.AlertEventsView.as_view(), name="reporting-alert-events"),
    path("subscriptions", views_alerts.SubscriptionsView.as_view(), name="reporting-subscriptions"),
    path("subscriptions/<int:subscription_id>", views_alerts.SubscriptionView.as_view(), name="reporting-subscription"),
    path("deliveries", views_alerts.DeliveriesView.as_view(), name="reporting-deliveries"),
    # The delivery ledger of ingestion (its numbers are ingestion's; the read access is reporting's).
    path("ingestion", ingestion_api.IngestionLedgerView.as_view(), name="ingestion-ledger"),
    # Event destinations (webhooks): project settings, for admins only.
    path("destinations", destinations.DestinationsView.as_view(), name="destinations"),
    path("destinations/<int:destination_id>", destinations.DestinationView.as_view(), name="destination"),
    path(
        "destinations/<int:destination_id>/batches",
        destinations.DestinationBatchesView.as_view(),
        name="destination-batches",
    ),
    path(
        "destinations/<int:destination_id>/replay",
        destinations.DestinationReplayView.as_view(),
        name="destination-replay",
    ),
]
