"""The alarm log is personal data (who raised an alarm, where, who answered): the API's list
``GET /api/v1/alarms`` is an audited read like the page and its CSV export (docs/audit.md)."""

import pytest

from beistand.audit.models import AuditEvent
from tests.alarms.test_views import crafted, demo, login, staff  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def test_the_api_list_records_who_read_which_alarms(staff, demo, crafted):  # noqa: F811
    before = AuditEvent.objects.filter(action="alarms.alarm.log_read").count()
    response = login(staff["zks"]).get("/api/v1/alarms", {"template": "bedrohung"})
    assert response.status_code == 200
    shown = [row["id"] for row in response.json()]
    assert shown
    events = AuditEvent.objects.filter(action="alarms.alarm.log_read").order_by("seq")
    assert events.count() == before + 1
    event = events.last()
    assert event.actor_id == staff["zks"].pk
    assert event.after["shown"] == shown and event.after["count"] == len(shown)
    assert event.after["filters"]["template"] == "bedrohung"


def test_a_refused_list_records_nothing(staff, demo, crafted):  # noqa: F811
    before = AuditEvent.objects.filter(action="alarms.alarm.log_read").count()
    assert login(staff["other"]).get("/api/v1/alarms").status_code == 403
    assert AuditEvent.objects.filter(action="alarms.alarm.log_read").count() == before
