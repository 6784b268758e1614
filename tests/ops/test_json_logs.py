"""BEISTAND_LOG_FORMAT=json: one JSON object per line, with exception text and extra fields."""

import json
import logging
import subprocess
import sys
from pathlib import Path

from beistand.ops.logs import JsonFormatter


def test_json_formatter_fields_extra_and_exception():
    logger = logging.getLogger("beistand.test")
    try:
        raise ValueError("kaputt")
    except ValueError:
        record = logger.makeRecord("beistand.test", logging.ERROR, __file__, 1,
                                   "Alarm %s fehlgeschlagen", (17,), sys.exc_info(),
                                   extra={"alarm_id": 17})
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "ERROR" and entry["logger"] == "beistand.test"
    assert entry["message"] == "Alarm 17 fehlgeschlagen" and entry["alarm_id"] == 17
    assert "ValueError: kaputt" in entry["exception"]
    assert entry["time"].endswith("+00:00")


def test_log_format_setting_switches_the_console_handler(tmp_path):
    """A real process with BEISTAND_LOG_FORMAT=json writes JSON lines to stderr."""
    code = ("import django, logging; django.setup(); "
            "logging.getLogger('beistand.ops').warning('Probe %s', 1)")
    env = {"DJANGO_SETTINGS_MODULE": "beistand.settings", "BEISTAND_DATA_DIR": str(tmp_path),
           "BEISTAND_LOG_FORMAT": "json", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=Path(__file__).parent, check=True, timeout=60)
    line = json.loads(out.stderr.strip().splitlines()[-1])
    assert line["message"] == "Probe 1" and line["level"] == "WARNING"
