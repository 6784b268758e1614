"""Dashboard, exports, annual report and DPO pages: roles, bad input, and the proof that the
statistics role reaches no personal data through the UI or the API."""

import io
import json
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import load_workbook
from pypdf import PdfReader

from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent
from beistand.reports.models import Report
from tests.stats.conftest import (
    SECRET_DESCRIPTION,
    SECRET_FIRST,
    SECRET_PERPETRATOR,
    at,
    make_incident,
)

pytestmark = pytest.mark.django_db

PAGES = ["/statistik/", "/statistik/export.csv", "/statistik/export.xlsx",
         "/statistik/jahresbericht/?jahr=2025"]
RANGE = "from=2024-01-01&to=2025-12-31"


@pytest.fixture
def many(staff):
    """25 incidents in 2025 with names, descriptions and field addresses that must not leak."""
    for i in range(25):
        user = staff["ordnung"] if i % 2 else staff["jugend"]
        make_incident(user, at(2025, 1 + i % 12, 1 + i), level=1 + i % 3,
                      offences=("threat", "insult") if i % 4 else ("weapon",),
                      field=i % 3 == 0, known=i % 5 != 0, police=i % 2 == 0,
                      injuries="Schnittwunde am Arm" if i % 6 == 0 else "",
                      incapacity=3 if i % 6 == 0 else None,
                      steps=(("submitted", 2), ("released", 10 + i),
                             ("complaint_filed", 60 + i), ("published", 90 + i)))
    return staff


@pytest.fixture(autouse=True)
def _no_second_factor(settings):
    settings.DEMO_MODE = True  # privileged roles would be sent to the TOTP step first


def login(client, user):
    client.force_login(user)
    return client


def _forbidden_strings(staff) -> list[str]:
    strings = [SECRET_DESCRIPTION, "GEHEIM", SECRET_PERPETRATOR, SECRET_FIRST, "Geheimweg",
               "Schnittwunde"]
    for user in staff.values():
        e = user.employee
        strings += [e.last_name, e.personnel_number, user.username, e.email]
    strings += [r.reference for r in Report.objects.all()]
    return strings


def _text(response) -> str:
    if response["Content-Type"].startswith("application/pdf"):
        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    if "spreadsheetml" in response["Content-Type"]:
        book = load_workbook(io.BytesIO(response.content))
        return "\n".join(str(c) for s in book for row in s.iter_rows(values_only=True)
                         for c in row if c is not None)
    return response.content.decode("utf-8")


def test_statistics_role_reaches_no_personal_data(client, bearer, readers, many):
    stat = readers[Role.STATISTICS]
    headers = bearer(stat)
    login(client, stat)
    forbidden = _forbidden_strings(many)
    report_ids = set(Report.objects.values_list("pk", flat=True))
    responses = [client.get(f"{page}{'&' if '?' in page else '?'}{RANGE}") for page in PAGES]
    responses.append(client.get(f"/statistik/?{RANGE}&period=month&unit_depth=3"))
    for group in ("month,level", "unit,site", "offence,perpetrator", "location,police,injured"):
        responses.append(client.get(f"/api/v1/stats/incidents?group_by={group}&{RANGE}",
                                    **headers))
    responses.append(client.get(f"/api/v1/stats/key-figures?{RANGE}", **headers))
    responses.append(client.get(f"/api/v1/stats/lead-times?{RANGE}", **headers))
    responses.append(client.get("/api/v1/stats/annual-report/2025.pdf", **headers))
    assert all(r.status_code == 200 for r in responses), [r.status_code for r in responses]
    for response in responses:
        text = _text(response)
        for secret in forbidden:
            assert secret not in text, (secret, response.request["PATH_INFO"])
        if response["Content-Type"].startswith("application/json"):
            # no field that could carry a report id or a person
            keys = set(re.findall(r'"([a-z_]+)":', text))
            assert not keys & {"id", "report_id", "reporter", "name", "description",
                               "reference", "victims", "perpetrators"}, keys
    # The report pages and the report API stay closed to the statistics role.
    some = next(iter(report_ids))
    assert client.get(f"/api/v1/reports/{some}", **headers).status_code == 404
    assert client.get(f"/meldungen/{some}/").status_code in (403, 404)


@pytest.mark.parametrize("role", [Role.STATISTICS, Role.ZKS, Role.DPO, Role.ADMIN])
def test_reader_roles_open_the_dashboard(client, readers, many, role):
    response = login(client, readers[role]).get(f"/statistik/?{RANGE}")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<figure") == 4 and html.count("<figcaption") == 4
    assert html.count('role="img"') == 4 and "<title id=" in html and "<desc id=" in html
    assert "style=" not in html  # strict CSP: no inline styles, also not inside the SVG
    assert "<caption" in html and "Tabelle zum Diagramm" in html


