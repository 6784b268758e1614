"""Reports API: catalogues, creating and editing, reading per role, lists, the workflow."""

import pytest

from beistand.audit.models import AuditEvent
from beistand.organisation.models import Employee
from beistand.register.models import RegisterEntry
from beistand.reports.models import Offence, Report
from tests.reports.api_helpers import act, body, create, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def tokens(cast, bearer):
    return {name: bearer(user) for name, user in cast.items() if name != "org"}


def test_offence_catalogue_has_exactly_the_documented_shape(client, cast, tokens):
    Offence.objects.filter(code="rampage").update(active=False)
    response = client.get("/api/v1/catalogue/offences", **tokens["melder"])
    assert response.status_code == 200
    rows = response.json()
    assert all(set(row) == {"code", "label", "level", "attack"} for row in rows)
    by_code = {row["code"]: row for row in rows}
    assert by_code["insult"] == {"code": "insult", "label": "Beleidigung", "level": 1,
                                 "attack": True}
    assert by_code["threat"]["level"] == 2 and by_code["weapon"]["level"] == 3
    assert "rampage" not in by_code  # retired entries are not offered


def test_help_offer_catalogue_names_the_responsible_unit(client, cast, tokens):
    rows = client.get("/api/v1/catalogue/help-offers", **tokens["melder"]).json()
    assert all(set(r) == {"code", "label", "description", "unit_code"} for r in rows)
    assert {r["unit_code"] for r in rows} == {"11", "I/2", "I/3"}
    assert "registry_block" in {r["code"] for r in rows}


def test_catalogue_needs_a_login(client, cast):
    response = client.get("/api/v1/catalogue/offences")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_create_draft_with_defaults(client, cast, tokens):
    melder = cast["melder"].employee
    report = create(client, tokens["melder"], offences=["insult", "threat"])
    assert report["status"] == "draft" and report["status_label"] == "Entwurf"
    assert report["reference"].startswith("M-") and report["reference"].endswith(
        f"{report['id']:05d}")
    assert report["hazard_level"] == 2 and report["attack"] is True
    assert report["location"]["kind"] == "office"
    assert report["location"]["room_id"] == melder.room_id  # the reporter's room by default
    assert report["victims"] == [{"id": melder.pk, "name": melder.full_name}]
    assert report["reporter"]["id"] == melder.pk
    assert report["allowed_actions"] == ["submit"]
    assert report["perpetrators"][0]["last_name"] == "Mustermann"
    assert report["perpetrators"][0]["date_of_birth"] == "1980-04-01"
    assert [h["action"] for h in report["history"]] == ["create"]
    assert report["history"][0]["actor"] == melder.full_name
    assert report["history"][0]["from"] == "" and report["history"][0]["to"] == "draft"
    assert report["due_at"] is None and report["overdue"] is False


def test_create_from_the_field_with_witnesses_and_help(client, cast, tokens):
    colleague = cast["fremd"].employee
    report = create(
        client, tokens["melder"], submit=True,
        location={"kind": "field", "address": "Hauptstraße 5, Teststadt", "lat": 50.93,
                  "lon": 6.95},
        witnesses=[{"employee_id": colleague.pk}, {"name": "Frau Passantin",
                                                   "contact": "0170 123"}],
        injuries="Prellung am Arm", incapacity_days=4, police_on_site=True,
        police_on_site_file_number="PP-2026-1", house_ban_issued=True,
        help_offers=["psychosocial"])
    assert report["status"] == "submitted"
    assert report["location"] == {"kind": "field", "room_id": None, "room": "",
                                  "address": "Hauptstraße 5, Teststadt", "lat": 50.93,
                                  "lon": 6.95}
    assert report["witnesses"][0] == {"employee_id": colleague.pk,
                                      "name": colleague.full_name, "contact": ""}
    assert report["witnesses"][1]["name"] == "Frau Passantin"
    assert report["incapacity_days"] == 4 and report["police_on_site_file_number"] == "PP-2026-1"
    assert report["due_at"] is not None
    # The reporter asked for help for themself: they see the request in their report.
    assert [h["offer"]["code"] for h in report["help_requests"]] == ["psychosocial"]
    assert report["help_requests"][0]["mine"] is True


def test_who_may_read_a_report(client, cast, tokens):
    draft = create(client, tokens["melder"])
    expected_draft = {"melder": 200, "chefin": 404, "personal": 404, "zks": 404, "fremd": 404}
    for name, status in expected_draft.items():
        assert client.get(f"/api/v1/reports/{draft['id']}", **tokens[name]).status_code == \
            status, name
    submitted = create(client, tokens["melder"], submit=True)
    expected = {"melder": 200, "chefin": 200, "personal": 404, "zks": 200, "fremd": 404}
    for name, status in expected.items():
        response = client.get(f"/api/v1/reports/{submitted['id']}", **tokens[name])
        assert response.status_code == status, name
        if status == 404:
            assert response["Content-Type"] == "application/problem+json"
    assert act(client, tokens["chefin"], submitted["id"], "release").status_code == 200
    assert client.get(f"/api/v1/reports/{submitted['id']}",
                      **tokens["personal"]).status_code == 200


def test_each_read_is_audited_with_its_purpose(client, cast, tokens):
    report = create(client, tokens["melder"], submit=True)
    before = AuditEvent.objects.filter(action="reports.report.read").count()
    response = client.get(f"/api/v1/reports/{report['id']}?purpose=Qualitätsprüfung",
                          **tokens["zks"])
    assert response.status_code == 200
    reads = AuditEvent.objects.filter(action="reports.report.read").order_by("seq")
    assert reads.count() == before + 1
    last = reads.last()
    assert last.actor_id == cast["zks"].pk and last.purpose == "Qualitätsprüfung"
    assert last.object_id == str(report["id"])


