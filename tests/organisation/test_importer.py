"""CSV import of units and employees: formats, validation of every row, upsert, audit."""

import codecs

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from beistand.audit.models import AuditEvent
from beistand.organisation import importer
from beistand.organisation.models import Employee, OrgUnit

pytestmark = pytest.mark.django_db

UNITS = """code;name;kind;parent_code;head_personnel_number
32/2;Verkehrsüberwachung;abteilung;32;2001
33;Bürgeramt;Amt;I;2003
33/1;Bürgerbüro;abteilung;33;
"""
EMPLOYEES = """personnel_number;last_name;first_name;email;service_phone;mobile_phone;unit_code;\
supervisor_personnel_number;site;building;floor;room;workstation;field_service;active
2001;Schäfer;Jörg;joerg.schaefer@teststadt.example;+49 221 555-0001;;32/2;;Rathaus;\
Hauptgebäude;1;1.01;PC-101;nein;ja
2002;Öztürk;Ayşe;ayse.oeztuerk@teststadt.example;+49 221 555-0002;+49 170 555-0002;32/2;\
2001;Rathaus;Hauptgebäude;1;1.02;PC-102;ja;ja
2003;Weiß;Gundula;;;;33;;;;;;;0;1
"""


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(tmp_path, *files, **kwargs):
    return importer.import_paths([write(tmp_path, n, t) for n, t in files], **kwargs)


def test_good_files_create_units_and_employees(org, tmp_path):
    before = AuditEvent.objects.count()
    report = run(tmp_path, ("units.csv", UNITS), ("employees.csv", EMPLOYEES))
    assert report.ok, report.as_text()
    assert report.units.as_dict() == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 0}
    assert report.employees.created == 3
    abt = OrgUnit.objects.get(code="32/2")
    assert abt.parent == org["amt32"] and abt.kind == "abteilung"
    assert abt.head.personnel_number == "2001"
    assert OrgUnit.objects.get(code="33").kind == "amt"  # label "Amt" accepted
    ayse = Employee.objects.get(personnel_number="2002")
    assert (ayse.first_name, ayse.last_name) == ("Ayşe", "Öztürk")
    assert ayse.field_service is True and ayse.active is True
    assert ayse.supervisor.personnel_number == "2001"
    assert ayse.room == org["rooms"][1] and ayse.workstation == "PC-102"
    gundula = Employee.objects.get(personnel_number="2003")
    assert gundula.room is None and gundula.field_service is False and gundula.email == ""
    # Audited: 3 units + 3 employees + 2 heads set once they exist + the import summary.
    events = AuditEvent.objects.filter(seq__gt=before)
    assert events.count() == 9
    assert set(events.values_list("actor_label", flat=True)) == {
        "import-org:units.csv,employees.csv"}
    summary = events.get(action="organisation.import")
    assert summary.after["employees"]["created"] == 3


def test_reimport_changes_nothing(org, tmp_path):
    run(tmp_path, ("units.csv", UNITS), ("employees.csv", EMPLOYEES))
    before = AuditEvent.objects.count()
    report = run(tmp_path, ("units.csv", UNITS), ("employees.csv", EMPLOYEES))
    assert report.ok
    assert report.units.unchanged == 3 and report.employees.unchanged == 3
    assert report.units.created == report.units.updated == 0
    assert not report.written
    assert AuditEvent.objects.count() == before


def test_changed_row_is_updated_with_before_and_after(org, tmp_path):
    run(tmp_path, ("units.csv", UNITS), ("employees.csv", EMPLOYEES))
    changed = EMPLOYEES.replace("+49 221 555-0002", "+49 221 555-9999").replace(
        "ayse.oeztuerk@teststadt.example", "ayse@teststadt.example")
    before = AuditEvent.objects.count()
    report = run(tmp_path, ("employees.csv", changed))
    assert report.employees.as_dict() == {"created": 0, "updated": 1, "unchanged": 2,
                                          "rejected": 0}
    ayse = Employee.objects.get(personnel_number="2002")
    assert ayse.service_phone == "+49 221 555-9999"
    event = AuditEvent.objects.get(seq__gt=before, action="organisation.employee.update")
    assert event.before == {"email": "ayse.oeztuerk@teststadt.example",
                            "service_phone": "+49 221 555-0002"}
    assert event.after == {"email": "ayse@teststadt.example", "service_phone": "+49 221 555-9999"}
    assert event.actor_label == "import-org:employees.csv"


