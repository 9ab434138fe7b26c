"""The invitation link's page (``/accounts/invite/<token>/``): thin, the rules are in invitations.py."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from projects.invitations import (
    InvitationUnusable,
    account_for_email,
    invitation_accept,
    invitation_for_token,
    invitation_sign_up,
)
from projects.models import Invitation

TEMPLATE = "registration/invitation.html"
# The account was just made or proved by the session: no password to check again.
_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _unusable(request: HttpRequest, exc: InvitationUnusable) -> HttpResponse:
    return render(request, "registration/invitation_unusable.html", {"reason": exc.reason}, status=exc.status)


def _landing(invitation: Invitation) -> HttpResponse:
    return redirect(reverse("dashboard:project", kwargs={"slug": invitation.project.slug}))


@require_http_methods(["GET", "POST"])
def invitation_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = invitation_for_token(token)
    except InvitationUnusable as exc:
        return _unusable(request, exc)
    context: dict[str, Any] = {"invitation": invitation}
    user = request.user
    if user.is_authenticated:
        if (getattr(user, "email", "") or "").lower() != invitation.email.lower():
            return render(request, TEMPLATE, {**context, "mode": "other_account"}, status=403)
        # Accepting takes a POST (one button), not the GET: mail scanners that open links
        # must not use up a single-use invitation.
        if request.method == "POST":
            try:
                invitation_accept(invitation=invitation, user=user)  # type: ignore[arg-type]
            except InvitationUnusable as exc:
                return _unusable(request, exc)
            return _landing(invitation)
        return render(request, TEMPLATE, {**context, "mode": "accept"})
    if account_for_email(invitation.email) is not None:
        login_url = f"{reverse('login')}?next={request.path}"
        return render(request, TEMPLATE, {**context, "mode": "sign_in_first", "login_url": login_url})
    form: UserCreationForm[User] = UserCreationForm(request.POST if request.method == "POST" else None)
    # The password validators compare the password with the account's email too.
    form.instance.email = invitation.email
    if request.method == "POST" and form.is_valid():
        try:
            account = invitation_sign_up(
                invitation=invitation,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
            )
        except InvitationUnusable as exc:
            return _unusable(request, exc)
        login(request, account, backend=_BACKEND)
        return _landing(invitation)
    return render(request, TEMPLATE, {**context, "mode": "sign_up", "form": form})
