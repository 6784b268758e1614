"""Enumerated settings fail fast: a mistyped value stops start-up (a real ``beistand`` process)
with a message naming the variable, the allowed values and what was given."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.test_settings import CONFIG_NAMES, CONFIG_PREFIXES

BEISTAND = Path(sys.executable).with_name("beistand")


def _start(tmp_path, **env):
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(CONFIG_PREFIXES) and k not in CONFIG_NAMES}
    clean.update({"BEISTAND_DATA_DIR": str(tmp_path / "var")}, **env)
    return subprocess.run([str(BEISTAND), "check"], env=clean, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(("variable", "wrong", "allowed"), [
    ("BEISTAND_SMS_PROVIDER", "htttp", "none, http, gammu"),
    ("BEISTAND_ALARM_FANOUT", "postgress", "auto, inprocess, postgres, redis"),
    ("BEISTAND_APP_TRIGGER_MODE", "tap", "hold, slide"),
    ("BEISTAND_LOG_FORMAT", "xml", "text, json"),
    ("BEISTAND_LOG_LEVEL", "verbose", "DEBUG, INFO, WARNING, ERROR, CRITICAL"),
])
def test_a_mistyped_choice_stops_start_up(tmp_path, variable, wrong, allowed):
    result = _start(tmp_path, **{variable: wrong})
    assert result.returncode == 2
    assert result.stderr == (f"beistand: configuration error: {variable} must be one of "
                             f"{allowed}; got {wrong!r}\n")


def test_a_wrong_weekday_stops_start_up(tmp_path):
    result = _start(tmp_path, BEISTAND_SUPERVISION_WEEKDAYS="1,2,Mo")
    assert result.returncode != 0
    assert "BEISTAND_SUPERVISION_WEEKDAYS takes a comma-separated list of 1, 2, 3, 4, 5, 6, " \
           "7; got 'Mo'" in result.stderr


def test_choices_are_read_without_case_or_blanks(tmp_path):
    result = _start(tmp_path, BEISTAND_SMS_PROVIDER=" Gammu ", BEISTAND_ALARM_FANOUT="INPROCESS",
                    BEISTAND_LOG_LEVEL="warning")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("env", "message"), [
    ({"BEISTAND_ALARM_FANOUT": "redis"}, "BEISTAND_ALARM_FANOUT=redis needs REDIS_URL"),
    ({"BEISTAND_ALARM_FANOUT": "postgres"},
     "BEISTAND_ALARM_FANOUT=postgres needs a PostgreSQL DATABASE_URL"),
    ({"BEISTAND_SMS_PROVIDER": "http"}, "BEISTAND_SMS_PROVIDER=http needs BEISTAND_SMS_HTTP_URL"),
    ({"BEISTAND_SMS_PROVIDER": "http", "BEISTAND_SMS_HTTP_URL": "gateway.local/send"},
     "got 'gateway.local/send'"),
])
def test_settings_that_only_work_together_stop_start_up_alone(tmp_path, env, message):
    result = _start(tmp_path, **env)
    assert result.returncode != 0 and message in result.stderr, result.stderr


def test_settings_that_work_together_start(tmp_path):
    result = _start(tmp_path, BEISTAND_ALARM_FANOUT="redis", REDIS_URL="redis://127.0.0.1:6379/0",
                    BEISTAND_SMS_PROVIDER="http",
                    BEISTAND_SMS_HTTP_URL="https://sms.example.org/send")
    assert result.returncode == 0, result.stderr