@pytest.mark.parametrize("who", [Role.QUERIER, Role.PERSONNEL, Role.SECURITY, "reporter"])
def test_other_roles_get_the_german_403_page(client, readers, many, who):
    login(client, readers[who])
    for page in [*PAGES, "/statistik/datenschutz/", "/statistik/datenschutz/verzeichnis.pdf"]:
        response = client.get(page)
        assert response.status_code == 403, page
        assert "Berechtigung" in response.content.decode() or "Rolle" in \
            response.content.decode()


def test_dashboard_bad_filters_show_a_german_message(client, readers):
    login(client, readers[Role.STATISTICS])
    for query, text in [("from=2025-06-01&to=2025-01-01", "nach dessen Ende"),
                        ("from=2000-01-01&to=2025-01-01", "höchstens 10 Jahre"),
                        ("level=7", "Gefährdungsstufe"), ("unit=XYZ", "Organisationseinheit"),
                        ("from=gestern", "kein gültiges Datum")]:
        response = client.get(f"/statistik/?{query}")
        assert response.status_code == 400, query
        assert text in response.content.decode(), query
    assert client.get("/statistik/export.csv?level=9").status_code == 400
    assert client.get("/statistik/export.pdf").status_code == 400
    assert client.get("/statistik/jahresbericht/?jahr=abc").status_code == 400
    assert client.get("/statistik/jahresbericht/?jahr=1990").status_code == 400


def test_exports_hold_exactly_the_shown_tables(client, readers, many):
    login(client, readers[Role.STATISTICS])
    html = client.get(f"/statistik/?{RANGE}&period=quarter").content.decode()
    csv_text = client.get(f"/statistik/export.csv?{RANGE}&period=quarter").content.decode(
        "utf-8-sig")
    lines = csv_text.splitlines()
    assert lines[0].startswith("Auswertung;")
    assert "Vorfälle je Quartal nach Gefährdungsstufe" in csv_text
    # every table title of the page is in the export, with the same withheld markers
    for title in re.findall(r'<h2 class="kern-heading-medium" id="h-(?!filter|figures|annual)'
                            r'[^"]+">([^<]+)</h2>', html):
        assert title.replace("&amp;", "&") in csv_text, title
    assert ("<5" in csv_text) == ("&lt;5" in html)
    xlsx = client.get(f"/statistik/export.xlsx?{RANGE}&period=quarter")
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames[0] == "Auswahl" and len(book.sheetnames) == 8


def test_annual_report_pdf_renders_with_comparison_and_is_audited(client, readers, many):
    login(client, readers[Role.ZKS])
    response = client.get("/statistik/jahresbericht/?jahr=2025")
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "Jahresbericht 2025" in text and "2024" in text
    assert "Kennzahlen im Vergleich zum Vorjahr" in text and "Bearbeitungszeiten" in text
    assert "Anonymisierte Statistik" in text and "personenbezogene Daten" not in text
    assert AuditEvent.objects.filter(action="stats.annual_report").count() == 1


def test_cli_report_annual(tmp_path, many, capsys):
    target = tmp_path / "jb.pdf"
    call_command("report", "annual", "--year", "2025", "--output", str(target))
    assert target.read_bytes().startswith(b"%PDF")
    assert "Jahresbericht 2025" in capsys.readouterr().out
    with pytest.raises(CommandError, match="Jahresbericht gibt es"):
        call_command("report", "annual", "--year", "1999", "--output", str(target))


def test_dpo_page_and_records(client, readers, many):
    login(client, readers[Role.DPO])
    page = client.get("/statistik/datenschutz/")
    assert page.status_code == 200
    assert "Offene Anträge" in page.content.decode()
    md = client.get("/statistik/datenschutz/verzeichnis.md").content.decode()
    assert "Verzeichnis von Verarbeitungstätigkeiten" in md
    assert "BEISTAND_REGISTER_DELETE_YEARS" in md and "Statistik" in md
    assert "| Statistik | nur anonymisierte Auswertungen | 1 |" in md  # live grant count
    pdf = client.get("/statistik/datenschutz/dsfa.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Folgenabschätzung" in text and "Risiken" in text
    assert client.get("/statistik/datenschutz/unbekannt.pdf").status_code == 404
    assert AuditEvent.objects.filter(action="stats.dpo_document").count() == 2
    assert AuditEvent.objects.filter(action="stats.dpo.rights_overview").count() == 1
    # the admin may generate the records, but not see the rights requests
    login(client, readers[Role.ADMIN])
    assert client.get("/statistik/datenschutz/verzeichnis.md").status_code == 200
    assert client.get("/statistik/datenschutz/").status_code == 403


def test_statistics_start_card_and_navigation(client, readers, many):
    html = login(client, readers[Role.STATISTICS]).get("/").content.decode()
    assert "Statistik öffnen" in html and 'href="/statistik/"' in html
    assert "späteren Ausbaustufe" not in html.split("Statistik")[1][:400]
    json.dumps(html[:10])
