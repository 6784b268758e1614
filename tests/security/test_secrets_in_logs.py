"""Issue 16 follow-up (attack review, 12): tokens (API/device tokens, WebSocket tokens, SMS
signatures) appeared in exception tracebacks in the logs, and with ``BEISTAND_DEBUG=true`` also
through Django's own console handler, which the token filter of finding 9 did not cover.

Now one filter (``core/logscrub.py`` ``ScrubSecrets``) sits on every handler, installed in the
one ``LOGGING`` setting, and Django's loggers write through those handlers only. The test causes
a real request to fail with an exception that carries every kind of secret and reads what the
process's log handlers wrote: in this process, and in a process started with
``BEISTAND_DEBUG=true`` (text) and with JSON logs."""

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from beistand.core.logscrub import ScrubSecrets

ROOT = Path(__file__).resolve().parents[2]
DEVICE = "bsd_" + "D3v1ceT0kenSecretValue_abc"
PERSON = "bst_" + "P3rs0nT0kenSecretValue_xyz"
SOCKET = "beistand.bearer." + "bst_" + "S0cketT0kenValue_123"
SIGNATURE = "sha256=" + "ab12" * 16
PASSWORD = "Fr3ies-Passw0rt!"
SESSION = "s3ss10nk3yvalue0123456789"
SECRETS = (DEVICE, PERSON, SIGNATURE[7:], PASSWORD, SESSION, "S0cketT0kenValue_123")
URL = f"/boom/{DEVICE}/?token={PERSON}&password={PASSWORD}&sessionid={SESSION}"
HEADERS = {"HTTP_AUTHORIZATION": f"Bearer {PERSON}", "HTTP_X_BEISTAND_SIGNATURE": SIGNATURE}
BODY = f'{{"password": "{PASSWORD}", "protocol": "{SOCKET}"}}'

REQUEST_SCRIPT = f"""
import django, sys
django.setup()
from django.test import Client
from django.test.utils import override_settings
with override_settings(ROOT_URLCONF="tests.security.boom_urls"):
    answer = Client(raise_request_exception=False, SERVER_NAME="127.0.0.1").post({URL!r}, {BODY!r},
        content_type="application/json", **{HEADERS!r})
    Client(raise_request_exception=False, SERVER_NAME="127.0.0.1").get(
        "/gibt-es-nicht/{PERSON}/")
print("status", answer.status_code, file=sys.stderr)
"""


def _ours(handler) -> bool:
    """A handler of the process's logging (not pytest's capture, not a NullHandler)."""
    return not type(handler).__module__.startswith("_pytest") and \
        not isinstance(handler, logging.NullHandler)


def _assert_scrubbed(log: str):
    assert "RuntimeError" in log and "Traceback" in log, log  # the traceback is kept ...
    assert "[entfernt]" in log
    leaked = [secret for secret in SECRETS if secret in log]
    assert not leaked, (leaked, log)  # ... without a secret


@pytest.mark.urls("tests.security.boom_urls")
def test_failing_request_leaves_no_secret_in_this_process_log(db):
    handlers = [h for h in logging.getLogger().handlers
                if _ours(h) and isinstance(h, logging.StreamHandler)]
    assert handlers and all(any(isinstance(f, ScrubSecrets) for f in h.filters)
                            for h in handlers)
    captured = io.StringIO()
    previous = [h.setStream(captured) for h in handlers]
    try:
        answer = Client(raise_request_exception=False, SERVER_NAME="127.0.0.1").post(
            URL, BODY, content_type="application/json", **HEADERS)
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.setStream(stream)
    assert answer.status_code == 500
    _assert_scrubbed(captured.getvalue())


def test_no_log_handler_without_the_filter():
    """Every handler of every logger (Django's own included) scrubs, or the logger has none."""
    loggers = [logging.getLogger()] + [logging.getLogger(name) for name in
                                       list(logging.Logger.manager.loggerDict)]
    bare = [(logger.name, handler) for logger in loggers for handler in logger.handlers
            if _ours(handler) and not any(isinstance(f, ScrubSecrets) for f in handler.filters)]
    assert bare == []


@pytest.mark.parametrize("env", [{"BEISTAND_DEBUG": "true"},
                                 {"BEISTAND_LOG_FORMAT": "json"}], ids=["debug", "json"])
def test_failing_request_leaves_no_secret_in_a_process_log(tmp_path, env):
    """A process of its own (its logging as configured at start-up, with Django's console
    handler under BEISTAND_DEBUG): everything it writes to stdout and stderr."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BEISTAND_")}
    environment.update(env, BEISTAND_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE=
                       "beistand.settings", PYTHONPATH=os.pathsep.join(
                           [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    run = subprocess.run([sys.executable, "-c", REQUEST_SCRIPT], env=environment, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    log = run.stdout + run.stderr
    assert "status 500" in log, log
    _assert_scrubbed(log)
    assert "Not Found: /gibt-es-nicht/bst_[entfernt]/" in log
