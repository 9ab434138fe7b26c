"""The two ways a capture request goes wrong, shared by validation and every protocol adapter."""

from __future__ import annotations


def _printable(message: str) -> str:
    # Messages quote what was sent, which may hold an unpaired surrogate: escaped here, once,
    # so that no answer can fail to encode as UTF-8 whatever the message says.
    if message.isascii():
        return message
    return message.encode("utf-8", "backslashreplace").decode("utf-8")


class RequestError(Exception):
    """The whole request is unusable; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str, reason: str) -> None:
        message = _printable(message)
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason


class EventError(Exception):
    """One event is invalid; ``reason`` is a stable code for the ledger's rejected-by-reason."""

    def __init__(self, message: str, reason: str) -> None:
        message = _printable(message)
        super().__init__(message)
        self.message = message
        self.reason = reason