def test_allowed_actions_depend_on_the_caller(client, cast, tokens):
    report = create(client, tokens["melder"], submit=True)
    actions = {name: client.get(f"/api/v1/reports/{report['id']}", **tokens[name])
               .json()["allowed_actions"] for name in ("melder", "chefin", "zks")}
    assert actions == {"melder": [], "chefin": ["release", "return"], "zks": []}


def test_lists_by_scope_without_perpetrator_data(client, cast, tokens):
    own = create(client, tokens["melder"], submit=True)
    draft = create(client, tokens["melder"])
    other = create(client, tokens["fremd"], submit=True)

    def ids(name, scope):
        response = client.get(f"/api/v1/reports?scope={scope}", **tokens[name])
        assert response.status_code == 200
        page = response.json()
        for item in page["items"]:
            assert "perpetrators" not in item and "description" not in item
            assert "Mustermann" not in str(item)
        return [item["id"] for item in page["items"]]

    assert ids("melder", "mine") == [draft["id"], own["id"]]
    assert ids("melder", "queue") == []
    assert ids("chefin", "queue") == [own["id"]]  # only the one of her team, not the draft
    assert ids("chefin", "mine") == []
    assert set(ids("zks", "visible")) == {own["id"], other["id"]}  # never drafts
    assert ids("personal", "queue") == []
    act(client, tokens["chefin"], own["id"], "release")
    assert ids("personal", "queue") == [own["id"]]
    assert ids("fremd", "visible") == [other["id"]]


def test_list_pagination(client, cast, tokens):
    made = [create(client, tokens["melder"])["id"] for _ in range(3)]
    first = client.get("/api/v1/reports?scope=mine&limit=2", **tokens["melder"]).json()
    assert first["count"] == 3 and first["limit"] == 2 and first["offset"] == 0
    second = client.get("/api/v1/reports?scope=mine&limit=2&offset=2",
                        **tokens["melder"]).json()
    assert [i["id"] for i in first["items"] + second["items"]] == made[::-1]
    bad = client.get("/api/v1/reports?limit=0", **tokens["melder"])
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "limit"
    assert client.get("/api/v1/reports?scope=alle", **tokens["melder"]).status_code == 400
    # An offset beyond the database's integers (found by the API fuzzer on PostgreSQL: 500).
    huge = client.get("/api/v1/reports?offset=220772190014202413056", **tokens["melder"])
    assert huge.status_code == 400 and huge.json()["errors"][0]["field"] == "offset"


def test_patch_edits_a_draft_and_submits_it(client, cast, tokens):
    report = create(client, tokens["melder"])
    url = f"/api/v1/reports/{report['id']}"
    response = post(client, url, body(offences=["weapon"], perpetrators=[]),
                    tokens["melder"], method="patch")
    assert response.status_code == 200
    assert response.json()["hazard_level"] == 3 and response.json()["perpetrators"] == []
    response = post(client, url, body(offences=["weapon"], submit=True), tokens["melder"],
                    method="patch")
    assert response.json()["status"] == "submitted"
    # Submitted: no more edits, not by the reporter and not by anyone else.
    again = post(client, url, body(), tokens["melder"], method="patch")
    assert again.status_code == 409
    assert post(client, url, body(), tokens["chefin"], method="patch").status_code == 403


def test_return_and_resubmit(client, cast, tokens):
    report = create(client, tokens["melder"], submit=True)
    rid = report["id"]
    returned = act(client, tokens["chefin"], rid, "return", comment="Bitte Uhrzeit ergänzen.")
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    seen = client.get(f"/api/v1/reports/{rid}", **tokens["melder"]).json()
    assert seen["history"][-1]["comment"] == "Bitte Uhrzeit ergänzen."
    assert seen["history"][-1]["actor"] == cast["chefin"].employee.full_name
    assert seen["allowed_actions"] == ["resubmit"]
    response = post(client, f"/api/v1/reports/{rid}", body(description="Um 10:15 Uhr …",
                                                           submit=True),
                    tokens["melder"], method="patch")
    assert response.json()["status"] == "submitted"
    assert [h["action"] for h in response.json()["history"]] == [
        "create", "submit", "return", "resubmit"]


def test_full_path_to_the_register(client, cast, tokens):
    rid = create(client, tokens["melder"], submit=True)["id"]
    assert act(client, tokens["chefin"], rid, "release").json()["status"] == "released"
    filed = act(client, tokens["personal"], rid, "file_complaint",
                police_file_number="KK11-2026-4711", complaint_date="2026-01-02")
    assert filed.status_code == 200, filed.content
    assert filed.json()["police_file_number"] == "KK11-2026-4711"
    assert filed.json()["complaint_date"] == "2026-01-02"
    published = act(client, tokens["zks"], rid, "publish", comment="geprüft")
    assert published.status_code == 200
    detail = published.json()
    assert detail["status"] == "published" and detail["allowed_actions"] == []
    assert [h["to"] for h in detail["history"]] == [
        "draft", "submitted", "released", "complaint_filed", "published"]
    assert RegisterEntry.objects.filter(report_id=rid).count() == 1


def test_victims_other_than_the_reporter(client, cast, tokens, make_user, org):
    colleague = make_user("kollegin", unit=org["abt"]).employee
    report = create(client, tokens["melder"], victims=[colleague.pk], submit=True)
    assert [v["id"] for v in report["victims"]] == [colleague.pk]
    assert Report.objects.get(pk=report["id"]).victims.get() == Employee.objects.get(
        pk=colleague.pk)