def test_a_privileged_persons_email_and_mobile_stay_the_rest_is_imported(org, tmp_path,
                                                                          make_user):
    """A holder of a privileged role keeps e-mail and mobile number on an import (the login
    and the alarm SMS are bound to them; issue 16): the row's other changes go in, the two
    fields are reported, the import as a whole does not fail."""
    from beistand.accounts.models import RoleGrant
    from beistand.accounts.roles import Role

    run(tmp_path, ("units.csv", UNITS), ("employees.csv", EMPLOYEES))
    zks = make_user("zks2002", employee=False)
    ayse = Employee.objects.get(personnel_number="2002")
    with transaction.atomic():
        ayse.user = zks
        ayse.save()
        RoleGrant.objects.create(user=zks, role=Role.ZKS, reason="Test-Setup der Rolle")
    changed = EMPLOYEES.replace("+49 221 555-0002", "+49 221 555-9999").replace(
        "ayse.oeztuerk@teststadt.example", "angreifer@teststadt.example").replace(
        "+49 170 555-0002", "+49 170 666-6666")
    report = run(tmp_path, ("employees.csv", changed))
    assert report.ok and report.employees.updated == 1, report.as_text()
    ayse.refresh_from_db()
    assert ayse.service_phone == "+49 221 555-9999"
    assert (ayse.email, ayse.mobile_phone) == ("ayse.oeztuerk@teststadt.example",
                                               "+49 170 555-0002")
    assert any("E-Mail, Diensthandy von Personalnummer 2002 nicht übernommen" in w
               for w in report.warnings), report.warnings


def test_moving_a_unit_and_clearing_its_head(org, tmp_path):
    with transaction.atomic():
        head = Employee.objects.create(personnel_number="1", last_name="Alt", first_name="A",
                                       unit=org["abt"])
        org["abt"].head = head
        org["abt"].save()
    text = f"{UNIT_HEADER}\n32/1;Außendienst;abteilung;11;\n"
    report = run(tmp_path, ("units.csv", text))
    assert report.units.updated == 1
    unit = OrgUnit.objects.get(code="32/1")
    assert unit.parent == org["amt11"] and unit.head is None
    event = AuditEvent.objects.filter(action="organisation.orgunit.update").last()
    assert event.before == {"head": head.pk, "parent": org["amt32"].pk}
    assert event.after == {"head": None, "parent": org["amt11"].pk}


def test_dry_run_writes_nothing(org, tmp_path):
    before = (AuditEvent.objects.count(), OrgUnit.objects.count(), Employee.objects.count())
    report = run(tmp_path, ("units.csv", UNITS), ("employees.csv", EMPLOYEES), dry_run=True)
    assert report.units.created == 3 and report.employees.created == 3
    assert not report.written
    assert "Probelauf" in report.as_text()
    after = (AuditEvent.objects.count(), OrgUnit.objects.count(), Employee.objects.count())
    assert after == before


EMP_HEADER = EMPLOYEES.splitlines()[0]
GOOD_EMP = "3001;Gut;Gabi;gabi@teststadt.example;;;32/1;;;;;;;nein;ja"


