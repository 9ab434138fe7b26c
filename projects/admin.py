from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest

from projects.invitations import invitation_create, invitation_deliver, invitation_revoke
from projects.models import (
    ApiKey,
    ApiKeyScope,
    AuditEntry,
    EventSource,
    Invitation,
    PersonalApiKey,
    Project,
    ProjectMembership,
)
from projects.personal_keys import personal_key_create, personal_key_revoke
from projects.services import api_key_create, api_key_revoke


class EventSourceInline(admin.TabularInline):
    model = EventSource
    extra = 0


class MembershipInline(admin.TabularInline):
    model = ProjectMembership
    extra = 0
    autocomplete_fields = ("user",)
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ("prefix", "scope", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Project | None = None) -> bool:
        # Keys are minted by the "Create … key" actions so the secret can be shown exactly once.
        return False


class InvitationInline(admin.TabularInline):
    """ "Invite member": a new row (email, role) is mailed an invitation when the project is saved."""

    model = Invitation
    extra = 0
    verbose_name = "invitation"
    fields = ("email", "role", "invited_by", "created_at", "expires_at", "accepted_at", "revoked_at")
    readonly_fields = ("invited_by", "created_at", "expires_at", "accepted_at", "revoked_at")
    can_delete = False

    def has_change_permission(self, request: HttpRequest, obj: Project | None = None) -> bool:
        # Sent invitations are not edited (the mail is gone); revoke them in Invitations.
        return False


def _invite(request: HttpRequest, project: Project, email: str, role: str) -> None:
    """Creates and mails one invitation; a mail failure is a message with the link, not a 500."""
    actor = f"admin:{request.user.get_username()}"
    try:
        issued = invitation_create(
            project=project,
            email=email,
            role=role,
            actor=actor,
            inviter=request.user,  # type: ignore[arg-type]
        )
    except ValidationError as exc:
        messages.error(request, f"Not invited: {' '.join(exc.messages)}")
        return
    except PermissionDenied as exc:
        messages.error(request, f"Not invited: {exc}")
        return
    delivered = invitation_deliver(issued=issued, actor=actor)
    if delivered.mailed:
        messages.success(request, f"Invitation mailed to {email} ({role}).")
    elif not settings.EMAIL_CONFIGURED:
        messages.warning(request, f"{delivered.problem}: send {email} this link: {issued.url}")
    else:
        messages.error(
            request, f"The invitation was made but {delivered.problem}. Send {email} this link yourself: {issued.url}"
        )


