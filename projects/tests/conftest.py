"""A real SMTP server for the mail tests: aiosmtpd listening on a free local port, Django's SMTP
backend pointed at it, and the messages it received to read back (no locmem backend, no mock)."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings


class Inbox:
    """What the server received, parsed; ``link`` finds a URL in the last message's body."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    # aiosmtpd calls a handler's handle_<SMTP verb>.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def body(self, index: int = -1) -> str:
        part = self.messages[index].get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())

    def link(self, pattern: str, index: int = -1) -> str:
        found = re.search(pattern, self.body(index))
        assert found, self.body(index)
        return found.group(0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _mail_settings(port: int) -> dict[str, Any]:
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_CONFIGURED": True,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
        "EMAIL_USE_TLS": False,
        "EMAIL_TIMEOUT": 5,
    }


@pytest.fixture
def smtp_inbox() -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with override_settings(**_mail_settings(controller.port)):
            yield inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_unreachable() -> Iterator[None]:
    """Mail configured, but nothing listens on its port: the connection is refused."""
    with override_settings(**_mail_settings(free_port())):
        yield
