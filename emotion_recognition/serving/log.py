"""A user's mistake (a bad file, a value over a limit) is one log line, never a traceback;
tracebacks are kept for real faults."""

from __future__ import annotations

import logging

log = logging.getLogger("emotion_recognition.requests")


def log_user_error(where: str, message: str) -> None:
    """A user's mistake (bad file, over a limit): one line, no traceback."""
    log.info("user error in %s: %s", where, message.replace("\n", " "))
