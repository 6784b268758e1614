"""The register pages through Django's test client: who may open what, the look-up form's bad
input in German with nothing logged, "keine Eintragung" vs. the warning card, the logged second
click, the DPO's access log and the ZKS pages."""

import re
from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from beistand.accounts.roles import Role
from beistand.register.models import (
    Lookup,
    ProtectiveMeasure,
    RegisterAddress,
    RegisterEntry,
    RegisterPerson,
    RightsRequest,
)
from beistand.register.services import refresh_person
from beistand.reports.models import Offence
from tests.accounts.helpers import login_verified

pytestmark = pytest.mark.django_db

PURPOSE = "Az. 51/4-123, Hausbesuch am 24.11."
LOOKUP = "/register/auskunft/"
DETAIL = "/register/auskunft/details/"
LOG = "/register/zugriffsprotokoll/"
MANAGE = "/register/verwaltung/"


def login(client, user):
    from beistand.accounts.services import requires_second_factor

    if requires_second_factor(user):
        login_verified(client, user)
    else:
        client.force_login(user)
    return client


def text_of(response) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def make_person(last_name="Meier", first_names="Karl-Heinz", dob=date(1975, 3, 14), level=2,
                status=RegisterPerson.Status.ACTIVE, address=("Ringstraße", "5", "50667")):
    with transaction.atomic():
        person = RegisterPerson.objects.create(last_name=last_name, first_names=first_names,
                                               date_of_birth=dob, status=status)
        if address:
            RegisterAddress.objects.create(person=person, street=address[0],
                                           house_number=address[1], postal_code=address[2],
                                           city="Teststadt")
        entry = RegisterEntry.objects.create(person=person, source=RegisterEntry.Source.IMPORT,
                                             hazard_level=level,
                                             incident_date=date(2026, 1, 10))
        entry.offences.set([Offence.objects.get(code="sexual_harassment")])
        person.measures.set(ProtectiveMeasure.objects.order_by("sort")[:2])
        refresh_person(person)
    return person


@pytest.fixture
def users(make_user, org):
    soon = timezone.now() + timedelta(days=30)
    past = timezone.now() - timedelta(days=1)
    return {
        "querier": make_user("abfrage", roles=[Role.QUERIER], expires_at=soon),
        "expired": make_user("abgelaufen", roles=[Role.QUERIER], expires_at=past),
        "statistics": make_user("statistik", roles=[Role.STATISTICS]),
        "zks": make_user("zks", roles=[Role.ZKS], unit=org["zks"]),
        "dpo": make_user("dsb", roles=[Role.DPO], unit=org["dez"]),
        "reporter": make_user("melder"),
    }


@pytest.fixture
def person():
    return make_person()


def person_form(**overrides):
    data = {"mode": "person", "purpose": PURPOSE, "last_name": "Mayer",
            "first_name": "Karl Heinz", "date_of_birth": "", "street": "", "postal_code": "",
            "city": ""}
    data.update(overrides)
    return data


# --- Access per role -------------------------------------------------------------------------

PAGES = {LOOKUP: "querier", LOG: "dpo", MANAGE: "zks"}


@pytest.mark.parametrize("who", ["querier", "expired", "statistics", "zks", "dpo", "reporter"])
@pytest.mark.parametrize("page", list(PAGES))
def test_each_page_only_for_its_role(client, users, who, page):
    login(client, users[who])
    response = client.get(page)
    if PAGES[page] == who:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert "Keine Berechtigung" in text_of(response) or "Rolle" in text_of(response)


def test_anonymous_is_sent_to_login(client):
    response = client.get(LOOKUP)
    assert response.status_code == 302 and "anmelden" in response["Location"]


def test_only_queriers_can_post_a_lookup_or_open_details(client, users, person):
    for who in ("expired", "statistics", "zks", "dpo", "reporter"):
        client.logout()
        login(client, users[who])
        assert client.post(LOOKUP, person_form()).status_code == 403
        assert client.post(DETAIL, {"lookup": "1", "person": str(person.pk)}).status_code == 403
    assert Lookup.objects.count() == 0


def test_nav_offers_each_role_its_register_page(client, users):
    for who, label in (("querier", "Auskunft"), ("zks", "Register"),
                       ("dpo", "Zugriffsprotokoll")):
        client.logout()
        login(client, users[who])
        assert f">{label}</a>" in client.get("/").content.decode()
    client.logout()
    login(client, users["reporter"])
    html = client.get("/").content.decode()
    assert ">Auskunft</a>" not in html and ">Zugriffsprotokoll</a>" not in html


