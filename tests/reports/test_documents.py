"""The case documents as real PDFs: generated from a case, opened with pypdf, checked by the text
extracted from them; who may have which document in which state; every generation audited."""

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image
from pypdf import PdfReader

from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent
from beistand.core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from beistand.documents import layout
from beistand.organisation.models import Body, Employee
from beistand.reports import documents, services
from beistand.reports.services import PerpetratorInput, WitnessInput
from tests.reports.conftest import report_input

pytestmark = pytest.mark.django_db

A4 = (595.28, 841.89)
DESCRIPTION = ("Der Kunde drohte, mir nach Dienstschluss aufzulauern: „Ich weiß, wo Sie "
               "wohnen.“ Danach schlug er mit der Faust auf den Tisch – die Glasplatte ging "
               "zu Bruch.")


def pdf_text(pdf: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(pdf))
    extracted = "\n".join(page.extract_text() for page in reader.pages)
    # Compare with whitespace collapsed: table cells wrap at their width, and legal citations
    # use non-breaking spaces ("§ 241 StGB" never splits).
    return reader, re.sub(r"\s+", " ", extracted)


def german(d) -> str:
    return timezone.localtime(d).strftime("%d.%m.%Y") if hasattr(d, "hour") \
        else d.strftime("%d.%m.%Y")


@pytest.fixture
def case(cast):
    """A released, complaint-filed threat with umlauts everywhere, by melder (also the victim)."""
    with transaction.atomic():
        body = Body.objects.get(pk=1)
        body.name = "Stadt Großbüttel"
        body.save()
        kollege = Employee.objects.create(personnel_number="P-kollege", last_name="Köhler",
                                          first_name="Jörg", unit=cast["org"]["abt"])
    data = report_input(
        offences=("threat", "property_damage"),
        description=DESCRIPTION,
        perpetrators=[PerpetratorInput(
            last_name="Größe-Müller", first_names="Jürgen", birth_name="Weiß",
            aliases=["Jogi"], date_of_birth=date(1980, 5, 17), street="Mühlweg",
            house_number="3", postal_code="12345", city="Teststadt",
            description="etwa 1,80 m, grauer Parka")],
        witnesses=[WitnessInput(employee_id=kollege.pk),
                   WitnessInput(name="Ömer Çelik", contact="0170 1234567")],
        injuries="Schnittwunde an der rechten Hand", incapacity_days=5,
        police_on_site=True, police_on_site_file_number="PP-Süd 17/26",
        help_offers=["psychosocial"],
    )
    report = services.create_report(cast["melder"], data, submit=True)
    services.transition(cast["chefin"], report.pk, "release")
    services.transition(cast["personal"], report.pk, "file_complaint",
                        {"police_file_number": "KK11-2026-4711",
                         "complaint_date": timezone.localdate().isoformat()})
    report.refresh_from_db()
    return report


def assert_a4(reader: PdfReader):
    assert len(reader.pages) >= 1
    for page in reader.pages:
        box = page.mediabox
        assert abs(float(box.width) - A4[0]) < 1 and abs(float(box.height) - A4[1]) < 1


# --- Content ------------------------------------------------------------------------------------

def test_complaint_contains_the_case(cast, case):
    filename, pdf = documents.document_for(cast["personal"], case.pk, "complaint")
    assert filename == f"Strafanzeige-{case.reference}.pdf"
    assert pdf.startswith(b"%PDF-")
    reader, text = pdf_text(pdf)
    assert_a4(reader)
    for expected in (
        "Strafanzeige und Strafantrag", case.reference, "Stadt Großbüttel",
        "Größe-Müller", "Jürgen", "Weiß", "17.05.1980", "Mühlweg 3, 12345 Teststadt",
        "Bedrohung (§ 241 StGB)", "Sachbeschädigung (§ 303 StGB)",
        german(case.occurred_at), "Ich weiß, wo Sie", "„Ich weiß", "Schnittwunde",
        "Test Melder",  # the victim, with the service address of the body only
        "Dienstanschrift: Stadt Großbüttel, Markt 1, 12345 Teststadt",
        "Jörg Köhler", "Ömer Çelik", "0170 1234567",  # witnesses
        "PP-Süd 17/26", "KK11-2026-4711",
        "Strafantrag wird gestellt", "Unterschrift, Amt 11",
        "Vertraulich – personenbezogene Daten", f"Seite 1 von {len(reader.pages)}",
        "Erstellt am " + german(timezone.now()),
        "Rathaus, Hauptgebäude, 1. Obergeschoss",  # room of the reporter: default place
    ):
        assert expected in text, expected
    # Help data never leaves its owners, not even into the police's copy.
    assert "Psychosoziale" not in text


