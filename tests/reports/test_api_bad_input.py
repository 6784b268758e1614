"""Every bad input of the issue through the API: a clear problem+json, and nothing changed."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from tests.reports.api_helpers import act, body, create, post, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def tokens(cast, bearer):
    return {name: bearer(user) for name, user in cast.items() if name != "org"}


@pytest.fixture
def inactive_colleague(make_user, org):
    employee = make_user("ausgeschieden", unit=org["abt"]).employee
    employee.active = False
    with transaction.atomic():
        employee.save()
    return employee


def _assert_problem(response, status, field=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["detail"]
    if field is not None:
        assert field in [e["field"] for e in problem.get("errors", [])], problem
    return problem


BAD_BODIES = {
    "future": ({"occurred_at": (timezone.now() + timedelta(days=1)).isoformat()},
               "occurred_at"),
    "not_a_time": ({"occurred_at": "gestern"}, "occurred_at"),
    "no_offence": ({"offences": []}, "offences"),
    "unknown_offence": ({"offences": ["threat", "jaywalking"]}, "offences"),
    "victim_unknown": ({"victims": [987654]}, "victims"),
    "victim_not_a_number": ({"victims": ["Frau Müller"]}, "victims.0"),
    "unknown_field": ({"severity": 3}, "severity"),
    "unknown_nested_field": ({"perpetrators": [{"last_name": "X", "diagnosis": "krank"}]},
                             "perpetrators.0.diagnosis"),
    "known_without_name": ({"perpetrators": [{"known": True, "first_names": "Max"}]},
                           "perpetrators.0.last_name"),
    "location_kind": ({"location": {"kind": "mond"}}, "location.kind"),
    "field_without_address": ({"location": {"kind": "field"}}, "location.address"),
    "office_with_address": ({"location": {"kind": "office", "address": "x"}},
                            "location.address"),
    "unknown_room": ({"location": {"kind": "office", "room_id": 999999}}, "location.room_id"),
    "latitude": ({"location": {"kind": "field", "address": "x", "lat": 123}}, "location.lat"),
    "too_long": ({"police_on_site_file_number": "A" * 61}, "police_on_site_file_number"),
    "incapacity": ({"incapacity_days": 400}, "incapacity_days"),
    "no_description": ({"description": "   "}, "description"),
    "unknown_help_offer": ({"help_offers": ["spa_day"]}, "help_offers"),
    "witness_without_name": ({"witnesses": [{"contact": "0170"}]}, "witnesses.0.name"),
}


@pytest.mark.parametrize("case", BAD_BODIES, ids=str)
def test_bad_report_body_is_400_naming_the_field(client, cast, tokens, case):
    overrides, field = BAD_BODIES[case]
    before = snapshot()
    response = post(client, "/api/v1/reports", body(submit=True, **overrides),
                    tokens["melder"])
    _assert_problem(response, 400, field)
    assert snapshot() == before


def test_inactive_victim_is_refused(client, cast, tokens, inactive_colleague):
    before = snapshot()
    response = post(client, "/api/v1/reports", body(victims=[inactive_colleague.pk]),
                    tokens["melder"])
    _assert_problem(response, 400, "victims")
    assert snapshot() == before


def test_malformed_json_and_missing_fields(client, cast, tokens):
    before = snapshot()
    response = client.post("/api/v1/reports", "{nicht json", content_type="application/json",
                           **tokens["melder"])
    _assert_problem(response, 400)
    missing = post(client, "/api/v1/reports", {"offences": ["threat"]}, tokens["melder"])
    _assert_problem(missing, 400, "occurred_at")
    assert snapshot() == before


def test_account_without_employee_cannot_report(client, cast, bearer, make_user):
    technical = make_user("technik", employee=False)
    headers = bearer(technical)
    before = snapshot()
    _assert_problem(post(client, "/api/v1/reports", body(), headers), 403)
    assert snapshot() == before


def test_bad_patch_changes_nothing(client, cast, tokens):
    report = create(client, tokens["melder"])
    before = snapshot()
    url = f"/api/v1/reports/{report['id']}"
    _assert_problem(post(client, url, body(offences=["nope"]), tokens["melder"],
                         method="patch"), 400, "offences")
    _assert_problem(post(client, url, body(), tokens["fremd"], method="patch"), 404)
    assert snapshot() == before


@pytest.fixture
def submitted_id(client, tokens):
    return create(client, tokens["melder"], submit=True)["id"]


def test_wrong_role_is_403(client, cast, tokens, submitted_id):
    before = snapshot()
    for name in ("melder", "zks"):
        problem = _assert_problem(act(client, tokens[name], submitted_id, "release"), 403)
        assert "Vorgesetzte" in problem["detail"]
    assert snapshot() == before


def test_action_in_the_wrong_state_is_409_naming_allowed_actions(client, cast, tokens,
                                                                 submitted_id):
    before = snapshot()
    problem = _assert_problem(act(client, tokens["chefin"], submitted_id, "publish"), 409)
    assert problem["allowed_actions"] == ["release", "return"]
    assert "release" in problem["detail"]
    unknown = _assert_problem(act(client, tokens["chefin"], submitted_id, "approve_all"), 409)
    assert unknown["allowed_actions"] == ["release", "return"]
    # Somebody with nothing to do here learns that, too.
    nothing = _assert_problem(act(client, tokens["zks"], submitted_id, "publish"), 409)
    assert nothing["allowed_actions"] == []
    assert snapshot() == before


def test_publish_below_threshold_is_409_with_reason(client, cast, tokens):
    rid = create(client, tokens["melder"], offences=["insult"], submit=True)["id"]
    act(client, tokens["chefin"], rid, "release")
    act(client, tokens["personal"], rid, "file_complaint", police_file_number="KK-1")
    before = snapshot()
    problem = _assert_problem(act(client, tokens["zks"], rid, "publish"), 409)
    assert "Eintragungsschwelle" in problem["detail"]
    assert problem["allowed_actions"] == ["publish", "close"]
    assert snapshot() == before


def test_missing_action_fields_are_400(client, cast, tokens, submitted_id):
    before = snapshot()
    _assert_problem(act(client, tokens["chefin"], submitted_id, "return"), 400, "comment")
    _assert_problem(act(client, tokens["chefin"], submitted_id, "return", comment="  "),
                    400, "comment")
    _assert_problem(act(client, tokens["chefin"], submitted_id, "release", urgent=True),
                    400, "urgent")
    _assert_problem(post(client, f"/api/v1/reports/{submitted_id}/transitions", {},
                         tokens["chefin"]), 400, "action")
    assert snapshot() == before
    act(client, tokens["chefin"], submitted_id, "release")
    before = snapshot()
    _assert_problem(act(client, tokens["personal"], submitted_id, "file_complaint"), 400,
                    "police_file_number")
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    _assert_problem(act(client, tokens["personal"], submitted_id, "file_complaint",
                        complaint_date=future), 400, "complaint_date")
    _assert_problem(act(client, tokens["personal"], submitted_id, "file_complaint",
                        complaint_date="02.01.2026"), 400, "complaint_date")
    assert snapshot() == before


def test_invisible_or_unknown_report_is_404(client, cast, tokens, submitted_id):
    before = snapshot()
    _assert_problem(act(client, tokens["fremd"], submitted_id, "release"), 404)
    _assert_problem(act(client, tokens["personal"], submitted_id, "release"), 404)
    _assert_problem(act(client, tokens["zks"], 999999, "release"), 404)
    _assert_problem(client.get("/api/v1/reports/999999", **tokens["zks"]), 404)
    assert snapshot() == before


def test_no_token_is_401(client, cast, submitted_id):
    before = snapshot()
    assert client.get(f"/api/v1/reports/{submitted_id}").status_code == 401
    response = post(client, f"/api/v1/reports/{submitted_id}/transitions",
                    {"action": "release"}, {})
    _assert_problem(response, 401)
    assert snapshot() == before
