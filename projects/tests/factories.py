import factory

from projects.models import ApiKeyScope, EventSource, Project
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
