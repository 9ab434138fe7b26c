"""Server side of the dashboard: the project picker and each project's pages (reports, web,
cohorts, persons). All numbers come from the reporting API.

The pages render no data themselves; the browser fetches ``/api/v1/projects/<slug>/…`` with the
session, exactly as any other client of that API would, so there is one query path to trust. The
pages list and open projects by the API's own access rule (``projects.access``), so the picker
never offers a project whose every panel would then be refused.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse

from projects.access import project_readable_by, project_role, project_user_may, projects_readable_by
from projects.models import Project, ProjectRole

# Fixed by the reporting API's contract; not reversed by name so the dashboard does not depend
# on how the reporting app names its routes.
API_PREFIX = "/api/v1/projects/"
DEFAULT_RANGE_DAYS = 30
# The web tracker's path (ingestion's route, as the README documents it), for the Web page's
# "add the snippet" empty state.
TRACKER_PATH = "/t.js"


@login_required
def project_picker(request: HttpRequest) -> HttpResponse:
    projects = projects_readable_by(user=request.user)
    return render(request, "dashboard/picker.html", {"projects": projects})


def _readable_project(request: HttpRequest, slug: str) -> Project:
    project = project_readable_by(user=request.user, slug=slug)
    if project is None:
        raise Http404("No such project.")
    return project


def _render_project_page(request: HttpRequest, project: Project, template: str) -> HttpResponse:
    """A page of one project: the config blob its scripts read, and the project switcher."""
    # "Today" is the project's today: report dates are days in the project's time zone, and the
    # browser's own zone may be a day off.
    today = dt.datetime.now(zoneinfo.ZoneInfo(project.timezone)).date()
    role = project_role(user=request.user, project=project)
    may_edit = project_user_may(user=request.user, project=project, role=ProjectRole.EDITOR)
    config = {
        "slug": project.slug,
        "name": project.name,
        "apiBase": f"{API_PREFIX}{project.slug}/",
        "timezone": project.timezone,
        "today": today.isoformat(),
        "defaultFrom": (today - dt.timedelta(days=DEFAULT_RANGE_DAYS - 1)).isoformat(),
        "csrfToken": get_token(request),
        "livePollSeconds": 5,
        "pickerUrl": reverse("dashboard:picker"),
        "projectUrl": reverse("dashboard:project", args=[project.slug]),
        "webUrl": reverse("dashboard:web", args=[project.slug]),
        "trackerUrl": request.build_absolute_uri(TRACKER_PATH),
        "cohortsUrl": reverse("dashboard:cohorts", args=[project.slug]),
        "personsUrl": reverse("dashboard:persons", args=[project.slug]),
        # The user's role, so a page offers only the writes the API would accept (it still decides).
        "role": role,
    }
    return render(
        request,
        template,
        {
            "project": project,
            "dashboard_config": config,
            # Editors (and staff) get the writing controls: cohorts, goals, annotations, the
            # dashboard's tiles, "Save as insight" and sharing. The API decides again on every write.
            "may_edit": may_edit,
            "may_annotate": may_edit,
            "may_admin": role == ProjectRole.ADMIN,
            "project_role": role,
            "projects": projects_readable_by(user=request.user),
        },
    )


@login_required
def project_page(request: HttpRequest, slug: str) -> HttpResponse:
    return _render_project_page(request, _readable_project(request, slug), "dashboard/project.html")


@login_required
def cohorts_page(request: HttpRequest, slug: str) -> HttpResponse:
    return _render_project_page(request, _readable_project(request, slug), "dashboard/cohorts.html")


@login_required
def persons_page(request: HttpRequest, slug: str) -> HttpResponse:
    return _render_project_page(request, _readable_project(request, slug), "dashboard/persons.html")


@login_required
def web_page(request: HttpRequest, slug: str) -> HttpResponse:
    return _render_project_page(request, _readable_project(request, slug), "dashboard/web.html")