def test_accident_report_per_victim_marks_the_obligation(cast, case, settings):
    settings.ACCIDENT_INSURER = "Unfallkasse Nordrhein-Westfalen – Regionaldirektion Köln"
    filename, pdf = documents.document_for(cast["personal"], case.pk, "accident")
    melder = cast["melder"].employee
    assert filename == f"Unfallanzeige-{case.reference}-{melder.pk}.pdf"
    reader, text = pdf_text(pdf)
    assert_a4(reader)
    for expected in ("Unfallanzeige", case.reference, "Melder, Test", "32/1 Außendienst",
                     "Meldepflichtig: voraussichtlich 5 Tage",
                     "Unfallkasse Nordrhein-Westfalen – Regionaldirektion Köln",
                     german(case.occurred_at), "Schnittwunde an der rechten Hand",
                     "Jörg Köhler", "Ömer Çelik", "von der Personalverwaltung zu ergänzen",
                     "Stadt Großbüttel"):
        assert expected in text, expected
    assert "Größe-Müller" not in text  # the insurer does not need the perpetrator


def test_accident_report_up_to_three_days_is_not_mandatory(cast):
    report = services.create_report(
        cast["melder"], report_input(incapacity_days=2, injuries="Prellung"), submit=True)
    _, pdf = documents.document_for(cast["melder"], report.pk, "accident")
    _, text = pdf_text(pdf)
    expected = "nicht meldepflichtig (≤ 3 Tage" if layout.fonts().unicode \
        else "nicht meldepflichtig (<= 3 Tage"
    assert expected.lower() in text.lower()


def test_summary_has_timeline_deadlines_and_complaint_but_no_help_data(cast, case):
    _, pdf = documents.document_for(cast["zks"], case.pk, "summary")
    reader, text = pdf_text(pdf)
    assert_a4(reader)
    for expected in (f"Fallübersicht {case.reference}", "Anzeige erstattet",
                     "Gefährdungsstufe", "Bedrohung (Stufe 2)", "Angelegt", "Eingereicht",
                     "Freigegeben", "Anzeige erfasst", "Test Chefin", "Test Personal",
                     "Test Melder", "KK11-2026-4711", "Prüfung durch die ZKS: fällig bis",
                     german(case.status_changed_at), "Größe-Müller, Jürgen"):
        assert expected in text, expected
    assert re.search(r"\d\d\.\d\d\.\d{4}, \d\d:\d\d", text)
    assert "Psychosoziale" not in text
    assert "Veröffentlichung im Register" not in text


def test_summary_shows_the_register_publication(cast, case):
    services.transition(cast["zks"], case.pk, "publish")
    _, pdf = documents.document_for(cast["personal"], case.pk, "summary")
    _, text = pdf_text(pdf)
    assert "Veröffentlichung im Register" in text
    assert "Im Register veröffentlicht" in text
    assert "Größe-Müller, Jürgen" in text


def test_user_text_is_text_not_markup_and_long_text_flows_over_pages(cast):
    hostile = "<b>fett</b> & <script>alert(1)</script> <para>"
    report = services.create_report(cast["melder"], report_input(
        description=hostile + "\n" + ("Der Vorfall dauerte lange. " * 400)), submit=True)
    services.transition(cast["chefin"], report.pk, "release")
    _, pdf = documents.document_for(cast["zks"], report.pk, "complaint")
    reader, text = pdf_text(pdf)
    assert "<b>fett</b> & <script>alert(1)</script> <para>" in text
    assert len(reader.pages) >= 3
    assert f"Seite 3 von {len(reader.pages)}" in text
    assert_a4(reader)


def test_field_location_and_unknown_perpetrator(cast):
    report = services.create_report(cast["melder"], report_input(
        perpetrator=False, location_kind="field", address="Königsallee 5, 12345 Teststadt",
        lat=50.94, lon=6.96), submit=True)
    services.transition(cast["chefin"], report.pk, "release")
    _, pdf = documents.document_for(cast["personal"], report.pk, "complaint")
    _, text = pdf_text(pdf)
    assert "Außendienst: Königsallee 5, 12345 Teststadt" in text
    assert "gegen Unbekannt" in text


