import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from projects.models import ApiKey, ApiKeyScope, Project
from projects.selectors import api_key_lookup, key_cache
from projects.services import api_key_create, api_key_revoke, hash_key, project_create
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def test_key_is_stored_only_as_hash_with_visible_prefix():
    project = ProjectFactory()
    issued = api_key_create(project=project, scope=ApiKeyScope.READ)
    stored = ApiKey.objects.get(pk=issued.api_key.pk)
    assert issued.raw.startswith("sk_")
    assert stored.key_hash == hash_key(issued.raw)
    assert issued.raw not in {stored.key_hash, stored.prefix, stored.name}
    assert issued.raw.startswith(stored.prefix)


def test_lookup_resolves_scope_and_project():
    project = ProjectFactory()
    raw = api_key_create(project=project, scope=ApiKeyScope.INGEST).raw
    found = api_key_lookup(raw_key=raw)
    assert found is not None
    assert found.project.pk == project.pk
    assert found.scope == ApiKeyScope.INGEST
    assert not found.revoked


def test_lookup_of_unknown_or_tampered_key_is_none():
    project = ProjectFactory()
    raw = api_key_create(project=project, scope=ApiKeyScope.INGEST).raw
    assert api_key_lookup(raw_key=raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None
    assert api_key_lookup(raw_key="") is None
    assert api_key_lookup(raw_key="x" * 500) is None


def test_keys_of_two_projects_resolve_to_their_own_project():
    a, b = ProjectFactory(), ProjectFactory()
    key_a = api_key_create(project=a, scope=ApiKeyScope.READ).raw
    key_b = api_key_create(project=b, scope=ApiKeyScope.READ).raw
    assert api_key_lookup(raw_key=key_a).project.pk == a.pk
    assert api_key_lookup(raw_key=key_b).project.pk == b.pk


def test_revoked_key_is_reported_revoked_once_cache_expires():
    project = ProjectFactory()
    issued = api_key_create(project=project, scope=ApiKeyScope.INGEST)
    assert not api_key_lookup(raw_key=issued.raw).revoked
    api_key_revoke(api_key=issued.api_key)
    key_cache.clear()  # what the TTL does after API_KEY_CACHE_SECONDS
    assert api_key_lookup(raw_key=issued.raw).revoked


def test_project_create_makes_both_keys_and_default_sources():
    created = project_create(name="Shop Front")
    assert created.project.slug == "shop-front"
    assert set(created.project.sources.values_list("name", flat=True)) >= {"api", "web"}
    assert api_key_lookup(raw_key=created.ingest_key.raw).scope == "ingest"
    assert api_key_lookup(raw_key=created.read_key.raw).scope == "read"
    assert len(created.project.anonymous_salt) == 32


def test_slug_is_made_unique():
    project_create(name="Shop")
    assert project_create(name="Shop").project.slug == "shop-2"


def test_create_project_json_is_exactly_one_object():
    out = StringIO()
    call_command("create_project", "Mobile App", "--json", stdout=out)
    payload = json.loads(out.getvalue())
    assert set(payload) == {"slug", "ingest_key", "read_key"}
    assert payload["slug"] == "mobile-app"
    assert api_key_lookup(raw_key=payload["ingest_key"]).project.slug == "mobile-app"
    assert api_key_lookup(raw_key=payload["read_key"]).scope == "read"


def test_create_project_rejects_taken_slug_and_bad_timezone():
    call_command("create_project", "A", "--slug", "taken", stdout=StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_project", "B", "--slug", "taken", stdout=StringIO())
    with pytest.raises(CommandError, match="IANA"):
        call_command("create_project", "C", "--timezone", "Mars/Olympus", stdout=StringIO())
    assert Project.objects.count() == 1


def test_demo_project_keys_are_reused_then_reminted_after_revocation(tmp_path):
    from projects.services import demo_project_ensure

    state = tmp_path / "demo.json"
    first = demo_project_ensure(state_file=state)
    assert demo_project_ensure(state_file=state) == first
    api_key_revoke(api_key=ApiKey.objects.get(key_hash=hash_key(first["ingest_key"])))
    third = demo_project_ensure(state_file=state)
    assert third["ingest_key"] != first["ingest_key"]
    assert third["read_key"] == first["read_key"]