@pytest.mark.parametrize(("bad_row", "reason"), [
    ("3002;;Fritz;;;;32/1;;;;;;;nein;ja", "Pflichtfeld „Name“ ist leer"),
    ("3002;Ohne;Einheit;;;;;;;;;;;nein;ja", "Pflichtfeld „Organisationseinheit“ ist leer"),
    ("3002;Falsch;Fritz;;;;99;;;;;;;nein;ja", "Organisationseinheit „99“ ist unbekannt"),
    ("3002;Falsch;Fritz;fritz(at)teststadt;;;32/1;;;;;;;nein;ja",
     "E-Mail-Adresse „fritz(at)teststadt“ ist ungültig"),
    ("3002;Falsch;Fritz;;;;32/1;;Rathaus;Hauptgebäude;1;9.99;;nein;ja",
     "Raum „Rathaus / Hauptgebäude / 1 / 9.99“ gibt es nicht"),
    ("3002;Falsch;Fritz;;;;32/1;;Rathaus;;1;1.01;;nein;ja", "Raumangabe unvollständig"),
    ("3002;Falsch;Fritz;;;;32/1;;Rathaus;Hauptgebäude;oben;1.01;;nein;ja",
     "Etage „oben“ ist keine Zahl"),
    ("3002;Falsch;Fritz;;;;32/1;;;;;;;vielleicht;ja",
     "Außendienst: „vielleicht“ ist kein Ja/Nein-Wert"),
    ("3002;Falsch;Fritz;;;;32/1;;;;;;;nein;jein", "aktiv: „jein“ ist kein Ja/Nein-Wert"),
    ("3002;Falsch;Fritz;;;;32/1;4711;;;;;;nein;ja",
     "Vorgesetzte/r: Personalnummer „4711“ ist unbekannt"),
    ("3002;Falsch;Fritz;;;;32/1;3002;;;;;;nein;ja", "nicht ihr/e eigene/r Vorgesetzte/r"),
    ("3002;Falsch;Fritz;;;;32/1;;;;;;;nein;ja;zu;viel", "mehr Felder als die Kopfzeile"),
    ("3001;Doppelt;Gabi;;;;32/1;;;;;;;nein;ja", "kommt in der Datei mehrfach vor (Zeilen 2, 3)"),
    ("3002;" + "x" * 101 + ";Fritz;;;;32/1;;;;;;;nein;ja", "Name ist länger als 100 Zeichen"),
])
def test_each_bad_employee_row_is_rejected_with_reason(org, tmp_path, bad_row, reason):
    text = f"{EMP_HEADER}\n{GOOD_EMP}\n{bad_row}\n"
    report = run(tmp_path, ("employees.csv", text))
    assert not report.ok
    assert len(report.rejections) == (2 if "mehrfach" in reason else 1)
    rejection = report.rejections[-1]
    assert rejection.line == 3
    assert reason in rejection.reason, rejection.reason
    assert "employees.csv, Zeile 3" in report.as_text()
    if "mehrfach" in reason:
        assert not Employee.objects.filter(personnel_number="3001").exists()
    else:
        # The good row is imported, the bad one is not.
        assert Employee.objects.filter(personnel_number="3001").exists()
        assert not Employee.objects.filter(personnel_number="3002").exists()


UNIT_HEADER = "code;name;kind;parent_code;head_personnel_number"


@pytest.mark.parametrize(("bad_row", "reason"), [
    ("40;;amt;I;", "Pflichtfeld „Bezeichnung“ ist leer"),
    ("40;Amt 40;referat;I;", "Art „referat“ ist unbekannt"),
    ("40;Amt 40;amt;99;", "übergeordnete Einheit „99“ ist unbekannt"),
    ("40;Amt 40;amt;40;", "nicht sich selbst übergeordnet"),
    ("40;Amt 40;amt;I;4711", "Leitung: Personalnummer „4711“ ist unbekannt"),
    ("41;Doppelt;amt;I;", "Kennung kommt in der Datei mehrfach vor"),
])
def test_each_bad_unit_row_is_rejected_with_reason(org, tmp_path, bad_row, reason):
    text = f"{UNIT_HEADER}\n41;Amt 41;amt;I;\n{bad_row}\n"
    report = run(tmp_path, ("units.csv", text))
    assert reason in report.rejections[-1].reason, report.as_text()
    assert report.rejections[-1].line == 3
    assert not OrgUnit.objects.filter(code="40").exists()


def test_cycle_in_unit_tree_is_rejected(org, tmp_path):
    # 32 under its own child 32/1: a cycle through an existing unit.
    text = f"{UNIT_HEADER}\n32;Ordnungsamt;amt;32/1;\nA;Kreis A;amt;B;\nB;Kreis B;amt;A;\n"
    report = run(tmp_path, ("units.csv", text))
    assert report.units.rejected == 3
    reasons = [r.reason for r in report.rejections]
    assert "Zyklus im Organisationsbaum: 32 → 32/1 → 32" in reasons[0]
    assert "Zyklus im Organisationsbaum" in reasons[1] and "Zyklus" in reasons[2]
    assert OrgUnit.objects.get(code="32").parent == org["dez"]
    assert not OrgUnit.objects.filter(code__in=["A", "B"]).exists()


