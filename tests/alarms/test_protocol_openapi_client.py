"""The OpenAPI document is a contract a third party can generate a client from: an independent
generator from PyPI (openapi-python-client, dev extra) builds a Python client from the live
server's ``/api/v1/schema/`` and that client - not our code - raises an alarm, answers it, reads
it, gives the all-clear, presses a device trigger URL and gets typed problem details back."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from beistand.accounts.roles import Role
from beistand.accounts.services import create_device_token

pytestmark = pytest.mark.django_db(transaction=True)

PACKAGE = "beistand_api_client"


def generator() -> str:
    found = shutil.which("openapi-python-client") or str(
        Path(sys.executable).parent / "openapi-python-client")
    if not Path(found).exists():
        pytest.fail("openapi-python-client is missing: pip install -e '.[dev]'")
    return found


@pytest.fixture
def generated(server, tmp_path, monkeypatch):
    schema = httpx.get(f"{server.http}/api/v1/schema/", timeout=30).json()
    (tmp_path / "openapi.json").write_text(json.dumps(schema), encoding="utf-8")
    run = subprocess.run([generator(), "generate", "--path", "openapi.json", "--meta", "none",
                          "--output-path", PACKAGE], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    # The only thing the generator leaves out: binary (PDF) downloads it cannot type.
    warnings = [block for block in run.stdout.split("WARNING parsing ")[1:]
                if "Unsupported content_type application/pdf" not in block]
    assert not warnings, warnings
    assert all(tag.isascii() for op in _operations(schema) for tag in op.get("tags", []))
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
        del sys.modules[name]
    return schema


def _operations(schema):
    for item in schema["paths"].values():
        yield from (op for method, op in item.items() if method in ("get", "post", "delete"))


def test_a_generated_client_drives_the_alarm_api(generated, server, people, fast_plan, token,
                                                 make_user, org):
    import beistand_api_client as client_pkg
    from beistand_api_client.api.stiller_alarm import (
        alarm_detail,
        alarm_log,
        alarm_resolve,
        alarm_respond,
        alarm_trigger,
        alarms_active,
        device_trigger,
    )
    from beistand_api_client.models import (
        ResolveIn,
        RespondIn,
        RespondInResponse,
        TriggerIn,
    )

    # Every operation documents its own problems (tests/api/test_openapi_contract.py); the
    # alarm operations have their ids.
    ops = {op["operationId"]: op for op in _operations(generated)}
    for op_id in ("alarm_trigger", "alarm_respond", "alarm_resolve", "alarm_detail",
                  "alarms_active", "alarm_log", "device_trigger"):
        assert {"401", "500"} <= set(ops[op_id]["responses"]) or op_id == "device_trigger", op_id
    assert all("500" in op["responses"] for op in ops.values())

    def as_user(name):
        return client_pkg.AuthenticatedClient(base_url=server.http, token=token(people[name]))

    sender, security = as_user("sender"), as_user("security")
    raised = alarm_trigger.sync_detailed(
        client=sender, body=TriggerIn(template="beistand", client_id="gen-1"))
    assert raised.status_code == 201, raised.content
    alarm_id = raised.parsed.id
    assert raised.parsed.state == "triggered" and raised.parsed.deduplicated is False
    again = alarm_trigger.sync_detailed(
        client=sender, body=TriggerIn(template="beistand", client_id="gen-1"))
    assert again.status_code == 200 and again.parsed.id == alarm_id and again.parsed.deduplicated

    answered = alarm_respond.sync_detailed(alarm_id, client=security,
                                           body=RespondIn(response=RespondInResponse.COMING))
    assert answered.status_code == 200, answered.content
    assert (answered.parsed.alarm_id, answered.parsed.response) == (alarm_id, "coming")

    detail = alarm_detail.sync_detailed(alarm_id, client=sender)
    assert detail.status_code == 200, detail.content
    assert detail.parsed.template.code == "beistand"
    assert detail.parsed.location.room == "1.01"
    assert any(r.response == "coming" for r in detail.parsed.recipients)
    active = alarms_active.sync_detailed(client=sender)
    assert [a.id for a in active.parsed] == [alarm_id] and active.parsed[0].role == "sender"
    log = alarm_log.sync_detailed(client=security)
    assert log.status_code == 200 and log.parsed[0].id == alarm_id

    ended = alarm_resolve.sync_detailed(alarm_id, client=sender, body=ResolveIn(note="geklärt"))
    assert ended.status_code == 200, ended.content
    assert ended.parsed.state == "resolved" and ended.parsed.resolved_at is not None

    # An error comes back as a typed problem: the operation's own model for that status
    # (its `type` narrowed to the types this operation declares for it).
    late = alarm_respond.sync_detailed(alarm_id, client=security,
                                       body=RespondIn(response=RespondInResponse.CANNOT))
    assert late.status_code == 409, late.content
    assert type(late.parsed).__name__ == "AlarmRespondResponse409"
    assert late.parsed.type_ == "/api/v1/problems/conflict" and late.parsed.detail

    admin = make_user("admin", roles=[Role.ADMIN])
    clear, _ = create_device_token(admin, "Telefon 1.02", "desk_phone", room=org["rooms"][1])
    anonymous = client_pkg.Client(base_url=server.http)
    pressed = device_trigger.sync_detailed(clear, client=anonymous, client_id="taste-1")
    assert pressed.status_code == 201, pressed.content
    assert pressed.parsed.template == "beistand"
    unknown = device_trigger.sync_detailed("bsd_unknown", client=anonymous)
    assert unknown.status_code == 404 and unknown.parsed is not None
    assert unknown.parsed.type_ == "/api/v1/problems/not-found"
