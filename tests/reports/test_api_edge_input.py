"""Odd inputs that must never reach the database as a 500: huge ids, NUL characters, NaN."""

import json

import pytest

from tests.reports.api_helpers import body, create, post, snapshot

pytestmark = pytest.mark.django_db

HUGE = 10**20


@pytest.fixture
def tokens(cast, bearer):
    return {name: bearer(user) for name, user in cast.items() if name != "org"}


@pytest.mark.parametrize("overrides,field", [
    ({"location": {"kind": "office", "room_id": HUGE}}, "location.room_id"),
    ({"victims": [HUGE]}, "victims.0"),
    ({"witnesses": [{"employee_id": HUGE}]}, "witnesses.0.employee_id"),
    ({"incapacity_days": HUGE}, "incapacity_days"),
    ({"incapacity_days": -1}, "incapacity_days"),
    ({"description": "Er sagte \u0000 etwas"}, "description"),
    ({"perpetrators": [{"last_name": "Nul\u0000l"}]}, "perpetrators.0.last_name"),
    ({"offences": ["thr\u0000eat"]}, "offences.0"),
    ({"perpetrators": [{"last_name": "X", "aliases": ["A" * 101]}]},
     "perpetrators.0.aliases.0"),
], ids=["room", "victim", "witness", "incapacity", "negative", "nul", "nul-nested",
        "nul-code", "alias-length"])
def test_odd_values_are_400(client, cast, tokens, overrides, field):
    before = snapshot()
    response = post(client, "/api/v1/reports", body(**overrides), tokens["melder"])
    assert response.status_code == 400, response.content
    assert field in [e["field"] for e in response.json()["errors"]]
    assert snapshot() == before


def test_nan_coordinates_are_400(client, cast, tokens):
    before = snapshot()
    raw = json.dumps(body(location={"kind": "field", "address": "x", "lat": 1.0})).replace(
        '"lat": 1.0', '"lat": NaN')
    response = client.post("/api/v1/reports", raw, content_type="application/json",
                           **tokens["melder"])
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "location.lat"
    assert snapshot() == before


def test_huge_ids_in_paths_and_bodies(client, cast, tokens):
    rid = create(client, tokens["melder"], submit=True)["id"]
    for url in (f"/api/v1/reports/{HUGE}", f"/api/v1/reports/{rid}/attachments/{HUGE}"):
        assert client.get(url, **tokens["melder"]).status_code in (400, 404), url
    response = post(client, f"/api/v1/reports/{HUGE}/transitions", {"action": "release"},
                    tokens["chefin"])
    assert response.status_code in (400, 404)
    response = post(client, "/api/v1/help-requests", {"report_id": HUGE,
                                                      "offers": ["transfer"]},
                    tokens["melder"])
    assert response.status_code in (400, 404)
    assert post(client, f"/api/v1/help-requests/{HUGE}", {"state": "done"},
                tokens["melder"]).status_code in (400, 404)


def test_nul_in_action_fields_is_400(client, cast, tokens):
    rid = create(client, tokens["melder"], submit=True)["id"]
    response = post(client, f"/api/v1/reports/{rid}/transitions",
                    {"action": "return", "comment": "a\u0000b"}, tokens["chefin"])
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "comment",
                                          "detail": "Steuerzeichen (NUL) sind nicht erlaubt."}]
    # A NUL in the address is refused before any view (core.middleware.RejectNulMiddleware).
    read = client.get(f"/api/v1/reports/{rid}?purpose=Pr%00fung", **tokens["chefin"])
    assert read.status_code == 400
    assert read.json()["title"] == "Ungültige Anfrage"
