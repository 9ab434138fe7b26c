from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from core.commands import FAILURE, usage_error
from projects.commands import ProjectCommand
from projects.invitations import (
    InvitationNotSent,
    invitation_create,
    invitation_record_sent,
    invitation_send,
    invitation_validate,
)
from projects.models import ProjectRole

ACTOR = "command"


class Command(ProjectCommand):
    help = (
        "Invite EMAIL to a project with a role: mails the link, or prints it when no mail server is "
        "configured (EMAIL_HOST unset). Exit 0 done, 1 the mail could not be sent (the link is "
        "printed all the same), 2 bad usage."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--project", required=True, help="The project's slug")
        parser.add_argument("--role", default=ProjectRole.VIEWER, help="viewer (default), editor or admin")
        parser.add_argument("--days", type=int, default=None, help="Days the link works (default INVITATION_DAYS)")

    def handle(self, *args: Any, **options: Any) -> None:
        project = self.project_or_usage_error(options["project"])
        try:
            invitation_validate(email=options["email"], role=options["role"], days=options["days"])
            if options["dry_run"]:
                self.progress(f"would invite {options['email']} to {project.slug} as {options['role']}")
                return
            issued = invitation_create(
                project=project, email=options["email"], role=options["role"], actor=ACTOR, days=options["days"]
            )
        except ValidationError as exc:
            raise usage_error(" ".join(exc.messages)) from None
        invitation = issued.invitation
        if not settings.EMAIL_CONFIGURED:
            invitation_record_sent(invitation=invitation, actor=ACTOR, delivery="link")
            self.progress(f"No mail server configured (EMAIL_HOST unset): send this link to {invitation.email}:")
            self.progress(issued.url)
            return
        try:
            invitation_send(issued=issued, actor=ACTOR)
        except InvitationNotSent as exc:
            # The invitation stands: the inviter can pass the link on by other means.
            invitation_record_sent(invitation=invitation, actor=ACTOR, delivery="link")
            self.progress(issued.url)
            raise CommandError(f"{exc}; send the link above yourself.", returncode=FAILURE) from None
        self.progress(f"Invited {invitation.email} to {project.slug} as {invitation.role}; the link was mailed:")
        self.progress(issued.url)
