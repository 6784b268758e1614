"""Issue 16, finding 11: the alarm fast path answered deeply nested JSON with a 500 and a
traceback, before authentication. Now: 400 problem JSON, nothing stored, the server keeps
serving alarms."""

import json
import urllib.error
import urllib.request

import pytest

from beistand.alarms.models import Alarm
from tests.alarms.conftest import alarm_defaults, people, server  # noqa: F401
from tests.conftest import issue_token

pytestmark = pytest.mark.django_db(transaction=True)


def post(server, body: bytes, token="bst_unbekannt"):  # noqa: F811
    request = urllib.request.Request(
        f"{server.http}/api/v1/alarms", method="POST", data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


@pytest.mark.parametrize("body", [
    b"[" * 100_000 + b"]" * 100_000,                     # the reproduction: 500 with traceback
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    json.dumps({"template": "probealarm", "x": [[[[[[[[[[1]]]]]]]]]]}).encode(),
])
def test_deep_json_is_a_400_problem_before_authentication(server, people, client, body):  # noqa: F811
    status, content_type, answer = post(server, body)
    assert status == 400, answer[:300]
    assert content_type == "application/problem+json"
    problem = json.loads(answer)
    assert problem["status"] == 400 and "Traceback" not in answer.decode()
    assert Alarm.objects.count() == 0
    # The alarm path still works.
    token = issue_token(client, "sender")
    status, _, _ = post(server, json.dumps({"template": "probealarm",
                                            "client_id": "nach-dem-angriff"}).encode(), token)
    assert status == 201
