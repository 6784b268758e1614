"""Issue 19, item 4: every text that can reach a letter is bounded and refused beyond its bound
(German error, problem JSON in the API, nothing changed); letters are gathered in a transaction
and rendered after it, and rendering inside a transaction is refused."""

import json

import pytest
from django.db import transaction
from django.utils import timezone

from beistand.core.errors import InvalidInput
from beistand.documents import layout
from beistand.register import importer, letters, rights
from beistand.register.models import RegisterPerson, RightsRequest
from tests.register.test_rights import flat, pdf_text, people, publish  # noqa: F401

pytestmark = pytest.mark.django_db
BASE = "/api/v1/register"


def _rectification(people, person):  # noqa: F811
    return rights.create_request(people["zks"], person.pk, "art16", timezone.localdate(),
                                 "Meine weiteren Namen sind falsch.")


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"aliases": [f"Name{i}" for i in range(rights.MAX_ALIASES + 1)]}, "changes.aliases",
     "Zu viele weitere Namen"),
    ({"aliases": ["A" * (rights.ALIAS_LENGTH + 1)]}, "changes.aliases", "zu lang"),
    ({"first_names": "V" * 151}, "changes.first_names", "höchstens 150 Zeichen"),
    ({"address": {"street": "S" * 151, "postal_code": "50667"}}, "changes.address.street",
     "höchstens 150 Zeichen"),
    ({"address": {"street": "Ring", "postal_code": "5" * 11}}, "changes.address.postal_code",
     "höchstens 10 Zeichen"),
])
def test_a_correction_beyond_its_bound_is_refused_and_changes_nothing(
        publish, people, changes, field, words):  # noqa: F811
    person = publish()
    req = _rectification(people, person)
    before = RegisterPerson.objects.values().get(pk=person.pk)
    with pytest.raises(InvalidInput) as exc:
        rights.decide(people["zks"], req.pk, "granted", "Nachweis durch Ausweis.", changes)
    assert exc.value.field == field and words in exc.value.detail
    assert RegisterPerson.objects.values().get(pk=person.pk) == before
    assert RightsRequest.objects.get(pk=req.pk).state == "open"


def test_the_maximal_aliases_are_accepted_and_all_reach_the_letter(publish, people):  # noqa: F811
    person = publish()
    req = _rectification(people, person)
    aliases = [f"Alias{i:02d}" + "x" * (rights.ALIAS_LENGTH - 7) for i in
               range(rights.MAX_ALIASES)]
    rights.decide(people["zks"], req.pk, "granted", "Nachweis durch Ausweis.",
                  {"aliases": aliases})
    assert RegisterPerson.objects.get(pk=person.pk).aliases == aliases
    _, pdf = rights.access_report_pdf(people["dsb"], person.pk)
    text = flat(pdf_text(pdf))
    assert all(f"Alias{i:02d}" in text for i in range(rights.MAX_ALIASES))


def test_a_too_long_reason_is_refused(publish, people):  # noqa: F811
    person = publish()
    req = _rectification(people, person)
    with pytest.raises(InvalidInput) as exc:
        rights.decide(people["zks"], req.pk, "refused", "x" * (rights.REASON_LENGTH + 1))
    assert exc.value.field == "reason" and "höchstens 2000 Zeichen" in exc.value.detail
    assert RightsRequest.objects.get(pk=req.pk).state == "open"


def test_the_api_answers_a_bound_with_problem_json(client, bearer, people, publish):  # noqa: F811
    person = publish()
    req = _rectification(people, person)
    response = client.post(
        f"{BASE}/rights-requests/{req.pk}/decision",
        json.dumps({"decision": "granted", "reason": "Nachweis durch Ausweis.",
                    "changes": {"aliases": ["A"] * (rights.MAX_ALIASES + 1)}}),
        content_type="application/json", **bearer(people["zks"]))
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert "Zu viele weitere Namen" in response.json()["detail"]
    assert RightsRequest.objects.get(pk=req.pk).state == "open"


def test_the_import_refuses_a_row_with_too_many_aliases():
    too_many = "|".join(f"Name{i}" for i in range(rights.MAX_ALIASES + 1))
    text = ("last_name;first_names;aliases;hazard_level;last_incident_on\n"
            f"Muster;Max;{too_many};1;{timezone.localdate()}\n")
    report = importer.import_text(text)
    assert report.created == 0 and not report.ok
    assert "zu viele weitere Namen" in report.as_text()


def test_rendering_inside_a_transaction_is_refused(publish, people):  # noqa: F811
    person = publish()
    with transaction.atomic():
        draft = letters.access_report_draft(
            rights.access_report(people["zks"], person.pk))
        with pytest.raises(layout.RenderInsideTransaction):
            draft.render()
    assert draft.render().startswith(b"%PDF")
