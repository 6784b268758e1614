"""Issue 16, finding 13: alarm ids answered 403 ("not yours") or 404 ("not there"), so anyone
could learn which alarms exist. Now both get the same 404 with the same text, in the API, on
the pages and over the WebSocket (tests/alarms/test_bad_input.py)."""

import json

import pytest

from beistand.alarms import services as alarms
from beistand.alarms.models import Alarm
from tests.alarms.conftest import alarm_defaults, people  # noqa: F401

pytestmark = pytest.mark.django_db


def _answers(client, headers, alarm_id):
    out = []
    for method, path, body in (
            ("get", f"/api/v1/alarms/{alarm_id}", None),
            ("post", f"/api/v1/alarms/{alarm_id}/respond", {"response": "coming"}),
            ("post", f"/api/v1/alarms/{alarm_id}/messages", {"text": "Hallo"}),
            ("post", f"/api/v1/alarms/{alarm_id}/resolve", {"note": ""}),
            ("post", f"/api/v1/alarms/{alarm_id}/cancel", None),
            ("post", f"/api/v1/alarms/{alarm_id}/position", {"lat": 50.9, "lon": 6.9})):
        if method == "get":
            response = client.get(path, **headers)
        else:
            response = client.post(path, json.dumps(body or {}), content_type="application/json",
                                   **headers)
        problem = response.json()
        out.append((response.status_code, problem.get("detail")))
    return out


def test_not_yours_and_not_there_look_the_same(client, people, bearer):  # noqa: F811
    alarm = alarms.trigger(user=people["sender"], template="probealarm", source="web").alarm
    missing = Alarm.objects.order_by("-pk").first().pk + 1000
    headers = bearer(people["far"])  # not on the alarm
    mine, absent = _answers(client, headers, alarm.pk), _answers(client, headers, missing)
    assert [status for status, _ in mine] == [404] * 6, mine
    assert mine == absent
    assert Alarm.objects.get(pk=alarm.pk).is_open


def test_the_alarm_page_does_not_tell_either(client, people):  # noqa: F811
    alarm = alarms.trigger(user=people["sender"], template="probealarm", source="web").alarm
    client.force_login(people["far"])
    mine = client.get(f"/alarm/protokoll/{alarm.pk}/")
    absent = client.get(f"/alarm/protokoll/{alarm.pk + 1000}/")
    assert mine.status_code == absent.status_code == 404
