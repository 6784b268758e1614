"""The issue's "done when", through the API with the demo accounts: a level-2 threat goes
submitted → released → complaint_filed → published; a level-1 insult ends complaint_filed →
closed and can never be published."""

import pytest

from beistand.demo.services import load_demo
from beistand.register.models import RegisterEntry, RegisterPerson
from beistand.reports.models import StatusChange
from tests.conftest import issue_token
from tests.reports.api_helpers import act, body, create

pytestmark = pytest.mark.django_db

ROLES = ("melder", "vorgesetzte", "personal", "zks", "abfrage", "statistik")


@pytest.fixture
def demo(client, settings):
    settings.DEMO_MODE = True  # the demo password opens the demo accounts only in demo mode
    load_demo()
    return {name: {"HTTP_AUTHORIZATION": f"Bearer {issue_token(client, name, 'demo')}"}
            for name in ROLES}


def _get(client, headers, rid):
    return client.get(f"/api/v1/reports/{rid}", **headers)


def test_level_2_report_is_published_by_the_four_roles(client, demo):
    report = create(client, demo["melder"], submit=True, offences=["threat"],
                    perpetrators=[{"last_name": "Beispiel", "first_names": "Bernd",
                                   "date_of_birth": "1975-05-05", "street": "Weg",
                                   "house_number": "1", "postal_code": "12345",
                                   "city": "Musterstadt"}])
    rid = report["id"]
    assert report["status"] == "submitted" and report["hazard_level"] == 2
    assert _get(client, demo["vorgesetzte"], rid).json()["allowed_actions"] == [
        "release", "return"]
    queue = client.get("/api/v1/reports?scope=queue", **demo["vorgesetzte"]).json()
    assert rid in [i["id"] for i in queue["items"]]

    steps = [("vorgesetzte", "release", {}, "released"),
             ("personal", "file_complaint", {"police_file_number": "KK11-2026-0815",
                                             "complaint_date": "2026-01-05"},
              "complaint_filed"),
             ("zks", "publish", {"comment": "Qualität geprüft"}, "published")]
    for name, action, fields, state in steps:
        queue = client.get("/api/v1/reports?scope=queue", **demo[name]).json()
        assert rid in [i["id"] for i in queue["items"]], name
        response = act(client, demo[name], rid, action, **fields)
        assert response.status_code == 200, response.content
        assert response.json()["status"] == state
    history = _get(client, demo["melder"], rid).json()["history"]
    assert [(h["action"], h["to"]) for h in history] == [
        ("create", "draft"), ("submit", "submitted"), ("release", "released"),
        ("file_complaint", "complaint_filed"), ("publish", "published")]
    entry = RegisterEntry.objects.get(report_id=rid)
    assert RegisterPerson.objects.get(pk=entry.person_id).last_name == "Beispiel"
    # Queriers and statistics never see the case itself.
    for name in ("abfrage", "statistik"):
        assert _get(client, demo[name], rid).status_code == 404
        assert client.get("/api/v1/reports", **demo[name]).json()["count"] == 0


def test_level_1_insult_is_closed_and_never_published(client, demo):
    rid = create(client, demo["melder"], submit=True, offences=["insult"])["id"]
    act(client, demo["vorgesetzte"], rid, "release")
    # Zero tolerance: even a level-1 attack goes to the criminal complaint first.
    early = act(client, demo["zks"], rid, "close", reason="unter der Schwelle")
    assert early.status_code == 409
    assert act(client, demo["personal"], rid, "file_complaint",
               police_file_number="KK11-2026-0816").status_code == 200
    refused = act(client, demo["zks"], rid, "publish")
    assert refused.status_code == 409
    assert "Eintragungsschwelle" in refused.json()["detail"]
    closed = act(client, demo["zks"], rid, "close",
                 reason="Stufe 1: Anzeige erstattet, keine Eintragung.")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert closed.json()["close_reason"].startswith("Stufe 1")
    again = act(client, demo["zks"], rid, "publish")
    assert again.status_code == 409 and again.json()["allowed_actions"] == []
    assert not RegisterEntry.objects.filter(report_id=rid).exists()
    assert list(StatusChange.objects.filter(report_id=rid).values_list("to_status", flat=True)
                ) == ["draft", "submitted", "released", "complaint_filed", "closed"]


def test_below_threshold_report_without_attack_may_be_closed_after_release(client, demo):
    rid = create(client, demo["melder"], submit=True, offences=["controversy"],
                 perpetrators=[])["id"]
    act(client, demo["vorgesetzte"], rid, "release")
    assert act(client, demo["zks"], rid, "close", reason="kein Angriff").status_code == 200


def test_draft_body_roundtrip_in_demo(client, demo):
    """The demo reporter's default room and unit are taken from the organisation."""
    report = create(client, demo["melder"], **{k: v for k, v in body().items()
                                                if k != "location"})
    assert report["location"]["room"].endswith("Raum 2.05")
