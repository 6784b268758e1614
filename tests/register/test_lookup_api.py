"""POST /api/v1/register/lookups and the logged detail click."""

import json
from datetime import date, timedelta

import pytest
from django.utils import timezone

from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent
from beistand.register.models import Lookup
from tests.register.test_lookup import PURPOSE, make_person

URL = "/api/v1/register/lookups"


def post(client, headers, body):
    return client.post(URL, data=json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def person(db):
    return make_person("Müller", "Hans Peter", date(1980, 3, 5),
                       address=("Hauptstraße", "7", "50667"))


@pytest.fixture
def querier_headers(make_user, org, bearer):
    user = make_user("abfrage", roles=[Role.QUERIER], unit=org["amt32"],
                     expires_at=timezone.now() + timedelta(days=30))
    return bearer(user)


def test_person_lookup_and_detail(client, querier_headers, person):
    response = post(client, querier_headers, {"purpose": PURPOSE, "last_name": "Mueller",
                                              "first_name": "Peter",
                                              "date_of_birth": "1980-05-03"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"id", "kind", "candidates"}
    [card] = body["candidates"]
    assert set(card) == {"entry_id", "last_name", "first_names", "date_of_birth", "hazard_level",
                         "last_incident_on", "measures", "score", "level", "explanation",
                         "match"}
    assert card["entry_id"] == person.pk and card["date_of_birth"] == "1980-03-05"
    assert {"field": "date_of_birth", "how": "Tag und Monat vertauscht",
            "detail": ""} in card["match"]
    # The match level from the model's probability, and one line on what agrees and differs.
    assert card["level"] in ("sicher", "wahrscheinlich", "möglich")
    assert card["explanation"] == ("Name: exakt, Vorname: exakt, "
                                   "Geburtsdatum: Tag und Monat vertauscht")
    detail = client.get(f"{URL}/{body['id']}/persons/{person.pk}", **querier_headers)
    assert detail.status_code == 200, detail.content
    assert detail.json()["incidents"][0]["incident_date"] == "2026-01-10"
    assert Lookup.objects.filter(kind="detail", parent_id=body["id"]).count() == 1
    missing = client.get(f"{URL}/{body['id']}/persons/999999", **querier_headers)
    assert missing.status_code == 404


def test_address_variant(client, querier_headers, person):
    response = post(client, querier_headers, {"purpose": PURPOSE, "street": "Hauptstr.",
                                              "house_number": "7", "postal_code": "50667"})
    assert response.status_code == 200, response.content
    assert response.json()["kind"] == "address"
    assert [c["entry_id"] for c in response.json()["candidates"]] == [person.pk]
    card = response.json()["candidates"][0]
    assert (card["level"], card["explanation"]) == ("sicher", "Anschrift: gleiche Anschrift")


@pytest.mark.parametrize(("body", "field"), [
    ({"last_name": "Mueller", "first_name": "Hans"}, "purpose"),
    ({"purpose": PURPOSE, "last_name": "Mueller"}, "first_name"),
    ({"purpose": PURPOSE, "last_name": "Muel*", "first_name": "Hans"}, "last_name"),
    ({"purpose": PURPOSE, "last_name": "Mueller", "date_of_birth": "1980-02-30"},
     "date_of_birth"),
    ({"purpose": PURPOSE, "last_name": "Mueller", "first_name": "Hans", "wildcard": True},
     "wildcard"),
    ({"purpose": PURPOSE}, "last_name"),
])
def test_bad_input_400_names_the_field_and_writes_nothing(client, querier_headers, person,
                                                          body, field):
    before = AuditEvent.objects.count()
    response = post(client, querier_headers, body)
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert field in json.dumps(problem["errors"]) and problem["detail"]
    assert Lookup.objects.count() == 0 and AuditEvent.objects.count() == before


def test_roles(client, make_user, bearer, person):
    expired = make_user("alt", roles=[Role.QUERIER],
                        expires_at=timezone.now() - timedelta(minutes=1))
    for user in (expired, make_user("statistik", roles=[Role.STATISTICS]),
                 make_user("dsb", roles=[Role.DPO]), make_user("ohne")):
        headers = bearer(user)  # issuing the token is audited itself
        before = AuditEvent.objects.count()
        response = post(client, headers, {"purpose": PURPOSE, "last_name": "Mueller",
                                          "first_name": "Hans"})
        assert response.status_code == 403, (user, response.content)
        assert Lookup.objects.count() == 0 and AuditEvent.objects.count() == before
    assert post(client, {}, {"purpose": PURPOSE, "last_name": "Mueller",
                             "first_name": "Hans"}).status_code == 401


def test_no_person_listing_endpoint(client, querier_headers, person):
    assert client.get(URL, **querier_headers).status_code in (404, 405)
    assert client.get("/api/v1/register/persons", **querier_headers).status_code in (404, 405)


def test_spelling_variant_names_both_spellings(client, querier_headers, db):
    voigt = make_person("Voigt", "Michael", date(1975, 3, 14))
    response = post(client, querier_headers, {"purpose": PURPOSE, "last_name": "Vogt",
                                              "first_name": "Michael",
                                              "date_of_birth": "1975-03-15"})
    assert response.status_code == 200, response.content
    [card] = response.json()["candidates"]
    assert card["entry_id"] == voigt.pk
    assert {"field": "last_name", "how": "phonetisch", "detail": "vogt/voigt"} in card["match"]
    assert card["explanation"] == ("Name: phonetisch (vogt/voigt), Vorname: exakt, "
                                   "Geburtsdatum: wenige Tage abweichend")
