"""The signed-in person's personal API keys, at /accounts/keys/: list, create, revoke.

A new key is shown once, in the answer to the POST that made it (never stored, never in a
redirect's URL or the session), so the page is not cached. What a key then reads is
``projects.access``'s business, not this page's.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from projects.access import projects_readable_by
from projects.audit import audit_actor
from projects.models import PersonalApiKey, PersonalKeyScope, Project
from projects.personal_keys import IssuedPersonalKey, personal_key_create, personal_key_revoke
from projects.selectors import personal_keys_of


class PersonalKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the key is for, e.g. the script that uses it.")
    scope = forms.ChoiceField(choices=PersonalKeyScope.choices, initial=PersonalKeyScope.READ, widget=forms.RadioSelect)
    projects = forms.ModelMultipleChoiceField(
        queryset=Project.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every project you can read, now and later.",
    )

    def __init__(self, *args: object, user: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # Only projects the person reads: any other id is refused as "not one of the choices".
        self.fields["projects"].queryset = projects_readable_by(user=user)  # type: ignore[attr-defined,arg-type]


def _page(request: HttpRequest, form: PersonalKeyForm, issued: IssuedPersonalKey | None, status: int) -> HttpResponse:
    context = {"form": form, "issued": issued, "keys": personal_keys_of(user_id=int(request.user.pk or 0))}
    return render(request, "dashboard/keys.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def keys_page(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, PersonalKeyForm(user=request.user), None, 200)
    form = PersonalKeyForm(request.POST, user=request.user)
    if not form.is_valid():
        return _page(request, form, None, 400)
    issued = personal_key_create(
        user=request.user,  # type: ignore[arg-type]
        name=form.cleaned_data["name"],
        scope=form.cleaned_data["scope"],
        projects=form.cleaned_data["projects"],
        actor=audit_actor(request.user),
    )
    return _page(request, PersonalKeyForm(user=request.user), issued, 200)


@login_required
@require_POST
def key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    # Another person's key is a 404, as a key that does not exist: ids are no oracle either.
    key = get_object_or_404(PersonalApiKey, pk=key_id, user_id=request.user.pk)
    personal_key_revoke(key=key, actor=audit_actor(request.user))
    messages.success(request, f"Revoked {key.prefix}…; it stops working within a few seconds.")
    return redirect("dashboard:keys")
