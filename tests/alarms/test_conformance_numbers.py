"""Review finding (#22): scripts/alarm_conformance.py crashed (TypeError) on a server frame whose
``event_id`` is not a whole number, and on such a number in a reset or a client's receipt. It is
a conformance failure: listed as a finding, exit status 1."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "alarm_conformance.py"
HELLO = {"type": "hello", "inbox": 3, "epoch": "e1", "name": "Max", "last_event_id": 0,
         "heartbeat_s": 15, "server_time": "2026-12-07T10:00:00Z"}
UPDATE = {"type": "alarm_update", "event_id": 1, "alarm_id": 9, "kind": "cancelled",
          "state": "cancelled"}


def check(tmp_path, *items):
    path = tmp_path / "frames.jsonl"
    path.write_text("".join(json.dumps({"conn": "1", "dir": d, "frame": f}) + "\n"
                            for d, f in items))
    return subprocess.run([sys.executable, str(SCRIPT), "check", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(("items", "finding"), [
    ([("in", {**UPDATE, "event_id": "2"})], "server sent event_id '2', not an event number"),
    ([("in", {**UPDATE, "event_id": 2.5})], "server sent event_id 2.5, not an event number"),
    ([("in", {**UPDATE, "event_id": [2]})], "server sent event_id [2], not an event number"),
    ([("in", {"type": "reset", "reason": "epoch", "epoch": "e2", "last_event_id": 0,
              "resume_from": "0"})], "reset with resume_from '0', not an event number"),
    ([("in", UPDATE), ("out", {"type": "receipt", "event_id": "1"})],
     "receipt with event_id '1', not an event number"),
])
def test_a_number_that_is_not_one_is_a_finding_not_a_crash(tmp_path, items, finding):
    result = check(tmp_path, ("in", HELLO), ("out", {"type": "resume", "last_event_id": 0}),
                   *items)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    assert finding in result.stdout
    assert json.loads(result.stdout.strip().splitlines()[-1])["conformant"] is False


def test_whole_numbers_still_pass(tmp_path):
    result = check(tmp_path, ("in", HELLO), ("out", {"type": "resume", "last_event_id": 0}),
                   ("in", UPDATE), ("out", {"type": "receipt", "event_id": 1}))
    assert result.returncode == 0, result.stdout + result.stderr
