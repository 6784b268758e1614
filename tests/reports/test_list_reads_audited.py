"""Attack review of issue 16 (item 9): report lists (the API's ``GET /api/v1/reports`` with
``scope=queue|visible`` and the work queue page) showed other people's reports – reporter,
date, place, level, offences – without an audit event, while the detail read was audited.
A list of one's own reports records nothing (own data)."""

import pytest

from beistand.audit.models import AuditEvent
from tests.reports.test_views import login

pytestmark = pytest.mark.django_db


def _seq():
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


def _lists(after):
    return list(AuditEvent.objects.filter(seq__gt=after, action="reports.report.list"))


def test_api_lists_of_others_reports_are_audited(client, bearer, cast, submitted):
    report = submitted()
    h = bearer(cast["chefin"])
    for scope in ("queue", "visible"):
        seq = _seq()
        r = client.get("/api/v1/reports", {"scope": scope}, **h)
        assert r.status_code == 200 and [i["id"] for i in r.json()["items"]] == [report.pk]
        events = _lists(seq)
        assert len(events) == 1, scope
        assert events[0].after == {"count": 1, "reports": [report.pk]}
        assert events[0].actor_id == cast["chefin"].pk
    # The reporter's own list is own data: nothing recorded.
    seq = _seq()
    r = client.get("/api/v1/reports", {"scope": "mine"}, **bearer(cast["melder"]))
    assert r.status_code == 200 and r.json()["count"] == 1
    assert not _lists(seq)


def test_work_queue_page_is_audited(client, cast, submitted):
    report = submitted()
    login(client, cast["chefin"])
    seq = _seq()
    assert client.get("/meldungen/arbeitsliste/").status_code == 200
    events = _lists(seq)
    assert len(events) == 1 and events[0].after["reports"] == [report.pk]
