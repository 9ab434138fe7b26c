"""The alerts, subscriptions and deliveries API: editors write, viewers read."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from reporting import alert_serializers as a
from reporting.alerts import crud
from reporting.base import ReportingAPIView
from reporting.models import Alert, Subscription

TAG = ["alerts"]


def _user_id(request: Request) -> int | None:
    # A project read key has no user, but it never writes.
    return request.user.pk if request.user is not None and request.user.is_authenticated else None


class AlertsView(ReportingAPIView):
    writes: tuple[str, ...] = ("post",)

    @extend_schema(tags=TAG, responses=a.AlertListOutput)
    def get(self, request: Request, slug: str) -> Response:
        """The project's alerts."""
        found = Alert.objects.filter(project=self.project).select_related("insight").order_by("pk")
        return Response({"results": [a.alert_out(alert) for alert in found]})

    @extend_schema(tags=TAG, request=a.AlertInput, responses={201: a.AlertOutput})
    def post(self, request: Request, slug: str) -> Response:
        """Watch a saved insight; the answer holds the webhook secret, never shown again."""
        p = self.validated(a.AlertInput, request.data)
        alert, secret = crud.alert_create(project=self.project, fields=p, user_id=_user_id(request))
        return Response(a.alert_out(alert, secret=secret), status=status.HTTP_201_CREATED)


class _OneAlert(ReportingAPIView):
    def _alert(self, alert_id: int) -> Alert:
        alert = Alert.objects.filter(project=self.project, pk=alert_id).select_related("insight").first()
        if alert is None:
            raise Http404("No such alert in this project.")
        return alert


class AlertView(_OneAlert):
    writes: tuple[str, ...] = ("patch", "delete")

    @extend_schema(tags=TAG, responses=a.AlertOutput)
    def get(self, request: Request, slug: str, alert_id: int) -> Response:
        """One alert (its webhook secret is not shown: it was, once, when made)."""
        return Response(a.alert_out(self._alert(alert_id)))

    @extend_schema(tags=TAG, request=a.AlertInput, responses=a.AlertOutput)
    def patch(self, request: Request, slug: str, alert_id: int) -> Response:
        """Change an alert; ``rotate_secret: true`` makes a new webhook secret, shown in this answer."""
        alert = self._alert(alert_id)
        changes = self.validated(a.AlertInput, request.data, partial=True, alert=alert)
        alert, secret = crud.alert_update(alert=alert, changes=changes)
        return Response(a.alert_out(alert, secret=secret))

    @extend_schema(tags=TAG, responses={204: None})
    def delete(self, request: Request, slug: str, alert_id: int) -> Response:
        """Delete an alert, its history and its deliveries."""
        self._alert(alert_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class AlertEventsView(_OneAlert):
    @extend_schema(tags=TAG, responses=a.AlertEventListOutput)
    def get(self, request: Request, slug: str, alert_id: int) -> Response:
        """The alert's history: what fired and resolved, by interval."""
        events = self._alert(alert_id).events.order_by("-interval_start")[:500]
        return Response({"results": [a.alert_event_out(event) for event in events]})


def _subscription_out(subscription: Subscription) -> dict[str, Any]:
    return a.subscription_out(subscription, crud.subscription_next_send(subscription))


class SubscriptionsView(ReportingAPIView):
    writes: tuple[str, ...] = ("post",)

    @extend_schema(tags=TAG, responses=a.SubscriptionListOutput)
    def get(self, request: Request, slug: str) -> Response:
        """The project's email subscriptions."""
        found = Subscription.objects.filter(project=self.project).select_related("project").order_by("pk")
        return Response({"results": [_subscription_out(s) for s in found]})

    @extend_schema(tags=TAG, request=a.SubscriptionInput, responses={201: a.SubscriptionOutput})
    def post(self, request: Request, slug: str) -> Response:
        """Email a dashboard or an insight daily, weekly or monthly at a local time."""
        p = self.validated(a.SubscriptionInput, request.data)
        made = crud.subscription_create(project=self.project, fields=p, user_id=_user_id(request))
        return Response(_subscription_out(made), status=status.HTTP_201_CREATED)


class SubscriptionView(ReportingAPIView):
    writes: tuple[str, ...] = ("patch", "delete")

    def _subscription(self, subscription_id: int) -> Subscription:
        found = Subscription.objects.filter(project=self.project, pk=subscription_id).select_related("project").first()
        if found is None:
            raise Http404("No such subscription in this project.")
        return found

    @extend_schema(tags=TAG, responses=a.SubscriptionOutput)
    def get(self, request: Request, slug: str, subscription_id: int) -> Response:
        """One subscription."""
        return Response(_subscription_out(self._subscription(subscription_id)))

    @extend_schema(tags=TAG, request=a.SubscriptionInput, responses=a.SubscriptionOutput)
    def patch(self, request: Request, slug: str, subscription_id: int) -> Response:
        """Change a subscription."""
        found = self._subscription(subscription_id)
        changes = self.validated(a.SubscriptionInput, request.data, partial=True, subscription=found)
        return Response(_subscription_out(crud.subscription_update(subscription=found, changes=changes)))

    @extend_schema(tags=TAG, responses={204: None})
    def delete(self, request: Request, slug: str, subscription_id: int) -> Response:
        """Delete a subscription and its delivery records."""
        self._subscription(subscription_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveriesView(ReportingAPIView):
    @extend_schema(tags=TAG, parameters=[a.DeliveryQuery], responses=a.DeliveryListOutput)
    def get(self, request: Request, slug: str) -> Response:
        """The delivery log: each notification, its attempts and its last error."""
        p = self.validated(a.DeliveryQuery, request.query_params)
        found = crud.deliveries_of(
            project=self.project, alert=p.get("alert"), subscription=p.get("subscription"), status=p.get("status")
        )
        return Response({"results": [a.delivery_out(d) for d in found[: p["limit"]]]})
