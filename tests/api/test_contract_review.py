"""Review of the API contract (#22): what an integrator building from the OpenAPI document and
docs/alarm-protocol.md alone relies on.

- A method a route does not have answers the ``method-not-allowed`` problem (405, ``Allow``),
  not Django Ninja's plain text.
- ``errors[].detail`` of an invalid-input problem is German for pydantic's error types too,
  never pydantic's English message.
- ``POST /alarms`` types its body strictly: ``countdown_s`` "5" is not 5, and an empty
  ``client_id`` is refused instead of being taken as "none"; nothing is raised. The OpenAPI
  document says so (``minLength``, ``pattern``).
"""

import json

import pytest

from beistand.alarms.models import Alarm
from beistand.alarms.seed import ensure_defaults
from beistand.core.problems import field_errors_from_pydantic

pytestmark = pytest.mark.django_db


@pytest.fixture
def alarm_defaults(db):
    ensure_defaults()

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("delete", "/api/v1/alarms", {"GET", "POST"}),
    ("put", "/api/v1/alarms/7/respond", {"POST"}),
    ("get", "/api/v1/auth/token", {"POST"}),
    ("patch", "/api/v1/health", {"GET"}),
])
def test_a_method_the_route_does_not_have_is_a_problem(client, method, path, allowed):
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"] == "/api/v1/problems/method-not-allowed" and body["status"] == 405
    assert body["title"] == "Methode nicht erlaubt" and "erlaubt:" in body["detail"]
    assert {m.strip() for m in response["Allow"].split(",")} == allowed


def _trigger(client, headers, body):
    return client.post("/api/v1/alarms", json.dumps(body), content_type="application/json",
                       **headers)


@pytest.mark.parametrize(("body", "field"), [
    ({"template": "beistand", "countdown_s": "5"}, "countdown_s"),
    ({"template": "beistand", "countdown_s": 5.0}, "countdown_s"),
    ({"template": "beistand", "countdown_s": True}, "countdown_s"),
    ({"template": "beistand", "client_id": ""}, "client_id"),
    ({"template": "beistand", "client_id": "mit leerzeichen"}, "client_id"),
    ({"template": "beistand", "client_id": 17}, "client_id"),
    ({"template": ""}, "template"),
    ({"template": "beistand", "position": {"lat": "50.9", "lon": 6.9}}, "position.lat"),
])
def test_trigger_types_are_strict_and_change_nothing(client, make_user, bearer, alarm_defaults,
                                                     body, field):
    headers = bearer(make_user("strikt"))
    response = _trigger(client, headers, body)
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["type"] == "/api/v1/problems/invalid-input"
    assert [e["field"] for e in problem["errors"]] == [field]
    assert not Alarm.objects.exists()


def test_the_strict_trigger_still_takes_what_the_docs_show(client, make_user, bearer,
                                                          alarm_defaults):
    headers = bearer(make_user("korrekt"))
    response = _trigger(client, headers, {"template": "beistand", "client_id": "a7c5:1-x_y.z",
                                          "countdown_s": 0, "source": "desktop",
                                          "position": {"lat": 50, "lon": 6.96}})
    assert response.status_code == 201, response.content
    # Omitted or null: no idempotency key (two presses, two alarms).
    assert _trigger(client, headers, {"template": "beistand", "client_id": None}) \
        .status_code == 201


def test_the_openapi_document_states_the_strict_trigger_fields(client):
    schema = client.get("/api/v1/schema/").json()
    trigger = schema["components"]["schemas"]["TriggerIn"]["properties"]
    client_id = next(s for s in trigger["client_id"]["anyOf"] if s.get("type") == "string")
    assert client_id["minLength"] == 1 and client_id["maxLength"] == 64
    assert client_id["pattern"] == r"^[A-Za-z0-9_.:\-]+$"
    assert trigger["template"]["minLength"] == 1
    countdown = next(s for s in trigger["countdown_s"]["anyOf"] if s.get("type") == "integer")
    assert (countdown["minimum"], countdown["maximum"]) == (0, 30)


def test_validation_details_are_german(client, make_user, bearer, alarm_defaults):
    headers = bearer(make_user("deutsch"))
    response = _trigger(client, headers, {"template": "x" * 31, "countdown_s": "fünf",
                                          "source": "fax", "location_text": "y" * 201})
    assert response.status_code == 400
    details = {e["field"]: e["detail"] for e in response.json()["errors"]}
    assert details["template"] == "Ist zu lang (höchstens 30 Zeichen)."
    assert details["countdown_s"] == "Muss eine ganze Zahl sein."
    assert details["location_text"] == "Ist zu lang (höchstens 200 Zeichen)."
    assert details["source"].startswith("Ist kein zulässiger Wert (erlaubt: „desktop“, ")
    response = _trigger(client, headers, {})
    assert response.json()["errors"] == [{"field": "template", "detail": "Pflichtfeld fehlt."}]
    response = _trigger(client, headers, {"template": "beistand", "countdown_s": 31})
    assert response.json()["errors"] == [{"field": "countdown_s",
                                          "detail": "Ist zu groß (höchstens 30)."}]


@pytest.mark.parametrize(("error", "german"), [
    ({"type": "missing", "loc": ("body", "payload", "a"), "msg": "Field required"},
     "Pflichtfeld fehlt."),
    ({"type": "string_too_short", "loc": ("a",), "msg": "String should have at least 1 "
      "character", "ctx": {"min_length": 1}}, "Ist zu kurz (mindestens 1 Zeichen)."),
    ({"type": "int_from_float", "loc": ("a",), "msg": "Input should be a valid integer, got a "
      "number with a fractional part"}, "Muss eine ganze Zahl sein."),
    ({"type": "greater_than", "loc": ("a",), "msg": "Input should be greater than 0",
      "ctx": {"gt": 0}}, "Muss größer als 0 sein."),
    ({"type": "string_pattern_mismatch", "loc": ("a",), "msg": "String should match pattern",
      "ctx": {"pattern": "x"}}, "Hat nicht das erlaubte Format."),
    # A pydantic type without its own text: the general German one, not pydantic's English.
    ({"type": "is_instance_of", "loc": ("a",), "msg": "Input should be an instance of X"},
     "Ungültiger Wert."),
    # Our own validators (PydanticCustomError) write German themselves.
    ({"type": "nul_character", "loc": ("a",), "msg": "Steuerzeichen (NUL) sind nicht erlaubt."},
     "Steuerzeichen (NUL) sind nicht erlaubt."),
])
def test_pydantic_error_types_become_german(error, german):
    assert field_errors_from_pydantic([error]) == [{"field": "a", "detail": german}]
