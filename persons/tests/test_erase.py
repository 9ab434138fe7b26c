"""person_erase: the person, all of its ids and its properties go; nobody else's."""

from __future__ import annotations

import pytest

from persons.cohorts import cohort_members_replace
from persons.models import Cohort, CohortMember, Person, PersonDistinctId
from persons.selectors import person_distinct_ids, person_get
from persons.services import person_erase
from persons.tests.factories import person_make
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    project, other = ProjectFactory(), ProjectFactory()
    person_make(
        project_id=project.pk, distinct_ids=["alice", "anon-1", "anon-2"], properties={"email": "a@x", "name": "A"}
    )
    person_make(project_id=project.pk, distinct_ids=["bob", "anon-3"], properties={"email": "b@x"})
    person_make(project_id=other.pk, distinct_ids=["alice", "anon-1"], properties={"email": "a@y"})
    return project, other


def test_erasing_one_id_erases_the_whole_person(people):
    project, other = people
    assert person_distinct_ids(project_id=project.pk, distinct_id="anon-2") == ["alice", "anon-1", "anon-2"]
    erased = person_erase(project_id=project.pk, distinct_ids=["anon-2"])
    assert erased.persons == 1 and erased.distinct_id_rows == 3 and erased.properties == 2
    assert erased.distinct_ids == ["alice", "anon-1", "anon-2"]
    for distinct_id in erased.distinct_ids:
        assert person_get(project_id=project.pk, distinct_id=distinct_id) is None
    assert not Person.objects.filter(project_id=project.pk, properties__email="a@x").exists()
    # Another person of the project, and the same ids in another project, are someone else.
    assert person_get(project_id=project.pk, distinct_id="bob")["properties"] == {"email": "b@x"}
    assert person_get(project_id=other.pk, distinct_id="alice")["distinct_ids"] == ["alice", "anon-1"]
    assert PersonDistinctId.objects.filter(project_id=project.pk).count() == 2


def test_dry_run_counts_and_keeps_everything(people):
    project, _other = people
    before = PersonDistinctId.objects.count(), Person.objects.count()
    erased = person_erase(project_id=project.pk, distinct_ids=["alice"], dry_run=True)
    assert (erased.persons, erased.distinct_id_rows, erased.properties) == (1, 3, 2)
    assert (PersonDistinctId.objects.count(), Person.objects.count()) == before


def test_an_id_of_no_person_erases_nothing_and_is_still_returned(people):
    project, _other = people
    erased = person_erase(project_id=project.pk, distinct_ids=["carol"])
    assert (erased.persons, erased.distinct_id_rows, erased.properties, erased.distinct_ids) == (0, 0, 0, ["carol"])
    assert person_distinct_ids(project_id=project.pk, distinct_id="carol") == ["carol"]


def test_an_erased_person_leaves_every_cohort_at_once(people):
    project, other = people
    alice = PersonDistinctId.objects.get(project_id=project.pk, distinct_id="alice").person_id
    bob = PersonDistinctId.objects.get(project_id=project.pk, distinct_id="bob").person_id
    static = Cohort.objects.create(
        project_id=project.pk, name="s", kind=Cohort.STATIC, definition={"user_ids": ["anon-1", "bob"]}
    )
    theirs = Cohort.objects.create(
        project_id=other.pk, name="t", kind=Cohort.STATIC, definition={"user_ids": ["alice"]}
    )
    cohort_members_replace(cohort=static, persons=[f"person:{alice}", f"person:{bob}", "stray"])
    cohort_members_replace(cohort=theirs, persons=[f"person:{alice}"])
    person_erase(project_id=project.pk, distinct_ids=["anon-2"])
    assert set(CohortMember.objects.filter(cohort_id=static.pk).values_list("person", flat=True)) == {
        f"person:{bob}",
        "stray",
    }
    static.refresh_from_db()
    assert static.definition["user_ids"] == ["bob"]
    assert CohortMember.objects.filter(cohort_id=theirs.pk).count() == 1  # another project's alice
