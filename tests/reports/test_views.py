"""The report pages through Django's test client: who may open what, form validation in German
with nothing saved, and the workflow driven by the buttons of the case page."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from beistand.audit.models import AuditEvent
from beistand.register.models import RegisterEntry
from beistand.reports import services
from beistand.reports.models import Attachment, HelpRequest, Report, Status, StatusChange
from tests.accounts.helpers import login_verified
from tests.reports.conftest import report_input

pytestmark = pytest.mark.django_db

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
       b"\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81"
       b"\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def login(client, user):
    """Privileged roles need a session that passed the second factor."""
    from beistand.accounts.services import requires_second_factor

    if requires_second_factor(user):
        login_verified(client, user)
    else:
        client.force_login(user)
    return client


def form_data(**overrides) -> dict:
    when = timezone.localtime() - timedelta(hours=1)
    data = {
        "occurred_at": when.strftime("%Y-%m-%dT%H:%M"),
        "location_kind": "office",
        "room": "",
        "offences": ["threat"],
        "description": "Der Kunde drohte, mich nach Dienstschluss abzufangen.",
        "victim_self": "on",
        "v-TOTAL_FORMS": "0", "v-INITIAL_FORMS": "0",
        "p-TOTAL_FORMS": "1", "p-INITIAL_FORMS": "0",
        "p-0-known": "known", "p-0-last_name": "Mustermann", "p-0-first_names": "Max",
        "p-0-date_of_birth": "1980-04-01", "p-0-city": "Teststadt",
        "w-TOTAL_FORMS": "0", "w-INITIAL_FORMS": "0",
        "intent": "submit",
    }
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def text_of(response) -> str:
    html = response.content.decode()
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- The form ---------------------------------------------------------------------------------

def test_form_needs_login(client, cast):
    response = client.get("/meldungen/neu/")
    assert response.status_code == 302
    assert "/konto/anmelden/" in response["Location"]


def test_form_shows_levels_help_offers_and_own_room(client, cast):
    login(client, cast["melder"])
    response = client.get("/meldungen/neu/")
    assert response.status_code == 200
    text = text_of(response)
    assert "Vorfall melden" in text
    for level in ("Stufe 1", "Stufe 2", "Stufe 3"):
        assert level in text
    assert "Bedrohung" in text and "Amoklage" in text
    assert "Zuständig: Personalverwaltung (Amt 11)" in text
    assert "Meldung absenden" in text and "Als Entwurf speichern" in text
    own_room = cast["melder"].employee.room_id
    assert re.search(rf'<option value="{own_room}" selected>', response.content.decode())


def test_account_without_employee_record_cannot_report(client, make_user):
    user = make_user("technik", employee=False)
    client.force_login(user)
    response = client.get("/meldungen/neu/")
    assert response.status_code == 403
    assert "Beschäftigtendatensatz" in text_of(response)


def test_submit_creates_a_submitted_report(client, cast):
    login(client, cast["melder"])
    response = client.post("/meldungen/neu/", form_data(help_offers=["psychosocial"]))
    report = Report.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/meldungen/{report.pk}/?entwurf=neu"
    assert report.status == Status.SUBMITTED
    assert report.hazard_level == 2
    assert list(report.victims.all()) == [cast["melder"].employee]
    assert report.room_id == cast["melder"].employee.room_id  # default: the reporter's room
    assert report.perpetrators.get().last_name == "Mustermann"
    assert HelpRequest.objects.get().offer_id == "psychosocial"
    page = client.get(response["Location"])
    assert "ist abgesendet" in text_of(page)
    assert f'data-clear-draft="u{cast["melder"].pk}:neu"' in page.content.decode()


def test_save_as_draft_then_edit_and_submit(client, cast):
    login(client, cast["melder"])
    client.post("/meldungen/neu/", form_data(intent="draft"))
    report = Report.objects.get()
    assert report.status == Status.DRAFT
    edit = client.get(f"/meldungen/{report.pk}/bearbeiten/")
    assert edit.status_code == 200
    assert "Mustermann" in edit.content.decode()
    data = form_data(**{"p-INITIAL_FORMS": "1", "p-TOTAL_FORMS": "1",
                        "description": "Ergänzt: Er kam mit einem Begleiter."})
    response = client.post(f"/meldungen/{report.pk}/bearbeiten/", data)
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == Status.SUBMITTED
    assert report.description.startswith("Ergänzt")


def test_field_report_with_address_and_coordinates(client, cast):
    login(client, cast["melder"])
    client.post("/meldungen/neu/", form_data(location_kind="field", address="Hauptstr. 5",
                                             lat="50,9375", lon="6.9603"))
    report = Report.objects.get()
    assert report.location_kind == "field" and report.address == "Hauptstr. 5"
    assert float(report.latitude) == pytest.approx(50.9375)
    assert report.room_id is None


def test_colleague_as_victim_is_found_by_label(client, cast, make_user):
    login(client, cast["melder"])
    # A colleague of the same unit (issue 16, finding 8: a victim must be plausible).
    colleague = make_user("kollege", unit=cast["org"]["abt"]).employee
    label = f"{colleague.last_name}, {colleague.first_name} ({colleague.personnel_number})"
    search = client.get("/meldungen/kolleginnen/", {"q": colleague.last_name})
    assert search.json()["results"][0]["value"] == label
    client.post("/meldungen/neu/", form_data(**{"v-TOTAL_FORMS": "1", "v-0-colleague": label,
                                                "victim_self": None}))
    report = Report.objects.get()
    assert list(report.victims.all()) == [colleague]
    # Someone of another unit, not at the location: refused in German, nothing stored.
    stranger = cast["fremd"].employee
    label = f"{stranger.last_name}, {stranger.first_name} ({stranger.personnel_number})"
    response = client.post("/meldungen/neu/", form_data(**{
        "v-TOTAL_FORMS": "1", "v-0-colleague": label, "victim_self": None}))
    assert response.status_code == 400
    assert "weder in Ihrer Organisationseinheit" in response.content.decode()
    assert Report.objects.count() == 1


FUTURE = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
LONG_AGO = (timezone.localtime() - timedelta(days=4 * 365)).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize("overrides, field_id, message", [
    ({"occurred_at": FUTURE}, "id_occurred_at", "liegt in der Zukunft"),
    ({"occurred_at": LONG_AGO}, "id_occurred_at", "mehr als drei Jahre zurück"),
    ({"occurred_at": "gestern"}, "id_occurred_at", "Bitte Datum und Uhrzeit angeben"),
    ({"offences": None}, "id_offences_0", "mindestens ein Delikt"),
    ({"offences": ["erfunden"]}, "id_offences_0", "gibt es nicht im Katalog"),
    ({"room": "99999"}, "id_room", "Diesen Raum gibt es nicht"),
    ({"location_kind": "field", "address": ""}, "id_address", "Adresse des Einsatzortes"),
    ({"description": "  "}, "id_description", "schildern Sie kurz"),
    ({"p-0-last_name": ""}, "id_p-0-last_name", "Name erforderlich"),
    ({"victim_self": None}, "id_victim_self", "wer betroffen ist"),
    ({"v-TOTAL_FORMS": "1", "v-0-colleague": "Niemand Unbekannt"}, "id_v-0-colleague",
     "keine aktive Beschäftigte"),
    ({"incapacity_days": "400"}, "id_incapacity_days", "0 bis 365"),
    ({"lat": "Norden", "location_kind": "field", "address": "Weg 1"}, "id_lat",
     "Bitte eine Zahl angeben"),
])
def test_bad_input_is_shown_in_german_and_nothing_is_saved(client, cast, overrides, field_id,
                                                           message):
    login(client, cast["melder"])
    response = client.post("/meldungen/neu/", form_data(**overrides))
    assert response.status_code == 400
    html = response.content.decode()
    text = text_of(response)
    assert Report.objects.count() == 0 and StatusChange.objects.count() == 0
    assert "Bitte prüfen Sie Ihre Angaben. Es wurde nichts gespeichert." in text
    # In the summary at the top, linked to the field, and next to the field.
    assert f'href="#{field_id}"' in html
    assert text.count(message) >= 2, text
    # Entered data is kept.
    assert "Der Kunde drohte" in html or overrides.get("description")
    assert 'data-bound="1"' in html


def test_add_another_person_without_javascript_keeps_data(client, cast):
    login(client, cast["melder"])
    response = client.post("/meldungen/neu/", form_data(add="perpetrators"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="p-1-last_name"' in html and 'value="Mustermann"' in html
    assert "Bitte prüfen Sie Ihre Angaben" not in html
    assert 'name="p-TOTAL_FORMS" value="2"' in html
    assert Report.objects.count() == 0


def test_fetch_submission_answers_json(client, cast):
    login(client, cast["melder"])
    headers = {"HTTP_X_BEISTAND_DRAFT": "1"}
    bad = client.post("/meldungen/neu/", form_data(offences=None), **headers)
    assert bad.status_code == 400
    assert any("mindestens ein Delikt" in e["detail"] for e in bad.json()["errors"])
    good = client.post("/meldungen/neu/", form_data(), **headers)
    assert good.status_code == 201
    report = Report.objects.get()
    assert good.json() == {"ok": True, "id": report.pk, "reference": report.reference,
                           "status": "submitted", "url": f"/meldungen/{report.pk}/"}


def test_attachment_is_stored_with_the_report(client, cast, tmp_path, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    login(client, cast["melder"])
    data = form_data(attachments=SimpleUploadedFile("foto.png", PNG, "image/png"))
    response = client.post("/meldungen/neu/", data)
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.content_type == "image/png" and attachment.original_name == "foto.png"


def test_forbidden_attachment_type_saves_nothing(client, cast, tmp_path, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    login(client, cast["melder"])
    data = form_data(attachments=SimpleUploadedFile("skript.png", b"#!/bin/sh\necho", "image/png"))
    response = client.post("/meldungen/neu/", data)
    assert response.status_code == 400
    assert "Erlaubt sind Fotos" in text_of(response)
    assert Report.objects.count() == 0 and Attachment.objects.count() == 0


# --- Lists --------------------------------------------------------------------------------------

def test_my_reports_show_status_and_timeline(client, cast, submitted):
    mine = submitted()
    services.transition(cast["chefin"], mine.pk, "return", {"comment": "Bitte Uhrzeit prüfen"})
    other = services.create_report(cast["fremd"], report_input(), submit=True)
    login(client, cast["melder"])
    response = client.get("/meldungen/")
    text = text_of(response)
    assert mine.reference in text and other.reference not in text
    assert "zurückgegeben" in text
    assert "Zur Überarbeitung zurückgegeben" in text and "Bitte Uhrzeit prüfen" in text
    assert "Bitte überarbeiten Sie die Meldung" in text


@pytest.mark.parametrize("who, status", [("melder", 403), ("fremd", 403), ("chefin", 200),
                                         ("personal", 200), ("zks", 200)])
def test_queue_access_per_role(client, cast, who, status):
    login(client, cast[who])
    response = client.get("/meldungen/arbeitsliste/")
    assert response.status_code == status
    if status == 403:
        assert "Arbeitsliste gibt es für Vorgesetzte" in text_of(response)


def test_queues_show_each_role_its_step_with_deadlines(client, cast, submitted):
    waiting = submitted()
    released = submitted()
    services.transition(cast["chefin"], released.pk, "release", {})
    filed = submitted()
    services.transition(cast["chefin"], filed.pk, "release", {})
    services.transition(cast["personal"], filed.pk, "file_complaint",
                        {"police_file_number": "KK-1"})
    Report.objects.filter(pk=waiting.pk).update(due_at=timezone.now() - timedelta(hours=2))

    def queue_text(user):
        client.logout()
        login(client, user)
        return text_of(client.get("/meldungen/arbeitsliste/"))

    chef = queue_text(cast["chefin"])
    assert waiting.reference in chef and released.reference not in chef
    assert "Zur Freigabe" in chef and "Freigeben" in chef and "überfällig" in chef
    personal = queue_text(cast["personal"])
    assert released.reference in personal and waiting.reference not in personal
    assert "Anzeige erfassen" in personal
    zks = queue_text(cast["zks"])
    assert filed.reference in zks and waiting.reference not in zks
    assert "Im Register veröffentlichen" in zks
    due = timezone.localtime(Report.objects.get(pk=filed.pk).due_at).strftime("%d.%m.%Y, %H:%M")
    assert due in zks


@pytest.mark.parametrize("who, status", [("zks", 200), ("chefin", 403), ("personal", 403),
                                         ("melder", 403)])
def test_overdue_view_is_for_the_zks(client, cast, submitted, who, status):
    report = submitted()
    Report.objects.filter(pk=report.pk).update(due_at=timezone.now() - timedelta(hours=5))
    login(client, cast[who])
    response = client.get("/meldungen/ueberfaellig/")
    assert response.status_code == status
    if status == 200:
        text = text_of(response)
        assert report.reference in text and "überfällig" in text
        assert "Vorgesetzte/r (Freigabe)" in text


# --- Case page ----------------------------------------------------------------------------------

@pytest.mark.parametrize("who, status", [("melder", 200), ("chefin", 200), ("zks", 200),
                                         ("fremd", 404), ("personal", 404)])
def test_case_page_visibility(client, cast, submitted, who, status):
    report = submitted()
    login(client, cast[who])
    before = AuditEvent.objects.count()
    response = client.get(f"/meldungen/{report.pk}/")
    assert response.status_code == status
    if status == 200:
        assert AuditEvent.objects.count() > before  # the read is audited
        assert "Mustermann" in text_of(response)
    else:
        assert "gibt es nicht oder Sie dürfen sie nicht sehen" in text_of(response)


def _act(client, report, action, **fields):
    return client.post(f"/meldungen/{report.pk}/aktion/", {"action": action, **fields})


def test_level_two_report_through_the_case_page_buttons(client, cast, submitted):
    report = submitted()
    login(client, cast["chefin"])
    page = text_of(client.get(f"/meldungen/{report.pk}/"))
    assert "Freigeben" in page and "Zurückgeben" in page
    response = _act(client, report, "release")
    assert response.status_code == 302
    assert "Neuer Status: freigegeben" in text_of(client.get(response["Location"]))

    client.logout()
    login(client, cast["personal"])
    missing = _act(client, report, "file_complaint")
    assert missing.status_code == 400
    assert "Bitte Aktenzeichen der Strafanzeige" in text_of(missing)
    assert "Es wurde nichts geändert" in text_of(missing)
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    assert _act(client, report, "file_complaint", complaint_date=future).status_code == 400
    assert _act(client, report, "file_complaint", police_file_number="KK 123/26",
                complaint_date=timezone.localdate().isoformat()).status_code == 302
    report.refresh_from_db()
    assert report.status == Status.COMPLAINT_FILED and report.police_file_number == "KK 123/26"

    client.logout()
    login(client, cast["zks"])
    page = text_of(client.get(f"/meldungen/{report.pk}/"))
    assert "Was veröffentlicht wird" in page and "Mustermann, Max" in page
    assert "Nicht veröffentlicht werden Angaben zur meldenden Person" in page
    unconfirmed = _act(client, report, "publish")
    assert unconfirmed.status_code == 400
    assert "Bitte bestätigen Sie" in text_of(unconfirmed)
    assert RegisterEntry.objects.count() == 0
    assert _act(client, report, "publish", confirm="yes").status_code == 302
    report.refresh_from_db()
    assert report.status == Status.PUBLISHED
    assert RegisterEntry.objects.count() == 1
    assert [c.action for c in report.history.all()] == [
        "create", "submit", "release", "file_complaint", "publish"]


def test_level_one_insult_cannot_be_published_only_closed(client, cast, submitted):
    report = submitted(offences=("insult",))
    services.transition(cast["chefin"], report.pk, "release", {})
    services.transition(cast["personal"], report.pk, "file_complaint",
                        {"police_file_number": "KK-9"})
    login(client, cast["zks"])
    page = text_of(client.get(f"/meldungen/{report.pk}/"))
    assert "liegt unter der Eintragungsschwelle" in page
    refused = _act(client, report, "publish", confirm="yes")
    assert refused.status_code == 409
    text = text_of(refused)
    assert "unter der Eintragungsschwelle" in text and "Es wurde nichts geändert" in text
    report.refresh_from_db()
    assert report.status == Status.COMPLAINT_FILED
    no_reason = _act(client, report, "close", reason=" ")
    assert no_reason.status_code == 400
    assert "Grund des Abschlusses" in text_of(no_reason)
    assert _act(client, report, "close", reason="unter der Eintragungsschwelle").status_code \
        == 302
    report.refresh_from_db()
    assert report.status == Status.CLOSED and RegisterEntry.objects.count() == 0


def test_return_needs_a_comment_and_reporter_resubmits(client, cast, submitted):
    report = submitted()
    login(client, cast["chefin"])
    refused = _act(client, report, "return", comment="")
    assert refused.status_code == 400
    assert "Bitte begründen Sie die Rückgabe" in text_of(refused)
    report.refresh_from_db()
    assert report.status == Status.SUBMITTED
    assert _act(client, report, "return", comment="Bitte Ort ergänzen").status_code == 302
    client.logout()
    login(client, cast["melder"])
    page = text_of(client.get(f"/meldungen/{report.pk}/"))
    assert "Bitte Ort ergänzen" in page and "Meldung bearbeiten" in page
    assert _act(client, report, "resubmit").status_code == 302
    report.refresh_from_db()
    assert report.status == Status.SUBMITTED


@pytest.mark.parametrize("who, action, status, message", [
    ("melder", "release", 403, "Diese Aktion darf nur"),
    ("personal", "file_complaint", 404, "gibt es nicht oder Sie dürfen sie nicht sehen"),
    ("zks", "publish", 409, "nicht möglich"),
    ("chefin", "erfunden", 409, "Diese Aktion gibt es nicht"),
])
def test_wrong_role_or_state_changes_nothing(client, cast, submitted, who, action, status,
                                             message):
    report = submitted()
    login(client, cast[who])
    response = _act(client, report, action, confirm="yes")
    assert response.status_code == status
    assert message in text_of(response)
    report.refresh_from_db()
    assert report.status == Status.SUBMITTED
    assert report.history.count() == 2


def test_action_page_only_accepts_post(client, cast, submitted):
    report = submitted()
    login(client, cast["chefin"])
    assert client.get(f"/meldungen/{report.pk}/aktion/").status_code == 405


def test_document_links_follow_the_documents_rules(client, cast, submitted):
    report = submitted()
    services.transition(cast["chefin"], report.pk, "release", {})
    login(client, cast["personal"])
    html = client.get(f"/meldungen/{report.pk}/").content.decode()
    assert f"/api/v1/reports/{report.pk}/documents/complaint" in html
    pdf = client.get(f"/api/v1/reports/{report.pk}/documents/complaint")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    client.logout()
    login(client, cast["melder"])
    html = client.get(f"/meldungen/{report.pk}/").content.decode()
    assert "/documents/complaint" not in html


# --- Help requests ------------------------------------------------------------------------------

def test_victim_requests_help_and_owning_unit_updates_it(client, cast, submitted, make_user):
    report = submitted()
    login(client, cast["melder"])
    page = text_of(client.get(f"/meldungen/{report.pk}/"))
    assert "Weitere Unterstützung anfragen" in page
    empty = client.post(f"/meldungen/{report.pk}/hilfe/", {})
    assert "mindestens ein Hilfsangebot" in text_of(client.get(empty["Location"]))
    assert HelpRequest.objects.count() == 0
    client.post(f"/meldungen/{report.pk}/hilfe/", {"offers": ["security_advice"]})
    request_ = HelpRequest.objects.get()
    assert "Sicherheitsberatung" in text_of(client.get(f"/meldungen/{report.pk}/"))

    # The ZKS (unit I/3) owns security advice.
    client.logout()
    login(client, cast["zks"])
    listing = text_of(client.get("/meldungen/hilfe/"))
    assert "Sicherheitsberatung" in listing and "Anfragen an Ihre Stelle" in listing
    response = client.post(f"/meldungen/hilfe/{request_.pk}/",
                           {"state": "in_progress", "note": "Termin am Montag"})
    assert response.status_code == 302
    request_.refresh_from_db()
    assert request_.state == "in_progress" and request_.note == "Termin am Montag"

    # Personnel (unit 11) does not see an I/3 request.
    client.logout()
    login(client, cast["personal"])
    assert "Sicherheitsberatung" not in text_of(client.get("/meldungen/hilfe/"))
    assert client.post(f"/meldungen/hilfe/{request_.pk}/", {"state": "done"}).status_code == 404


# --- Navigation and start page ------------------------------------------------------------------

def _nav(response) -> list[str]:
    html = response.content.decode()
    nav = html[html.index('aria-label="Hauptnavigation"'):]
    nav = nav[:nav.index("</nav>")]
    return re.findall(r'class="bs-nav__link"[^>]*>([^<]+)<', nav)


@pytest.mark.parametrize("who, expected", [
    ("melder", ["Start", "Stiller Alarm", "Melden", "Meine Meldungen"]),
    ("chefin", ["Start", "Stiller Alarm", "Melden", "Meine Meldungen", "Arbeitsliste"]),
    ("personal", ["Start", "Stiller Alarm", "Melden", "Meine Meldungen", "Arbeitsliste"]),
    ("zks", ["Start", "Stiller Alarm", "Melden", "Meine Meldungen", "Arbeitsliste",
             "Überfällig", "Register", "Statistik"]),
])
def test_navigation_per_role(client, cast, who, expected):
    login(client, cast[who])
    assert _nav(client.get("/")) == expected


def test_current_navigation_entry_is_the_most_specific(client, cast):
    login(client, cast["melder"])
    html = client.get("/meldungen/neu/").content.decode()
    assert re.search(r'href="/meldungen/neu/" aria-current="page">Melden<', html)
    assert not re.search(r'href="/meldungen/" aria-current="page"', html)


def test_start_page_offers_report_button_and_queue_counts(client, cast, submitted):
    report = submitted()
    Report.objects.filter(pk=report.pk).update(due_at=timezone.now() - timedelta(hours=1))
    login(client, cast["melder"])
    html = client.get("/").content.decode()
    assert 'href="/meldungen/neu/"' in html and "Vorfall melden" in html
    client.logout()
    login(client, cast["chefin"])
    text = text_of(client.get("/"))
    assert "Ihre Arbeitsliste" in text and "Wartet auf Sie 1" in text
    assert "davon überfällig 1" in text
    assert "1 Meldung in Ihrer Arbeitsliste ist überfällig." in text
