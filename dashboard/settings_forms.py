"""The forms of a project's settings page (dashboard/views_settings.py): they check the input's
shape; the rules (last admin, key hashing, invitations, audit) are the projects services'."""

from __future__ import annotations

from django import forms

from projects.members import PROJECT_SETTINGS_FIELDS
from projects.models import ApiKeyScope, Project, ProjectRole


class ProjectSettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    """The settings a project admin changes; the model's validators check the time zone (an IANA
    name, by zoneinfo) and the origins."""

    class Meta:
        model = Project
        fields = PROJECT_SETTINGS_FIELDS
        widgets = {
            "timezone": forms.TextInput(attrs={"list": "timezones", "autocomplete": "off"}),
            "cors_allowed_origins": forms.Textarea(attrs={"rows": 3}),
            "ip_handling": forms.RadioSelect,
            "bot_handling": forms.RadioSelect,
        }
        labels = {
            "timezone": "Time zone",
            "cors_allowed_origins": "Allowed origins",
            "ip_handling": "IP addresses",
            "bot_handling": "Bots",
            "raw_retention_days": "Keep raw events (days)",
            "aggregate_retention_days": "Keep rollups (days)",
        }


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, required=False, help_text="What it is for, e.g. the site or the BI tool.")
    scope = forms.ChoiceField(choices=ApiKeyScope.choices, initial=ApiKeyScope.INGEST, widget=forms.RadioSelect)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ProjectRole.choices)


class InvitationForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=ProjectRole.choices, initial=ProjectRole.VIEWER)
