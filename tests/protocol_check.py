"""Every WebSocket frame a server in the test process sends is validated against the published
protocol schema (docs/alarm-protocol.schema.json, ``ServerFrame``), in every test of the suite.

A pytest plugin (registered in tests/conftest.py): an autouse fixture wraps the one send path of
the alarm WebSocket, ``Connection.send_text`` (the real send still runs, nothing is replaced),
keeps the texts sent during the test and fails the test at teardown if one of them does not fit.
Servers in other processes are checked on the receiving side instead (the ``Receiver`` helper of
tests/alarms/conftest.py validates every frame it reads with ``frame_problems``).
"""

import json
import threading
from functools import cache
from pathlib import Path

import pytest

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "docs" / "alarm-protocol.schema.json"


@cache
def validator(name: str = "ServerFrame"):
    from jsonschema import Draft7Validator

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return Draft7Validator({**schema, "$ref": f"#/definitions/{name}"})


def frame_problems(frame, name: str = "ServerFrame") -> list[str]:
    """Readable reasons a frame does not fit the schema; for a union, the closest branch."""
    found = []
    for error in validator(name).iter_errors(frame):
        best = min(error.context or [error], key=lambda e: len(e.message) - len(e.path))
        found.append(f"{'/'.join(map(str, best.absolute_path)) or '(frame)'}: {best.message}")
    return found


def check_texts(texts) -> dict[str, list[str]]:
    """text -> problems, for the texts (JSON frames as sent) that do not fit."""
    wrong = {}
    for text in set(texts):
        try:
            frame = json.loads(text)
        except ValueError:
            wrong[text[:200]] = ["not JSON"]
            continue
        found = frame_problems(frame)
        if found:
            wrong[text[:300]] = found
    return wrong


@pytest.fixture(autouse=True)
def _server_frames_fit_the_protocol():
    from beistand.alarms.hub import Connection

    sent: list[str] = []
    lock = threading.Lock()
    original = Connection.send_text

    def send_text(self, text):
        with lock:
            sent.append(text)
        return original(self, text)

    Connection.send_text = send_text
    try:
        yield sent
    finally:
        Connection.send_text = original
    with lock:
        wrong = check_texts(sent)
    if wrong:
        pytest.fail("frames sent that do not fit docs/alarm-protocol.schema.json:\n"
                    + json.dumps(wrong, ensure_ascii=False, indent=1), pytrace=False)
