"""Issue 5's "done when", end to end with the demo accounts through the API: a person published
by the report workflow is found by the querier `abfrage` under ten realistic spelling variants,
not for unrelated names, and never once restricted; every look-up is in the DPO's access log."""

import json

import pytest

from beistand.register import zks
from beistand.register.models import Lookup, RegisterEntry
from tests.reports.api_helpers import act, create
from tests.reports.test_api_demo_flow import ROLES, demo  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

PURPOSE = "Az. 51/4-123, Hausbesuch am 24.11."

PERSON = {"last_name": "Müller-Yılmaz", "first_names": "Hans-Jürgen", "birth_name": "Meier",
          "aliases": ["Hansi Müller"], "date_of_birth": "1975-03-04", "street": "Weidenweg",
          "house_number": "7", "postal_code": "12347", "city": "Musterstadt"}

VARIANTS = [
    {"last_name": "Mueller-Yilmaz", "first_name": "Hans-Juergen", "date_of_birth": "1975-03-04"},
    {"last_name": "Muller Yilmaz", "first_name": "Hans Jurgen", "date_of_birth": "1975-03-04"},
    {"last_name": "Yilmaz", "first_name": "Hans-Jürgen", "date_of_birth": "1975-03-04"},
    {"last_name": "Müller", "first_name": "Hans-Jürgen", "date_of_birth": "1975-03-04"},
    {"last_name": "Hans-Jürgen", "first_name": "Müller-Yılmaz", "date_of_birth": "1975-03-04"},
    {"last_name": "Müller-Yılmaz", "first_name": "Hans-Jürgen", "date_of_birth": "1975-03-07"},
    {"last_name": "Müller-Yılmaz", "first_name": "Hans-Jürgen", "date_of_birth": "1975-04-03"},
    {"last_name": "Mayer", "first_name": "Hans-Jürgen", "date_of_birth": "1975-03-04"},
    {"last_name": "Müller", "first_name": "Hansi", "date_of_birth": "1975-03-04"},
    {"last_name": "Müller-Yilmas", "first_name": "Hans-Jürgen", "date_of_birth": "1975-03-04"},
]
UNRELATED = [
    {"last_name": "Schneider", "first_name": "Anna", "date_of_birth": "1980-07-01"},
    {"last_name": "Kowalski", "first_name": "Piotr", "date_of_birth": "1969-11-23"},
    {"last_name": "Haddad", "first_name": "Samir", "date_of_birth": "1975-03-04"},
]


def _lookup(client, headers, query):
    return client.post("/api/v1/register/lookups", json.dumps({"purpose": PURPOSE, **query}),
                       content_type="application/json", **headers)


def _publish(client, demo):  # noqa: F811
    rid = create(client, demo["melder"], submit=True, offences=["threat"],
                 perpetrators=[PERSON])["id"]
    act(client, demo["vorgesetzte"], rid, "release")
    act(client, demo["personal"], rid, "file_complaint", police_file_number="KK11-2026-1")
    assert act(client, demo["zks"], rid, "publish").json()["status"] == "published"
    return RegisterEntry.objects.get(report_id=rid).person


def test_abfrage_finds_the_published_person_under_ten_variants(client, demo):  # noqa: F811
    person = _publish(client, demo)
    for query in VARIANTS:
        response = _lookup(client, demo["abfrage"], query)
        assert response.status_code == 200, (query, response.content)
        ids = [c["entry_id"] for c in response.json()["candidates"]]
        assert person.pk in ids, query
    for query in UNRELATED:
        response = _lookup(client, demo["abfrage"], query)
        assert response.status_code == 200
        assert response.json()["candidates"] == [], query
    # Every look-up is in the access log with its purpose, attributed to the querier.
    logged = Lookup.objects.filter(kind=Lookup.Kind.PERSON)
    assert logged.count() == len(VARIANTS) + len(UNRELATED)
    assert set(logged.values_list("purpose", flat=True)) == {PURPOSE}
    assert set(logged.values_list("querier__username", flat=True)) == {"abfrage"}


def test_restricted_person_is_never_shown(client, demo):  # noqa: F811
    from django.contrib.auth import get_user_model

    person = _publish(client, demo)
    zks_user = get_user_model().objects.get(username="zks")
    zks.restrict_person(zks_user, person.pk, "Verfahren eingestellt, Prüfung läuft")
    for query in VARIANTS[:3]:
        response = _lookup(client, demo["abfrage"], query)
        assert response.status_code == 200
        assert response.json()["candidates"] == []


@pytest.mark.parametrize("name", [r for r in ROLES if r != "abfrage"])
def test_other_demo_roles_cannot_look_up(client, demo, name):  # noqa: F811
    _publish(client, demo)
    before = Lookup.objects.count()
    response = _lookup(client, demo[name], VARIANTS[0])
    assert response.status_code == 403
    assert Lookup.objects.count() == before
