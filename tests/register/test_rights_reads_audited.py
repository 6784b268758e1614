"""Attack review of issue 16, finding 5 (item 9 of the review): the rights requests (GDPR
Art. 14-21: the person, the request's text, the decision's reason) were listed and read – on the
ZKS page, the DPO's overview and through the API – without an audit event, although every read
of personal data is audited in the same transaction (docs/audit.md)."""

import pytest
from django.db import transaction

from beistand.audit.models import AuditEvent
from beistand.register import rights
from beistand.register.models import RightsRequest
from tests.register.test_rights import people, publish  # noqa: F401
from tests.register.test_rights_api import BASE, api  # noqa: F401

pytestmark = pytest.mark.django_db


def _new_events(after_seq, action):
    return list(AuditEvent.objects.filter(seq__gt=after_seq, action=action).order_by("seq"))


def _seq():
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


def test_api_list_of_rights_requests_is_audited(api):  # noqa: F811
    c, h, person = api["client"], api["h"], api["person"]
    req = RightsRequest.objects.get(person=person)
    for who in ("dsb", "zks"):
        seq = _seq()
        r = c.get(f"{BASE}/rights-requests?state=open", **h[who])
        assert r.status_code == 200 and [x["id"] for x in r.json()] == [req.pk]
        events = _new_events(seq, "register.rightsrequest.list")
        assert len(events) == 1, who
        event = events[0]
        assert event.after["requests"] == [req.pk] and event.after["persons"] == [person.pk]
        assert event.after["filters"]["state"] == "open"
        assert event.actor_id is not None
    # The person's own name is not copied into the trail.
    assert person.last_name not in str(event.after) and person.last_name not in event.object_repr


def test_api_read_of_one_rights_request_is_audited(api):  # noqa: F811
    c, h, person = api["client"], api["h"], api["person"]
    req = RightsRequest.objects.get(person=person)
    seq = _seq()
    r = c.get(f"{BASE}/rights-requests/{req.pk}", **h["dsb"])
    assert r.status_code == 200
    events = _new_events(seq, "register.rightsrequest.read")
    assert [e.object_id for e in events] == [str(req.pk)]
    assert events[0].object_type == "register.rightsrequest"


def test_refused_reads_write_nothing_and_the_service_audits_in_its_transaction(api, people):  # noqa: F811
    c, h = api["client"], api["h"]
    seq = _seq()
    assert c.get(f"{BASE}/rights-requests", **h["querier"]).status_code == 403
    assert not _new_events(seq, "register.rightsrequest.list")
    # The audit row commits or rolls back with the read (same transaction).
    try:
        with transaction.atomic():
            rights.list_requests(people["zks"])
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert not _new_events(seq, "register.rightsrequest.list")
    rights.list_requests(people["zks"])
    assert len(_new_events(seq, "register.rightsrequest.list")) == 1


def test_zks_page_and_dpo_overview_audit_the_requests_they_show(client, api, people):  # noqa: F811
    from beistand.stats import dpo_records
    from tests.register.test_views import MANAGE, login

    req = RightsRequest.objects.get(person=api["person"])
    seq = _seq()
    login(client, people["zks"])
    assert client.get(MANAGE).status_code == 200
    events = _new_events(seq, "register.rightsrequest.list")
    assert len(events) == 1 and events[0].after["requests"] == [req.pk]
    seq = _seq()
    assert [o.id for o in dpo_records.open_rights_requests(people["dsb"])] == [req.pk]
    assert len(_new_events(seq, "register.rightsrequest.list")) == 1
