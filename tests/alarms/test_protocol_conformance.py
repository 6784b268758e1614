"""The integrators' conformance script (scripts/alarm_conformance.py, docs/integration.md):
recording against a real server with its reference client passes; frames that break the schema
or a client that ignores a reset fail with findings."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from beistand.alarms.models import Presence
from tests.alarms.helpers import post, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "alarm_conformance.py"


def run(*args, timeout=60):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_recording_against_a_real_server_is_conformant(server, people, fast_plan, token,
                                                       tmp_path):
    out = tmp_path / "frames.jsonl"
    recorder = subprocess.Popen(
        [sys.executable, str(SCRIPT), "record", "--url", f"{server.ws}/ws/v1/alarms",
         "--token", token(people["neighbour"]), "--seconds", "6", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: Presence.objects.filter(inbox__user=people["neighbour"],
                                                 connections__gt=0).exists(),
                 what="the recorder is connected")
        alarm = post(server, "/api/v1/alarms", token(people["sender"]),
                     {"template": "beistand"}).json()["id"]
        post(server, f"/api/v1/alarms/{alarm}/messages", token(people["sender"]),
             {"text": "Bitte schnell"})
        stdout, stderr = recorder.communicate(timeout=60)
    finally:
        if recorder.poll() is None:
            recorder.kill()
    assert recorder.returncode == 0, stdout + stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["conformant"] and summary["frames"] >= 5
    frames = [json.loads(line)["frame"] for line in out.read_text().splitlines()]
    assert {"hello", "alarm", "message"} <= {f["type"] for f in frames}


def records(*items):
    return "\n".join(json.dumps({"conn": "1", "dir": d, "frame": f}) for d, f in items) + "\n"


HELLO = {"type": "hello", "inbox": 3, "epoch": "new", "name": "Max", "last_event_id": 3,
         "heartbeat_s": 15, "server_time": "2026-12-07T10:00:00Z"}
UPDATE = {"type": "alarm_update", "event_id": 2, "alarm_id": 9, "kind": "cancelled",
          "state": "cancelled"}


def test_findings_for_a_wrong_frame_and_a_client_that_ignores_the_reset(tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text(records(
        ("in", HELLO), ("out", {"type": "resume", "last_event_id": 40, "epoch": "old"}),
        ("in", {"type": "reset", "reason": "epoch", "epoch": "new", "last_event_id": 3,
                "resume_from": 1}),
        ("in", UPDATE), ("out", {"type": "receipt", "event_id": 2}),
        ("in", {**UPDATE, "event_id": 3}), ("out", {"type": "receipt", "event_id": 3})))
    result = run("check", good)
    assert result.returncode == 0, result.stdout

    ignores_reset = tmp_path / "ignores.jsonl"
    ignores_reset.write_text(records(
        ("in", HELLO), ("out", {"type": "resume", "last_event_id": 40, "epoch": "old"}),
        ("in", {"type": "reset", "reason": "epoch", "epoch": "new", "last_event_id": 3,
                "resume_from": 1}),
        ("in", UPDATE), ("in", {**UPDATE, "event_id": 3}),
        ("out", {"type": "receipt", "event_id": 40})))  # still on its old numbering
    result = run("check", ignores_reset)
    assert result.returncode == 1
    assert "never received" in result.stdout

    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text(records(("in", {**HELLO, "surprise": 1}),
                             ("out", {"type": "resume", "last_event_id": 0})))
    result = run("check", wrong)
    assert result.returncode == 1 and "surprise" in result.stdout