# --- Bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides, message", [
    ({"purpose": ""}, "dienstlichen Anlass"),
    ({"purpose": "x"}, "dienstlichen Anlass"),
    ({"first_name": ""}, "Der Name allein reicht nicht"),
    ({"last_name": "Mei*", "first_name": "Karl"}, "Platzhalter"),
    ({"last_name": "%", "first_name": "Karl"}, "Platzhalter"),
    ({"last_name": "", "first_name": "Karl"}, "Bitte geben Sie den Namen an"),
    ({"date_of_birth": "31.02.1975", "first_name": ""}, "gültiges Datum"),
    ({"street": "Ringstraße 5", "first_name": ""}, "Postleitzahl"),
])
def test_bad_lookup_input_is_refused_in_german_and_not_logged(client, users, person, overrides,
                                                              message):
    login(client, users["querier"])
    response = client.post(LOOKUP, person_form(**overrides))
    assert response.status_code == 400
    text = text_of(response)
    assert message in text
    assert "Es wurde nichts abgefragt" in text
    assert Lookup.objects.count() == 0


def test_bad_address_lookup_is_refused(client, users):
    login(client, users["querier"])
    response = client.post(LOOKUP, {"mode": "address", "a-purpose": PURPOSE, "a-street": "R*",
                                    "a-postal_code": "5066"})
    assert response.status_code == 400
    text = text_of(response)
    assert "Platzhalter" in text and "fünfstellige Postleitzahl" in text
    assert Lookup.objects.count() == 0


# --- Results ---------------------------------------------------------------------------------

def test_not_found_is_unmistakable_and_logged(client, users, person):
    login(client, users["querier"])
    response = client.post(LOOKUP, person_form(last_name="Schulze", first_name="Erika"))
    assert response.status_code == 200
    text = text_of(response)
    assert "Keine Eintragung gefunden" in text
    assert "bedeutet nicht, dass keine Gefahr besteht" in text
    assert "Achtung" not in text and "Meier" not in text
    assert 'role="status"' in response.content.decode()
    log = Lookup.objects.get()
    assert log.kind == Lookup.Kind.PERSON and log.purpose == PURPOSE and log.shown == []


def test_spelling_variant_shows_warning_card_without_details(client, users, person):
    login(client, users["querier"])
    response = client.post(LOOKUP, person_form())
    assert response.status_code == 200
    html = response.content.decode()
    text = text_of(response)
    assert 'role="alert"' in html
    assert "Achtung: Eintragung gefunden" in text
    assert "Meier, Karl-Heinz" in text and "14.03.1975" in text
    assert "Gefährdungsstufe 2 – Gefahr" in text
    assert "Sicherheitsdienst oder Polizei rufen" in text  # what the level means
    for measure in person.measures.all():
        assert measure.label in text
    assert "10.01.2026" in text  # last incident
    assert "Übereinstimmung" in text
    # The incident categories need the second click.
    assert "Sexuelle Belästigung" not in text
    assert "Details anzeigen" in text
    log = Lookup.objects.get()
    assert log.shown == [person.pk]


def test_restricted_person_is_not_shown(client, users):
    make_person(status=RegisterPerson.Status.RESTRICTED)
    login(client, users["querier"])
    text = text_of(client.post(LOOKUP, person_form()))
    assert "Keine Eintragung gefunden" in text and "Meier" not in text


def test_details_need_a_second_click_which_is_logged(client, users, person):
    login(client, users["querier"])
    client.post(LOOKUP, person_form())
    parent = Lookup.objects.get()
    assert client.get(DETAIL).status_code == 405
    response = client.post(DETAIL, {"lookup": parent.pk, "person": person.pk})
    assert response.status_code == 200
    text = text_of(response)
    assert "Sexuelle Belästigung" in text and "10.01.2026" in text
    detail = Lookup.objects.get(kind=Lookup.Kind.DETAIL)
    assert detail.parent_id == parent.pk and detail.shown == [person.pk]


def test_details_of_a_person_not_shown_are_refused(client, users, person):
    other = make_person(last_name="Schulze", first_names="Erika", address=None)
    login(client, users["querier"])
    client.post(LOOKUP, person_form())
    parent = Lookup.objects.get()
    response = client.post(DETAIL, {"lookup": parent.pk, "person": other.pk})
    assert response.status_code == 404
    assert client.post(DETAIL, {"lookup": "x", "person": "1"}).status_code == 404
    assert Lookup.objects.filter(kind=Lookup.Kind.DETAIL).count() == 0


def test_address_lookup_for_a_home_visit(client, users, person):
    login(client, users["querier"])
    response = client.get(LOOKUP + "?modus=anschrift")
    assert "Anschrift prüfen (Hausbesuch)" in text_of(response)
    response = client.post(LOOKUP, {"mode": "address", "a-purpose": PURPOSE,
                                    "a-street": "Ringstr.", "a-house_number": "5",
                                    "a-postal_code": "50667"})
    assert response.status_code == 200
    text = text_of(response)
    assert "Achtung: Eintragung gefunden" in text and "Meier, Karl-Heinz" in text
    assert Lookup.objects.get().kind == Lookup.Kind.ADDRESS


