"""Who may read a project: the ONE place that resolves the project of a reporting request.

A request is for the project named by the URL slug and is allowed when it carries that project's
``read`` key (``Authorization: Bearer sk_...``) or comes from a logged-in staff user. A valid key
of another project gets 404 (it must not learn which slugs exist), an ingest key of this project
gets 403 (it is public, shipped in browsers, and must not read data).
"""

from __future__ import annotations

import time

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, parsers
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.http import bearer_token
from projects.models import ApiKeyScope, Project
from projects.selectors import KeyLookup, api_key_lookup, project_get_by_slug
from projects.services import api_key_mark_used
from reporting.metrics import REPORT_QUERY_SECONDS
from reporting.queries.common import complete_until_get


class BearerKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer <key>``; the user is None, the key's grant is ``request.auth``."""

    def authenticate(self, request: Request) -> tuple[None, KeyLookup] | None:
        raw = bearer_token(get_authorization_header(request).decode("latin-1"))
        if raw is None:
            return None
        lookup = api_key_lookup(raw_key=raw)
        if lookup is None or lookup.revoked:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        api_key_mark_used(key_id=lookup.key_id)
        return None, lookup

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="eventbase"'


class BearerKeyScheme(OpenApiAuthenticationExtension):
    """How /api/schema/ documents the read key (drf-spectacular finds it by ``target_class``)."""

    target_class = BearerKeyAuthentication
    name = "readKey"

    def get_security_definition(self, auto_schema) -> dict:
        return {"type": "http", "scheme": "bearer", "description": "The project's read key (sk_...)."}


class ProjectReadAccess(BasePermission):
    """Resolves ``view.project`` from the slug and the credentials, or raises 401/403/404."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        slug = view.kwargs["slug"]
        grant = request.auth
        if isinstance(grant, KeyLookup):
            # The key already names its project: no lookup by slug, and no oracle for slugs.
            if grant.project.slug != slug:
                raise exceptions.NotFound()
            if grant.scope != ApiKeyScope.READ:
                raise exceptions.PermissionDenied("This key can only ingest; use the project's read key.")
            view.project = grant.project
            return True
        user = request.user
        if user is None or not user.is_authenticated:
            raise exceptions.NotAuthenticated()
        project = project_get_by_slug(slug=slug)
        if project is None or not (user.is_staff or user.is_superuser):
            raise exceptions.NotFound()
        view.project = project
        return True


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a body nested too deeply for the standard library a 400 too."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - the body is nested too deeply.") from None


class JSONOnlyNegotiation(BaseContentNegotiation):
    """Always JSON: ``?format=`` belongs to the export endpoint, not to DRF's renderer override."""

    def select_parser(self, request, parsers):
        return DefaultContentNegotiation().select_parser(request, parsers)

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ProjectAPIView(APIView):
    """Base of every reporting endpoint: authentication, tenant scoping, ``complete_until``."""

    authentication_classes = [BearerKeyAuthentication, SessionAuthentication]
    permission_classes = [ProjectReadAccess]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser, parsers.FormParser, parsers.MultiPartParser]
    content_negotiation_class = JSONOnlyNegotiation
    project: Project

    def dispatch(self, request, *args, **kwargs):
        # Timed here, around authentication, the query and serialisation: what a client waits for.
        started = time.perf_counter()
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            match = getattr(request, "resolver_match", None)
            endpoint = (match.url_name if match else None) or type(self).__name__
            REPORT_QUERY_SECONDS.labels(endpoint=endpoint).observe(time.perf_counter() - started)

    def validated(self, serializer_class, data) -> dict:
        serializer = serializer_class(data=data, context={"project": self.project})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def answer(self, output_class, payload: dict) -> Response:
        return Response(output_class({**payload, "complete_until": complete_until_get()}).data)
