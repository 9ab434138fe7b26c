import uuid

import factory
from django.contrib.auth import get_user_model

from projects.models import ApiKeyScope, EventSource, PersonalKeyScope, Project, ProjectMembership, ProjectRole
from projects.personal_keys import personal_key_create
from projects.services import api_key_create


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")
    timezone = "UTC"


class EventSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EventSource

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"source-{n}")


def ingest_key_for(project: Project) -> str:
    return api_key_create(project=project, scope=ApiKeyScope.INGEST).raw


def read_key_for(project: Project) -> str:
    return api_key_create(project=project, scope=ApiKeyScope.READ).raw


def editor_key_for(project: Project) -> str:
    """A write-scoped personal key of a new editor of ``project``: the bearer key that may write
    (cohorts, goals) through the API, where the project's read key only reads."""
    editor = get_user_model().objects.create_user(f"editor-{uuid.uuid4().hex[:12]}")
    ProjectMembership.objects.create(project=project, user=editor, role=ProjectRole.EDITOR)
    return personal_key_create(user=editor, name="tests", scope=PersonalKeyScope.WRITE, actor="tests").raw
