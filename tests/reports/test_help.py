"""Help requests: only the victim and the owning unit see them; the unit handles, all audited."""

import pytest
from django.db import transaction

from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent
from beistand.organisation.models import OrgUnit
from beistand.reports.models import HelpRequest
from tests.reports.api_helpers import create, post, snapshot

pytestmark = pytest.mark.django_db

URL = "/api/v1/help-requests"


@pytest.fixture
def people(cast, make_user, org):
    """The cast plus: unit I/2 with a social worker, a sub-unit of 11, and roles without a
    business with help data (querier, statistics, a ZKS-role holder outside I/3)."""
    with transaction.atomic():
        i2 = OrgUnit.objects.create(code="I/2", name="Soziales", kind="stabsstelle",
                                    parent=org["dez"])
        sub11 = OrgUnit.objects.create(code="11/2", name="Personalservice", kind="abteilung",
                                       parent=org["amt11"])
    return {
        **{k: v for k, v in cast.items() if k != "org"},
        "sozial": make_user("sozial", unit=i2),
        "service11": make_user("service11", unit=sub11),
        "abfrage": make_user("abfrage", roles=[Role.QUERIER], unit=org["amt32"]),
        "statistik": make_user("statistik", roles=[Role.STATISTICS], unit=org["amt32"]),
        "zks_extern": make_user("zksextern", roles=[Role.ZKS], unit=org["amt32"]),
    }


@pytest.fixture
def tokens(people, bearer):
    return {name: bearer(user) for name, user in people.items()}


@pytest.fixture
def report(client, tokens):
    return create(client, tokens["melder"], submit=True,
                  help_offers=["legal_protection", "psychosocial", "security_advice"])


def _offers(client, headers):
    response = client.get(URL, **headers)
    assert response.status_code == 200
    return sorted(hr["offer"]["code"] for hr in response.json())


SEES = {
    "melder": ["legal_protection", "psychosocial", "security_advice"],  # the victim
    "personal": ["legal_protection"],   # unit 11
    "fremd": ["legal_protection"],      # unit 11 without any role: the unit owns the offer
    "service11": ["legal_protection"],  # a unit below 11
    "sozial": ["psychosocial"],         # I/2
    "zks": ["security_advice"],         # ZKS staff only as members of I/3, for I/3 offers
    "chefin": [],                       # the supervisor sees the case, never the help
    "abfrage": [],
    "statistik": [],
    "zks_extern": [],                   # the ZKS role as such gives no help data
}


@pytest.mark.parametrize("name", SEES)
def test_visibility_per_role(client, tokens, report, name):
    assert _offers(client, tokens[name]) == SEES[name]


def test_the_report_shows_only_the_callers_help_requests(client, tokens, report):
    def codes(name):
        detail = client.get(f"/api/v1/reports/{report['id']}", **tokens[name]).json()
        return sorted(hr["offer"]["code"] for hr in detail["help_requests"])

    assert codes("melder") == SEES["melder"]
    assert codes("chefin") == []
    assert codes("zks") == ["security_advice"]


def test_reads_of_others_help_requests_are_audited(client, people, tokens, report):
    reads = AuditEvent.objects.filter(action="reports.helprequest.read")
    client.get(URL, **tokens["melder"])
    assert reads.count() == 0  # the victim's own data
    client.get(URL, **tokens["personal"])
    assert list(reads.values_list("actor_id", flat=True)) == [people["personal"].pk]
    assert reads.get().object_id == str(HelpRequest.objects.get(offer="legal_protection").pk)


def test_the_owning_unit_handles_a_request(client, people, tokens, report):
    hr = HelpRequest.objects.get(offer="legal_protection")
    response = post(client, f"{URL}/{hr.pk}", {"state": "in_progress",
                                               "note": "Termin am Montag, 10 Uhr"},
                    tokens["personal"])
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["state"] == "in_progress" and data["handling"] is True
    assert data["owner"]["id"] == people["personal"].employee.pk
    seen = next(h for h in client.get(URL, **tokens["melder"]).json() if h["id"] == hr.pk)
    assert seen["state_label"] == "in Bearbeitung" and seen["note"] == "Termin am Montag, 10 Uhr"
    assert AuditEvent.objects.filter(action="reports.helprequest.update",
                                     object_id=str(hr.pk)).exists()


def test_others_cannot_handle_a_request(client, tokens, report):
    hr = HelpRequest.objects.get(offer="legal_protection")
    before = snapshot()
    for name in ("zks", "chefin", "sozial", "zks_extern"):
        response = post(client, f"{URL}/{hr.pk}", {"state": "done"}, tokens[name])
        assert response.status_code == 404, name
    # The victim may withdraw, not process.
    assert post(client, f"{URL}/{hr.pk}", {"state": "done"}, tokens["melder"]).status_code == 403
    assert post(client, f"{URL}/{hr.pk}", {"state": "erledigt"},
                tokens["personal"]).status_code == 400
    assert post(client, f"{URL}/{hr.pk}", {"state": "done", "owner": 1},
                tokens["personal"]).status_code == 400
    assert snapshot() == before
    withdrawn = post(client, f"{URL}/{hr.pk}", {"state": "declined"}, tokens["melder"])
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "declined"
    assert post(client, f"{URL}/{hr.pk}", {"state": "declined"},
                tokens["melder"]).status_code == 409


def test_requesting_help_later_and_without_a_report(client, people, tokens, report):
    later = post(client, URL, {"report_id": report["id"], "offers": ["special_leave",
                                                                     "legal_protection"]},
                 tokens["melder"])
    assert later.status_code == 201
    # An open request is not duplicated.
    assert HelpRequest.objects.filter(offer="legal_protection").count() == 1
    assert HelpRequest.objects.filter(offer="special_leave", report_id=report["id"]).exists()
    alone = post(client, URL, {"offers": ["registry_block"]}, tokens["fremd"])
    assert alone.status_code == 201
    data = alone.json()[0]
    assert data["report"] is None and data["victim"]["id"] == people["fremd"].employee.pk
    assert data["mine"] is True and data["handling"] is True  # fremd works in unit 11 herself


def test_bad_help_requests_change_nothing(client, tokens, report):
    before = snapshot()
    cases = [
        ("melder", {"offers": []}, 400),
        ("melder", {"offers": ["massage"]}, 400),
        ("melder", {"offers": ["transfer"], "urgent": True}, 400),
        ("fremd", {"report_id": report["id"], "offers": ["transfer"]}, 404),  # not visible
        ("chefin", {"report_id": report["id"], "offers": ["transfer"]}, 403),  # not a victim
        ("melder", {"report_id": 999999, "offers": ["transfer"]}, 404),
    ]
    for name, data, status in cases:
        response = post(client, URL, data, tokens[name])
        assert response.status_code == status, (name, data, response.content)
        assert response["Content-Type"] == "application/problem+json"
    assert snapshot() == before