def test_cycle_of_explicit_supervisors_is_rejected(org, tmp_path):
    text = (f"{EMP_HEADER}\n5001;A;A;;;;32;5002;;;;;;nein;ja\n5002;B;B;;;;32;5001;;;;;;nein;ja\n"
            "5003;C;C;;;;32;5001;;;;;;nein;ja\n")
    report = run(tmp_path, ("employees.csv", text))
    assert report.employees.rejected == 3
    assert "Zyklus bei den Vorgesetzten" in report.rejections[0].reason
    # The third row's supervisor fell with the cycle: it says so instead of "unknown".
    assert "„5001“ ist in dieser Datei abgelehnt" in report.rejections[2].reason


def test_rejection_cascades_to_rows_that_depend_on_it(org, tmp_path):
    units = f"{UNIT_HEADER}\n60;Neu;amt;99;\n"
    emps = f"{EMP_HEADER}\n6001;In;Neu;;;;60;;;;;;;nein;ja\n"
    report = run(tmp_path, ("units.csv", units), ("employees.csv", emps))
    assert report.units.rejected == 1 and report.employees.rejected == 1
    assert "Organisationseinheit „60“ ist in dieser Datei abgelehnt" in \
        report.rejections[1].reason


def test_supervisor_later_in_file_and_heads_of_new_units(org, tmp_path):
    units = f"{UNIT_HEADER}\n70;Amt 70;amt;I;7002\n70/1;Abteilung;abteilung;70;7001\n"
    emps = (f"{EMP_HEADER}\n7001;Erst;E;;;;70/1;7002;;;;;;nein;ja\n"
            "7002;Chef;C;;;;70;;;;;;;nein;ja\n")
    report = run(tmp_path, ("units.csv", units), ("employees.csv", emps))
    assert report.ok, report.as_text()
    assert OrgUnit.objects.get(code="70/1").head.personnel_number == "7001"
    assert Employee.objects.get(personnel_number="7001").supervisor.personnel_number == "7002"


def test_strict_writes_nothing_when_a_row_is_rejected(org, tmp_path):
    text = f"{EMP_HEADER}\n{GOOD_EMP}\n3002;;X;;;;32/1;;;;;;;nein;ja\n"
    report = run(tmp_path, ("employees.csv", text), strict=True)
    assert report.employees.created == 1 and report.employees.rejected == 1
    assert not report.written
    assert not Employee.objects.exists()


def test_cp1252_semicolon_and_german_headers(org, tmp_path):
    text = ("Personalnummer;Name;Vorname;E-Mail;Organisationseinheit;Außendienst;Kostenstelle\r\n"
            "8001;Müller-Lüdenscheidt;Jürgen;j.mueller@teststadt.example;32/1;Ja;4711\r\n")
    path = write(tmp_path, "hr.csv", text, encoding="cp1252")
    parsed = importer.read_file(path)
    assert (parsed.encoding, parsed.delimiter, parsed.kind) == ("cp1252", ";", "employees")
    report = importer.import_files([parsed])
    assert report.ok
    assert report.warnings == ["hr.csv: Spalte „Kostenstelle“ ist unbekannt und wird ignoriert"]
    emp = Employee.objects.get(personnel_number="8001")
    assert (emp.last_name, emp.first_name, emp.field_service) == (
        "Müller-Lüdenscheidt", "Jürgen", True)


def test_utf8_bom_comma_and_quoted_fields(org, tmp_path):
    text = ('personnel_number,last_name,first_name,unit_code,workstation\n'
            '8002,"Groß, genannt Klein",Änne,32/1,"PC ""A"""\n')
    path = tmp_path / "ad.csv"
    path.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    parsed = importer.read_file(path)
    assert (parsed.encoding, parsed.delimiter) == ("utf-8-sig", ",")
    assert importer.import_files([parsed]).ok
    emp = Employee.objects.get(personnel_number="8002")
    assert (emp.last_name, emp.first_name, emp.workstation) == (
        "Groß, genannt Klein", "Änne", 'PC "A"')