# --- DPO -------------------------------------------------------------------------------------

def test_dpo_sees_the_lookup_with_purpose_and_exports_csv(client, users, person):
    login(client, users["querier"])
    client.post(LOOKUP, person_form())
    log = Lookup.objects.get()
    client.logout()
    login(client, users["dpo"])
    response = client.get(LOG)
    text = text_of(response)
    assert PURPOSE in text and "Mayer" in text
    response = client.get(LOG, {"person_id": person.pk})
    assert PURPOSE in text_of(response)
    response = client.get(LOG, {"person_id": person.pk + 1000})
    assert "Keine Abfragen für diese Auswahl" in text_of(response)
    response = client.get(LOG, {"since": "2026-02-10", "until": "2026-02-01"})
    assert response.status_code == 400 and "Ende liegt vor dem Beginn" in text_of(response)
    response = client.get(LOG, {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = response.content.decode("utf-8-sig")
    assert PURPOSE in body and "attachment" in response["Content-Disposition"]
    # Keep for an ongoing audit: a reason is required.
    response = client.post(f"{LOG}{log.pk}/aufbewahren/", {"reason": ""})
    assert response.status_code == 302
    log.refresh_from_db()
    assert not log.keep_for_audit
    client.post(f"{LOG}{log.pk}/aufbewahren/", {"reason": "Prüfvorgang DSB-2026-3"})
    log.refresh_from_db()
    assert log.keep_for_audit
    assert "aufbewahrt" in text_of(client.get(LOG))


# --- ZKS -------------------------------------------------------------------------------------

def test_zks_review_task_extend_and_person_actions(client, users, person):
    RegisterPerson.objects.filter(pk=person.pk).update(review_on=timezone.localdate())
    login(client, users["zks"])
    text = text_of(client.get(MANAGE))
    assert "Fällige Prüfungen" in text and "Meier, Karl-Heinz" in text
    action = f"{MANAGE}personen/{person.pk}/aktion/"
    # Without a reason nothing changes.
    client.post(action, {"action": "extend", "reason": "", "next": "verwaltung"})
    person.refresh_from_db()
    assert person.review_on == timezone.localdate()
    response = client.post(action, {"action": "extend", "reason": "Weitere Vorfälle gemeldet",
                                    "next": "verwaltung"})
    assert response.status_code == 302 and response["Location"] == MANAGE
    person.refresh_from_db()
    assert person.review_on > timezone.localdate()
    # Person page, search, restriction.
    assert "Meier" in text_of(client.get(MANAGE, {"name": "meier"}))
    page = text_of(client.get(f"{MANAGE}personen/{person.pk}/"))
    assert "Ringstraße 5" in page and "Sexuelle Belästigung" in page
    client.post(action, {"action": "restrict", "reason": "Art. 18: Richtigkeit bestritten"})
    person.refresh_from_db()
    assert person.status == RegisterPerson.Status.RESTRICTED
    client.post(action, {"action": "measures", "measures": []})
    assert person.measures.count() == 0


def test_zks_records_and_decides_a_rights_request(client, users, person):
    login(client, users["zks"])
    url = f"{MANAGE}personen/{person.pk}/rechte/"
    client.post(url, {"action": "create", "kind": "art15",
                      "received_on": timezone.localdate().isoformat(), "details": "Brief"})
    req = RightsRequest.objects.get(kind="art15")
    assert "Auskunft nach Art. 15" in text_of(client.get(MANAGE))
    client.post(url, {"action": "decide", "request": req.pk, "decision": "granted",
                      "reason": "Auskunft vollständig erteilt."})
    req.refresh_from_db()
    assert req.state == RightsRequest.State.GRANTED


def test_unknown_person_page_is_404(client, users):
    login(client, users["zks"])
    assert client.get(f"{MANAGE}personen/999999/").status_code == 404


def test_start_page_cards(client, users, person):
    login(client, users["querier"])
    html = client.get("/").content.decode()
    assert "Person vor dem Termin prüfen" in html and f'href="{LOOKUP}"' in html
    client.logout()
    RegisterPerson.objects.filter(pk=person.pk).update(review_on=timezone.localdate())
    with transaction.atomic():
        RightsRequest.objects.create(person=person, kind="art15",
                                     received_on=date(2026, 1, 1), due_on=date(2026, 2, 1))
    login(client, users["zks"])
    text = text_of(client.get("/"))
    assert "Fällige Prüfungen 1" in text and "Offene Anträge 1" in text
    assert "Frist 01.02.2026" in text
    client.logout()
    login(client, users["dpo"])
    text = text_of(client.get("/"))
    assert "Zugriffe auf das Register" in text and "Zugriffsprotokoll öffnen" in text
