"""Persons: the people behind the ids events are sent under.

An SDK sends events under an anonymous id until the visitor logs in, then under the user's id;
``$identify``/``$create_alias`` (Segment ``identify``/``alias``) say both ids are one person.
``PersonDistinctId`` maps every id known to belong to a person; an id with no row is a person
of its own (so the table holds only ids that took part in identity calls or person updates).
``project_id`` is a plain integer, as in ``events``, for the same reason (no cascades row by row).
"""

from django.db import models


class Person(models.Model):
    id = models.BigAutoField(primary_key=True)
    project_id = models.IntegerField()
    properties = models.JSONField(default=dict, help_text="From $set / $set_once / Segment traits.")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "persons_person"
        indexes = [models.Index(fields=["project_id", "id"], name="persons_person_project")]

    def __str__(self) -> str:
        return f"person {self.pk} of project {self.project_id}"


class PersonDistinctId(models.Model):
    pk = models.CompositePrimaryKey("project_id", "distinct_id")
    project_id = models.IntegerField()
    distinct_id = models.TextField(help_text="An events.user_id value.")
    # The database's key is (project_id, person_id) -> persons_person (project_id, id), made by
    # migration 0005: a key that joins on project_id is what Citus allows between distributed
    # tables (config/citus.py). Django's own constraint on person_id alone is therefore off.
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="distinct_ids", db_constraint=False)

    class Meta:
        db_table = "persons_distinct_id"

    def __str__(self) -> str:
        return f"{self.distinct_id} -> person {self.person_id}"


class Cohort(models.Model):
    """A named group of persons: by a definition (``dynamic``: person filters and behaviour) or a
    list of ids (``static``). Its members are computed by a job (analytics.cohorts) and stored in
    ``CohortMember``; ``computed_at`` says as of when."""

    DYNAMIC, STATIC = "dynamic", "static"

    id = models.BigAutoField(primary_key=True)
    project_id = models.IntegerField()
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=[(DYNAMIC, DYNAMIC), (STATIC, STATIC)])
    definition = models.JSONField(default=dict, help_text="dynamic: filters, behaviour, match; static: user_ids.")
    count = models.IntegerField(null=True)
    computed_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "persons_cohort"
        indexes = [models.Index(fields=["project_id", "id"], name="persons_cohort_project")]

    def __str__(self) -> str:
        return f"cohort {self.pk} {self.name!r} of project {self.project_id}"


class CohortMember(models.Model):
    """One member of a cohort, by person key (persons.identity: ``person:<id>`` or the id itself)."""

    pk = models.CompositePrimaryKey("cohort_id", "person")
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="+")
    person = models.TextField()

    class Meta:
        db_table = "persons_cohort_member"

    def __str__(self) -> str:
        return f"{self.person} in cohort {self.cohort_id}"


class PersonPropertyType(models.Model):
    """How many persons of a project hold a property key, per detected type of its value.

    Kept by the person writer (persons.services) in the transaction that changes the properties,
    under the project's persons lock, so the taxonomy lists person keys and their types with one
    indexed read instead of expanding every person's properties (170 ms at 50k persons; see
    docs/ARCHITECTURE.md, "Taxonomy"). Names and counts only: no value of anyone's.
    """

    pk = models.CompositePrimaryKey("project_id", "key", "type")
    project_id = models.IntegerField()
    key = models.TextField()
    type = models.TextField(help_text="events.property_types: string, number, boolean or datetime.")
    persons = models.BigIntegerField()

    class Meta:
        db_table = "persons_property_type"

    def __str__(self) -> str:
        return f"{self.key} ({self.type}) of project {self.project_id}"


class GroupTypeMapping(models.Model):
    """A project's group type (``company``, ``team``…) and its index 0..4, assigned on first sight
    and never changed: events keep the group's key in column ``group_<index>`` (events.models)."""

    id = models.BigAutoField(primary_key=True)
    project_id = models.IntegerField()
    group_type = models.TextField()
    index = models.SmallIntegerField()

    class Meta:
        db_table = "persons_group_type"
        constraints = [
            models.UniqueConstraint(fields=["project_id", "group_type"], name="persons_group_type_name"),
            models.UniqueConstraint(fields=["project_id", "index"], name="persons_group_type_index"),
        ]

    def __str__(self) -> str:
        return f"group type {self.group_type} ({self.index}) of project {self.project_id}"


class Group(models.Model):
    """One group (a company, a team) and its properties, merged from ``$groupidentify``'s ``$group_set``."""

    id = models.BigAutoField(primary_key=True)
    project_id = models.IntegerField()
    group_type_index = models.SmallIntegerField()
    group_key = models.TextField()
    properties = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "persons_group"
        constraints = [
            models.UniqueConstraint(
                fields=["project_id", "group_type_index", "group_key"], name="persons_group_project_type_key"
            ),
        ]

    def __str__(self) -> str:
        return f"group {self.group_key} (type {self.group_type_index}) of project {self.project_id}"
