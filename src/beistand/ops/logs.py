"""Structured logs: ``BEISTAND_LOG_FORMAT=json`` writes one JSON object per line.

Log lines carry no personal data (names, phone numbers, addresses, free text of reports): they
name records by id, units by code, and counts. ``tests/ops/test_log_privacy.py`` runs the
flows that handle such data and checks every record, including exception text.
"""

import json
import logging
from datetime import UTC, datetime

from beistand.core.logscrub import scrub

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is kept.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime",
                                                                        "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
            "thread": record.threadName,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                # str() of an object (Django's request extra: method and full path) is
                # scrubbed here; the filter saw only the object.
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) \
                    else scrub(str(value))
        # exc_text first: the ScrubSecrets filter left the scrubbed traceback there.
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)