def _create_keys(request: HttpRequest, queryset: QuerySet[Project], scope: str) -> None:
    for project in queryset:
        issued = api_key_create(
            project=project,
            scope=scope,
            name=f"created in admin by {request.user}",
            actor=f"admin:{request.user.get_username()}",
        )
        messages.warning(
            request,
            f"{project.slug}: new {scope} key {issued.raw} — copy it now, it will not be shown again.",
        )


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "timezone", "monthly_event_quota", "raw_retention_days", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (MembershipInline, InvitationInline, EventSourceInline, ApiKeyInline)
    actions = ("create_ingest_key", "create_read_key")
    fieldsets = (
        (None, {"fields": ("name", "slug", "timezone")}),
        (
            "Ingestion limits",
            {"fields": ("rate_limit_per_minute", "rate_limit_per_ip_per_minute", "monthly_event_quota")},
        ),
        ("Retention", {"fields": ("raw_retention_days", "aggregate_retention_days")}),
        (
            "Browser and privacy",
            {"fields": ("cors_allowed_origins", "ip_handling", "cookieless", "bot_handling", "restrict_sources")},
        ),
    )

    def save_formset(self, request: HttpRequest, form: Any, formset: BaseInlineFormSet, change: bool) -> None:
        if formset.model is not Invitation:
            super().save_formset(request, form, formset, change)
            return
        # New rows go through the service (token, expiry, mail, audit) instead of a plain save.
        for instance in formset.save(commit=False):
            _invite(request, form.instance, instance.email, instance.role)

    @admin.action(description="Create an ingest key (public) for the selected projects")
    def create_ingest_key(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        _create_keys(request, queryset, ApiKeyScope.INGEST)

    @admin.action(description="Create a read key (secret) for the selected projects")
    def create_read_key(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        _create_keys(request, queryset, ApiKeyScope.READ)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "project", "scope", "name", "created_at", "last_used_at", "revoked_at")
    list_filter = ("scope", "project")
    search_fields = ("prefix", "name", "project__slug")
    readonly_fields = ("project", "scope", "prefix", "created_at", "last_used_at", "revoked_at")
    fields = ("project", "scope", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            api_key_revoke(api_key=api_key, actor=f"admin:{request.user.get_username()}")
        messages.success(
            request,
            f"Revoked {queryset.count()} key(s); web workers stop accepting them "
            "within the key cache lifetime (10 s by default).",
        )


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Invitations are made from the project's page (Invite member); here they are listed and revoked."""

    list_display = ("email", "project", "role", "invited_by", "created_at", "expires_at", "accepted_at", "revoked_at")
    list_filter = ("project", "role")
    search_fields = ("email", "project__slug")
    readonly_fields = list_display
    fields = list_display
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        # Revoked, not deleted: who was invited, and by whom, stays on record.
        return False

    @admin.action(description="Revoke the selected invitations")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        for invitation in queryset:
            invitation_revoke(invitation=invitation, actor=f"admin:{request.user.get_username()}")
        messages.success(request, "Revoked; their links now answer that the invitation was withdrawn.")


@admin.register(PersonalApiKey)
class PersonalApiKeyAdmin(admin.ModelAdmin):
    """People's keys, read-only but for revoking; adding one mints it and shows it once."""

    list_display = ("prefix", "user", "name", "scope", "all_projects", "created_at", "last_used_at", "revoked_at")
    list_filter = ("scope",)
    search_fields = ("prefix", "name", "user__username")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    filter_horizontal = ("projects",)
    fields = ("user", "name", "scope", "projects", "all_projects", "prefix", "created_at", "last_used_at", "revoked_at")
    # all_projects follows from the projects chosen (none: all), as on the person's own page.
    readonly_fields = ("all_projects", "prefix", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke",)

    def has_change_permission(self, request: HttpRequest, obj: PersonalApiKey | None = None) -> bool:
        return False  # a key is replaced, not edited: what it reads is fixed when it is shown

    def has_delete_permission(self, request: HttpRequest, obj: PersonalApiKey | None = None) -> bool:
        return False  # revoked instead, so the audit log's entries keep their key

    def save_model(self, request: HttpRequest, obj: PersonalApiKey, form: Any, change: bool) -> None:
        # Minted by the service (hash, prefix, audit); the raw key goes to this one message only.
        issued = personal_key_create(
            user=obj.user,
            name=obj.name,
            scope=obj.scope,
            projects=form.cleaned_data["projects"],
            actor=f"admin:{request.user.get_username()}",
        )
        # The admin goes on with ``obj`` (its log entry, its redirect): make it the saved key.
        obj.__dict__.update({k: v for k, v in issued.key.__dict__.items() if k != "_state"})
        obj._state.adding, obj._state.db = False, issued.key._state.db
        messages.warning(
            request,
            f"New personal key of {obj.user} {issued.raw} — copy it now, it will not be shown again.",
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass  # the projects were set by personal_key_create

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[PersonalApiKey]) -> None:
        for key in queryset:
            personal_key_revoke(key=key, actor=f"admin:{request.user.get_username()}")
        messages.success(
            request,
            f"Revoked {queryset.count()} key(s); web workers stop accepting them "
            "within the key cache lifetime (10 s by default).",
        )


@admin.register(EventSource)
class EventSourceAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "description", "created_at")
    list_filter = ("project",)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: an audit log that staff could edit would prove nothing."""

    list_display = ("at", "action", "project", "api_key", "actor", "count", "details")
    list_filter = ("action", "project")
    search_fields = ("actor", "project__slug", "api_key__prefix")
    date_hierarchy = "at"
    list_select_related = ("project", "api_key")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False