def test_utf16_tab_separated_excel_unicode_text(org, tmp_path):
    text = "Personalnummer\tName\tVorname\tOE\n8003\tTab\tTina\t32\n"
    path = tmp_path / "unicode.txt"
    path.write_bytes(text.encode("utf-16"))
    assert importer.import_paths([path]).ok
    assert Employee.objects.filter(personnel_number="8003", unit=org["amt32"]).exists()


def test_explicit_encoding_and_delimiter_options(org, tmp_path):
    text = "personnel_number|last_name|first_name|unit_code\n8004|Pipe|Paula|32\n"
    path = write(tmp_path, "pipe.csv", text, encoding="cp1252")
    report = importer.import_paths([path], encoding="cp1252", delimiter="|")
    assert report.ok and Employee.objects.filter(personnel_number="8004").exists()


def test_floor_can_be_omitted_or_spelled_out(org, tmp_path):
    text = (f"{EMP_HEADER}\n8005;Ohne;Etage;;;;32;;Rathaus;Hauptgebäude;;1.03;;nein;ja\n"
            "8006;Mit;OG;;;;32;;rathaus;hauptgebäude;1. OG;1.04;;nein;ja\n")
    assert run(tmp_path, ("employees.csv", text)).ok
    assert Employee.objects.get(personnel_number="8005").room == org["rooms"][2]
    assert Employee.objects.get(personnel_number="8006").room == org["rooms"][3]


@pytest.mark.parametrize(("text", "message"), [
    ("", "Die Datei ist leer"),
    ("foo;bar\n1;2\n", "Art der Datei nicht erkennbar"),
    ("personnel_number;last_name\n1;A\n", "Pflichtspalte fehlt: „first_name“ (Vorname), "
                                          "„unit_code“ (Organisationseinheit)"),
    ("code;name;kind;Kennung\n", "meinen beide „Kennung“"),
])
def test_unusable_file_aborts_with_exit_code_2(org, tmp_path, text, message):
    path = write(tmp_path, "bad.csv", text)
    before = AuditEvent.objects.count()
    with pytest.raises(CommandError) as err:
        call_command("import_org", str(path))
    assert err.value.returncode == 2
    assert message in str(err.value)
    assert AuditEvent.objects.count() == before


def test_undecodable_file_and_missing_file(org, tmp_path):
    path = tmp_path / "bin.csv"
    path.write_bytes(b"personnel_number;last_name\n\x81\x8d\x8f;x\n")
    with pytest.raises(importer.ImportFileError, match="Zeichenkodierung"):
        importer.read_file(path)
    with pytest.raises(importer.ImportFileError, match="nicht lesbar"):
        importer.read_file(tmp_path / "missing.csv")


def test_command_reports_and_exits_1_on_rejected_rows(org, tmp_path, capsys):
    good = write(tmp_path, "employees.csv", f"{EMP_HEADER}\n{GOOD_EMP}\n")
    call_command("import_org", str(good))
    out = capsys.readouterr().out
    assert "Beschäftigte: 0 neu" not in out and "Beschäftigte: 1 neu" in out

    bad = write(tmp_path, "employees.csv", f"{EMP_HEADER}\n{GOOD_EMP}\n3002;;X;;;;32/1;;;;;;;;\n")
    with pytest.raises(CommandError) as err:
        call_command("import_org", str(bad))
    assert err.value.returncode == 1
    out = capsys.readouterr().out
    assert "Beschäftigte: 0 neu, 0 geändert, 1 unverändert, 1 abgelehnt" in out
    assert "employees.csv, Zeile 3 (Personalnummer „3002“): Pflichtfeld „Name“ ist leer" in out


def test_command_dry_run_and_json(org, tmp_path, capsys):
    path = write(tmp_path, "employees.csv", f"{EMP_HEADER}\n{GOOD_EMP}\n")
    call_command("import_org", str(path), "--dry-run", "--json")
    out = capsys.readouterr().out
    assert '"created": 1' in out and '"written": false' in out
    assert not Employee.objects.exists()
