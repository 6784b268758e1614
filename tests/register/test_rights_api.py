"""The rights API: per-role access, bad input as problem+json, PDFs with the right headers."""

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from beistand.register.models import Lookup, RightsRequest
from tests.register.test_rights import flat, pdf_text, people, publish  # noqa: F401

pytestmark = pytest.mark.django_db
BASE = "/api/v1/register"


def post(client, url, body, headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def api(client, bearer, people, publish):  # noqa: F811
    person = publish()
    return {"client": client, "person": person,
            "h": {name: bearer(people[name]) for name in
                  ("zks", "dsb", "querier", "statistik", "reporter")}}


def test_full_flow_create_decide_letter(api):
    c, h, person = api["client"], api["h"], api["person"]
    r = post(c, f"{BASE}/persons/{person.pk}/rights-requests",
             {"kind": "art16", "received_on": str(timezone.localdate()),
              "details": "Vorname falsch"}, h["zks"])
    assert r.status_code == 201, r.content
    req = r.json()
    assert req["state"] == "open" and req["kind_label"].startswith("Berichtigung")
    r = post(c, f"{BASE}/rights-requests/{req['id']}/decision",
             {"decision": "granted", "reason": "Nachweis durch Ausweis liegt vor.",
              "changes": {"first_names": "Maximilian"}}, h["zks"])
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "granted"
    r = c.get(f"{BASE}/rights-requests/{req['id']}/letter.pdf", **h["dsb"])
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert r["Cache-Control"] == "no-store"
    assert "Maximilian Mustermann" in flat(pdf_text(r.content))
    r = c.get(f"{BASE}/rights-requests?state=open", **h["dsb"])
    assert [x["kind"] for x in r.json()] == ["art14"]


def test_bad_input_is_a_clear_problem_and_changes_nothing(api):
    c, h, person = api["client"], api["h"], api["person"]
    before = RightsRequest.objects.count()
    r = post(c, f"{BASE}/persons/999999/rights-requests", {"kind": "art15"}, h["zks"])
    assert r.status_code == 404
    assert r["Content-Type"].startswith("application/problem+json")
    r = post(c, f"{BASE}/persons/{person.pk}/rights-requests", {"kind": "art99"}, h["zks"])
    assert r.status_code == 400 and "art99" in r.json()["detail"]
    r = post(c, f"{BASE}/persons/{person.pk}/rights-requests",
             {"kind": "art15", "received_on": "31.12.2025"}, h["zks"])
    assert r.status_code == 400
    r = post(c, f"{BASE}/persons/{person.pk}/rights-requests",
             {"kind": "art15", "extra": 1}, h["zks"])
    assert r.status_code == 400
    assert RightsRequest.objects.count() == before
    req = post(c, f"{BASE}/persons/{person.pk}/rights-requests", {"kind": "art21"},
               h["zks"]).json()
    r = post(c, f"{BASE}/rights-requests/{req['id']}/decision", {"decision": "refused"},
             h["zks"])
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "reason"
    r = post(c, f"{BASE}/rights-requests/{req['id']}/decision",
             {"decision": "vielleicht", "reason": "Keine Ahnung, ehrlich."}, h["zks"])
    assert r.status_code == 400
    r = post(c, f"{BASE}/rights-requests/424242/decision",
             {"decision": "refused", "reason": "Gibt es gar nicht."}, h["zks"])
    assert r.status_code == 404
    assert RightsRequest.objects.get(pk=req["id"]).state == "open"
    r = c.get(f"{BASE}/rights-requests?state=bald", **h["zks"])
    assert r.status_code == 400


@pytest.mark.parametrize("role", ["querier", "statistik", "reporter"])
def test_other_roles_get_403_everywhere(api, role):
    c, h, person = api["client"], api["h"][role], api["person"]
    art14 = RightsRequest.objects.get(person=person)
    assert post(c, f"{BASE}/persons/{person.pk}/rights-requests", {"kind": "art15"},
                h).status_code == 403
    assert c.get(f"{BASE}/rights-requests", **h).status_code == 403
    assert c.get(f"{BASE}/rights-requests/{art14.pk}/letter.pdf", **h).status_code == 403
    assert c.get(f"{BASE}/persons/{person.pk}/access-report", **h).status_code == 403
    assert c.get(f"{BASE}/persons/{person.pk}/access-report.pdf", **h).status_code == 403
    assert post(c, f"{BASE}/rights-requests/{art14.pk}/decision", {"decision": "done"},
                h).status_code == 403
    assert post(c, f"{BASE}/rights-requests/{art14.pk}/defer",
                {"reason": "Ermittlungen laufen noch", "defer_until": "2099-01-01"},
                h).status_code == 403


def test_dpo_reads_but_does_not_decide(api):
    c, h, person = api["client"], api["h"], api["person"]
    art14 = RightsRequest.objects.get(person=person)
    assert c.get(f"{BASE}/rights-requests", **h["dsb"]).status_code == 200
    assert c.get(f"{BASE}/rights-requests/{art14.pk}/letter.pdf", **h["dsb"]).status_code == 200
    assert post(c, f"{BASE}/rights-requests/{art14.pk}/decision", {"decision": "done"},
                h["dsb"]).status_code == 403
    assert post(c, f"{BASE}/persons/{person.pk}/rights-requests", {"kind": "art15"},
                h["dsb"]).status_code == 403


def test_art14_defer_and_overdue_filter(api):
    c, h, person = api["client"], api["h"], api["person"]
    art14 = RightsRequest.objects.get(person=person)
    r = post(c, f"{BASE}/rights-requests/{art14.pk}/defer", {"reason": "Ermittlungen"},
             h["zks"])
    assert r.status_code == 400
    until = timezone.localdate() + timedelta(days=30)
    r = post(c, f"{BASE}/rights-requests/{art14.pk}/defer",
             {"reason": "Polizeiliche Ermittlungen würden gefährdet.",
              "defer_until": str(until)}, h["zks"])
    assert r.status_code == 200 and r.json()["state"] == "deferred"
    assert c.get(f"{BASE}/rights-requests?state=overdue", **h["zks"]).json() == []


def test_access_report_json_and_pdf(api, people):  # noqa: F811
    c, h, person = api["client"], api["h"], api["person"]
    Lookup.objects.create(kind="person", querier=people["querier"],
                          querier_label="Quentin, Test", unit_code="32/1", purpose="Az. 1",
                          shown=[person.pk])
    r = c.get(f"{BASE}/persons/{person.pk}/access-report", **h["dsb"])
    assert r.status_code == 200
    data = r.json()
    assert data["person"]["date_of_birth"] == "1980-04-12"
    assert data["lookups_per_unit"] == {"32/1": 1}
    assert "Quentin" not in r.content.decode() and "Reinhold" not in r.content.decode()
    r = c.get(f"{BASE}/persons/{person.pk}/access-report.pdf", **h["zks"])
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    text = flat(pdf_text(r.content))
    assert "Mustermann" in text and "Quentin" not in text
    assert c.get(f"{BASE}/persons/999999/access-report", **h["zks"]).status_code == 404


def test_erasure_decision_returns_the_letter(api):
    c, h, person = api["client"], api["h"], api["person"]
    req = post(c, f"{BASE}/persons/{person.pk}/rights-requests", {"kind": "art17"},
               h["zks"]).json()
    r = post(c, f"{BASE}/rights-requests/{req['id']}/decision",
             {"decision": "granted", "reason": "Voraussetzungen der Eintragung entfallen."},
             h["zks"])
    assert r.status_code == 200, r.content
    pdf = base64.b64decode(r.json()["letter_pdf_base64"])
    assert "Max Mustermann" in flat(pdf_text(pdf))
    assert c.get(f"{BASE}/rights-requests/{req['id']}/letter.pdf",
                 **h["zks"]).status_code == 409