def test_names_beyond_latin1_survive_with_a_unicode_font(cast):
    if not layout.fonts().unicode:
        pytest.skip("no TrueType font (fonts-dejavu-core) installed: Helvetica fallback")
    report = services.create_report(cast["melder"], report_input(perpetrators=[
        PerpetratorInput(last_name="Wiśniewski", first_names="Łukasz")]), submit=True)
    services.transition(cast["chefin"], report.pk, "release")
    _, pdf = documents.document_for(cast["personal"], report.pk, "complaint")
    assert "Wiśniewski, Łukasz" in pdf_text(pdf)[1]


def test_fold_keeps_the_helvetica_fallback_readable():
    # What the fallback font would print: Windows-1252 stays, the rest becomes its base letter.
    layout.fonts.cache_clear()
    try:
        original = layout._TTF_CANDIDATES
        layout._TTF_CANDIDATES = ()
        layout.fonts.cache_clear()
        assert layout.fold("Größe „Şahin“ ≤ 3 – Łódź €") == "Größe „Sahin“ <= 3 – ?ódz €"
    finally:
        layout._TTF_CANDIDATES = original
        layout.fonts.cache_clear()


def test_logo_in_the_letterhead_and_a_broken_logo_is_skipped(cast, case, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    png = io.BytesIO()
    Image.new("RGB", (300, 120), (0, 90, 160)).save(png, format="PNG")
    with transaction.atomic():
        body = Body.objects.get(pk=1)
        body.logo.save("logo.png", ContentFile(png.getvalue()))
    _, pdf = documents.document_for(cast["personal"], case.pk, "complaint")
    reader, _ = pdf_text(pdf)
    assert len(reader.pages[0].images) == 1
    assert not reader.pages[-1].images or len(reader.pages) == 1  # letterhead on page 1 only

    with transaction.atomic():
        body.logo.save("logo.png", ContentFile(b"not an image"))
    _, pdf = documents.document_for(cast["personal"], case.pk, "complaint")
    reader, text = pdf_text(pdf)
    assert not reader.pages[0].images
    assert "Stadt Großbüttel" in text


# --- Access and state ---------------------------------------------------------------------------

@pytest.fixture
def outsiders(make_user, tomorrow):
    return {
        "statistik": make_user("statistik", roles=[Role.STATISTICS]),
        "abfrage": make_user("abfrage", roles=[Role.QUERIER], expires_at=tomorrow),
    }


ALLOWED = {
    "complaint": {"personal", "zks"},
    "accident": {"personal", "melder"},
    "summary": {"personal", "zks", "chefin"},
}


@pytest.mark.parametrize("kind", sorted(ALLOWED))
def test_who_gets_which_document(cast, case, outsiders, kind):
    people = {**{k: v for k, v in cast.items() if k != "org"}, **outsiders}
    for name, user in people.items():
        if name in ALLOWED[kind]:
            documents.document_for(user, case.pk, kind)
        elif name in ("fremd", "statistik", "abfrage"):
            with pytest.raises(NotFound):  # they cannot see the case at all: no existence leak
                documents.document_for(user, case.pk, kind)
        else:
            with pytest.raises(AccessDenied):
                documents.document_for(user, case.pk, kind)


def test_wrong_state_is_a_conflict(cast):
    report = services.create_report(cast["melder"], report_input())
    with pytest.raises(Conflict):  # draft
        documents.document_for(cast["melder"], report.pk, "accident")
    services.transition(cast["melder"], report.pk, "submit")
    with pytest.raises(Conflict):  # not yet released
        documents.document_for(cast["zks"], report.pk, "complaint")
    with pytest.raises(NotFound):  # personnel management does not see it before release
        documents.document_for(cast["personal"], report.pk, "complaint")
    documents.document_for(cast["chefin"], report.pk, "summary")


def test_accident_report_for_a_chosen_victim(cast, make_user):
    other = make_user("zweite", unit=cast["org"]["abt"])
    report = services.create_report(cast["melder"], report_input(
        victim_ids=[cast["melder"].employee.pk, other.employee.pk]), submit=True)
    services.transition(cast["chefin"], report.pk, "release")
    _, pdf = documents.document_for(cast["personal"], report.pk, "accident",
                                    victim_id=other.employee.pk)
    assert "Zweite, Test" in pdf_text(pdf)[1]
    # Each victim gets their own by default, and only their own.
    _, pdf = documents.document_for(other, report.pk, "accident")
    assert "Zweite, Test" in pdf_text(pdf)[1]
    with pytest.raises(AccessDenied):
        documents.document_for(other, report.pk, "accident",
                               victim_id=cast["melder"].employee.pk)
    with pytest.raises(InvalidInput):
        documents.document_for(cast["personal"], report.pk, "accident",
                               victim_id=cast["zks"].employee.pk)


def test_unknown_kind_and_unknown_report(cast, case):
    with pytest.raises(NotFound):
        documents.document_for(cast["personal"], case.pk, "letter")
    with pytest.raises(NotFound):
        documents.document_for(cast["personal"], case.pk + 1000, "complaint")


def test_each_generation_is_an_audited_read_and_refusals_leave_none(cast, case):
    def reads():
        return AuditEvent.objects.filter(object_type="reports.report", object_id=str(case.pk),
                                         purpose__startswith="Dokument:")

    before = reads().count()
    documents.document_for(cast["personal"], case.pk, "complaint")
    documents.document_for(cast["melder"], case.pk, "accident")
    event = reads().order_by("-seq").first()
    assert reads().count() == before + 2
    assert event.actor_id == cast["melder"].pk
    assert event.purpose == f"Dokument: Unfallanzeige (Betroffene/r #{cast['melder'].employee.pk})"
    assert reads().filter(actor=cast["personal"], purpose="Dokument: Strafanzeige").exists()
    with pytest.raises(AccessDenied):
        documents.document_for(cast["melder"], case.pk, "complaint")
    assert reads().count() == before + 2


# --- API ----------------------------------------------------------------------------------------

def test_api_returns_the_pdf_as_attachment(client, bearer, cast, case):
    url = f"/api/v1/reports/{case.pk}/documents/complaint"
    response = client.get(url, **bearer(cast["personal"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == \
        f'attachment; filename="Strafanzeige-{case.reference}.pdf"'
    assert "no-store" in response["Cache-Control"]
    assert case.reference in pdf_text(response.content)[1]


def test_api_accident_with_victim_id_and_summary(client, bearer, cast, case):
    headers = bearer(cast["personal"])
    victim = cast["melder"].employee.pk
    response = client.get(f"/api/v1/reports/{case.pk}/documents/accident?victim_id={victim}",
                          **headers)
    assert response.status_code == 200
    assert "Melder, Test" in pdf_text(response.content)[1]
    response = client.get(f"/api/v1/reports/{case.pk}/documents/summary", **headers)
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith(f'"Falluebersicht-{case.reference}.pdf"')


@pytest.mark.parametrize(("who", "path", "status"), [
    ("melder", "complaint", 403),
    ("fremd", "complaint", 404),
    ("personal", "letter", 404),
    ("personal", "accident?victim_id=abc", 400),
    ("personal", "accident?victim_id=999999", 400),
])
def test_api_refusals_are_problem_details(client, bearer, cast, case, who, path, status):
    response = client.get(f"/api/v1/reports/{case.pk}/documents/{path}", **bearer(cast[who]))
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["detail"]


def test_api_wrong_state_is_409(client, bearer, cast):
    report = services.create_report(cast["melder"], report_input(), submit=True)
    response = client.get(f"/api/v1/reports/{report.pk}/documents/complaint",
                          **bearer(cast["zks"]))
    assert response.status_code == 409
    assert "freigegeben" in response.json()["detail"]


def test_api_needs_authentication(client, case):
    response = client.get(f"/api/v1/reports/{case.pk}/documents/summary")
    assert response.status_code == 401


def test_dates_are_german_and_in_berlin_time():
    # 23:30 UTC on 31 December is already New Year in Berlin: documents say the Berlin date.
    moment = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    assert layout.fmt_datetime(moment) == "01.01.2026, 00:30 Uhr"
    assert layout.fmt_date(moment) == "01.01.2026"
    assert layout.fmt_date(moment.date() + timedelta(days=1)) == "01.01.2026"
