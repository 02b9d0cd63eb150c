"""Logging filters named in settings.LOGGING."""

import logging

from django.core.exceptions import PermissionDenied


class RefusalWithoutTraceback(logging.Filter):
    """A refused request (403) is expected: django.request's warning keeps
    its one line, without the traceback. The audit trail records the
    refusal with its reason."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc_type = record.exc_info[0] if record.exc_info else None
        if exc_type is not None and issubclass(exc_type, PermissionDenied):
            record.exc_info = None
            record.exc_text = None
        return True
