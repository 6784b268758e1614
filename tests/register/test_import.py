"""Legacy import: valid rows land with entries and keys, bad rows are rejected by line."""

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from beistand.audit.models import AuditEvent
from beistand.register import importer
from beistand.register.models import (
    RegisterAddress,
    RegisterEntry,
    RegisterPerson,
    SearchKey,
)

pytestmark = pytest.mark.django_db
TODAY = date(2030, 6, 1)
HEADER = ("last_name;first_names;birth_name;aliases;date_of_birth;street;house_number;"
          "postal_code;city;hazard_level;offence_codes;last_incident_on;measures")
GOOD = [
    "Meier;Hans Peter;Schmitz;Maier|Meyer;1970-03-04;Ginsterweg;7;50667;Köln;3;"
    "threat|weapon;2029-11-01;pairs|no_home_visit",
    "Yılmaz;Ayşe;;;04.05.1985;;;;;2;insult;15.01.2030;",
    "von der Heide;Jörg;;;1961-12-31;Am Markt;1a;50668;Köln;2;physical_violence;2028-07-01;",
]


def csv_text(*rows, header=HEADER):
    return "\n".join([header, *rows]) + "\n"


def run(text, **kwargs):
    kwargs.setdefault("today", TODAY)
    return importer.import_text(text, **kwargs)


def test_good_rows_are_imported_with_entries_and_keys():
    report = run(csv_text(*GOOD))
    assert report.ok, report.as_text()
    assert (report.rows, report.created, report.existing) == (3, 3, 0)
    meier = RegisterPerson.objects.get(last_name="Meier")
    assert meier.first_names == "Hans Peter" and meier.birth_name == "Schmitz"
    assert meier.aliases == ["Maier", "Meyer"]
    assert meier.date_of_birth == date(1970, 3, 4)
    assert meier.hazard_level == 3 and meier.last_incident_on == date(2029, 11, 1)
    assert meier.review_on == date(2029, 11, 1) + timedelta(days=2 * 365)
    assert meier.delete_on == date(2029, 11, 1) + timedelta(days=5 * 365)
    assert set(meier.measures.values_list("code", flat=True)) == {"pairs", "no_home_visit"}
    [entry] = meier.entries.all()
    assert entry.source == RegisterEntry.Source.IMPORT and entry.report is None
    assert set(entry.offences.values_list("code", flat=True)) == {"threat", "weapon"}
    [address] = meier.addresses.all()
    assert (address.street, address.house_number, address.postal_code, address.city) == (
        "Ginsterweg", "7", "50667", "Köln")
    assert SearchKey.objects.filter(person=meier).exists()
    yilmaz = RegisterPerson.objects.get(first_names="Ayşe")
    assert yilmaz.date_of_birth == date(1985, 5, 4) and not yilmaz.addresses.exists()
    # One summary audit row per chunk, without personal data.
    [row] = AuditEvent.objects.filter(action="register.import")
    assert row.after["persons"] == 3 and row.after["file"] == "import.csv"
    assert "Meier" not in str(row.after) and "Meier" not in row.object_repr
    assert row.actor_label == "import-register:import.csv"


def test_reimport_is_idempotent():
    run(csv_text(*GOOD))
    audit_rows = AuditEvent.objects.count()
    # Different case and spacing of the same persons: still the same natural key.
    again = run(csv_text(*GOOD, "MEIER;hans  peter;;;1970-03-04;;;;;1;insult;2030-01-01;"))
    assert again.ok and again.created == 0 and again.existing == 4
    assert RegisterPerson.objects.count() == 3
    assert RegisterEntry.objects.count() == 3
    assert AuditEvent.objects.count() == audit_rows


def test_bad_rows_are_rejected_with_line_numbers_and_nothing_of_them_stored():
    bad = [
        "Schulz;Karl;;;1970-02-30;;;;;2;threat;2029-01-01;",            # 3: bad date
        "Weber;Anna;;;1980-01-01;;;;;2;zauberei;2029-01-01;",           # 4: unknown offence
        "Koch;Ute;;;1980-01-01;;;;;2;threat;2029-01-01;tarnkappe",      # 5: unknown measure
        "Wolf;Ben;;;1980-01-01;;;;;4;threat;2029-01-01;",               # 6: level out of range
        "Meier;Hans Peter;;;04.03.1970;;;;;2;threat;2029-01-01;",       # 7: duplicate of 2
        ";Ohne;;;1980-01-01;;;;;2;threat;2029-01-01;",                  # 8: no last name
        ";;;;;Hauptstr.;1;;;2;threat;2029-01-01;",                      # 9: nothing identifying
        "Alt;Otto;;;1950-01-01;;;;;2;threat;2020-01-01;",               # 10: deletion overdue
        "Neu;Nina;;;2040-01-01;;;;;2;threat;2029-01-01;",               # 11: born in future
        "Fuchs;Eva;;;1980-13-13;;;;;2;threat;2029-01-01;",              # 12: bad date
    ]
    report = run(csv_text(GOOD[0], *bad))
    assert report.created == 1 and len(report.rejections) == 10
    by_line = {r.line: " ".join(r.reasons) for r in report.rejections}
    assert "Geburtsdatum „1970-02-30“ ist kein gültiges Datum" in by_line[3]
    assert "unbekannte Delikt-Kennung(en): zauberei" in by_line[4]
    assert "unbekannte Schutzmaßnahme(n): tarnkappe" in by_line[5]
    assert "Gefährdungsstufe „4“" in by_line[6]
    assert "doppelt in der Datei (wie Zeile 2)" in by_line[7]
    assert "Name fehlt" in by_line[8]
    assert "Name fehlt" in by_line[9]
    assert "Löschfrist" in by_line[10]
    assert "Zukunft" in by_line[11]
    assert "kein gültiges Datum" in by_line[12]
    assert list(RegisterPerson.objects.values_list("last_name", flat=True)) == ["Meier"]
    text = report.as_text()
    assert "Zeile 4: unbekannte Delikt-Kennung(en): zauberei" in text


def test_dry_run_writes_nothing():
    report = run(csv_text(*GOOD), dry_run=True)
    assert report.ok and report.created == 3
    assert "würden übernommen" in report.as_text()
    assert not RegisterPerson.objects.exists()
    assert not AuditEvent.objects.filter(action="register.import").exists()


def test_chunks_write_one_audit_row_each():
    rows = [f"Person{i:03d};Vorname;;;1980-01-{1 + i % 28:02d};;;;;2;threat;2029-01-01;"
            for i in range(25)]
    report = run(csv_text(*rows), chunk=10)
    assert report.created == 25
    chunks = AuditEvent.objects.filter(action="register.import").order_by("seq")
    assert [r.after["persons"] for r in chunks] == [10, 10, 5]
    assert chunks[0].after["first_line"] == 2 and chunks[2].after["last_line"] == 26


def test_german_headers_cp1252_and_comma(tmp_path):
    header = ("Nachname,Vornamen,Geburtsname,Aliasnamen,Geburtsdatum,Straße,Hausnummer,PLZ,"
              "Ort,Gefährdungsstufe,Delikte,Letzter Vorfall,Maßnahmen,Bemerkung")
    body = "Müller,Jürgen,,,1975-06-07,Weg,1,50667,Köln,2,threat,2029-05-05,,intern\n"
    path = tmp_path / "alt.csv"
    path.write_bytes((header + "\n" + body).encode("cp1252"))
    report = importer.import_register(path, today=TODAY)
    assert report.ok and report.created == 1
    assert report.ignored_columns == ["Bemerkung"]
    assert RegisterPerson.objects.get().last_name == "Müller"


def test_file_errors():
    with pytest.raises(importer.ImportFileError, match="Pflichtspalte"):
        run("first_names;date_of_birth\nHans;1970-01-01\n")
    with pytest.raises(importer.ImportFileError, match="leer"):
        run("")
    with pytest.raises(importer.ImportFileError, match="gibt es nicht"):
        importer.import_register("/nonexistent/alt.csv")
    with pytest.raises(importer.ImportFileError, match="Zeichenkodierung"):
        run(csv_text(*GOOD), encoding="klingonisch")
    assert not RegisterPerson.objects.exists()


def test_command(tmp_path):
    # The command works on the real date: incidents relative to today.
    recent = (timezone.localdate() - timedelta(days=100)).isoformat()
    rows = [";".join([*r.split(";")[:11], recent, *r.split(";")[12:]]) for r in GOOD]
    path = tmp_path / "alt.csv"
    path.write_text(csv_text(*rows), encoding="utf-8")
    out, err = StringIO(), StringIO()
    call_command("import_register", str(path), "--dry-run", stdout=out, stderr=err)
    assert "3 Personen würden übernommen" in out.getvalue()
    assert "Zeile 4: 3 übernommen" in err.getvalue()  # progress line
    assert not RegisterPerson.objects.exists()
    call_command("import_register", str(path), stdout=out, stderr=err)
    assert RegisterPerson.objects.count() == 3
    bad = tmp_path / "bad.csv"
    bad.write_text(csv_text(f"X;Y;;;1970-13-01;;;;;2;threat;{recent};"), encoding="utf-8")
    with pytest.raises(CommandError) as exc:
        call_command("import_register", str(bad), stdout=StringIO(), stderr=StringIO())
    assert exc.value.returncode == 1
    with pytest.raises(CommandError) as exc:
        call_command("import_register", str(tmp_path / "fehlt.csv"), stdout=StringIO(),
                     stderr=StringIO())
    assert exc.value.returncode == 2
    assert RegisterAddress.objects.count() == 2


# --- Namesakes, incomplete addresses, missing fields: imported, with warnings -----------------

def test_two_namesakes_without_date_at_different_addresses_are_two_persons_for_review():
    report = run(csv_text(
        "Müller;Stefan;;;;Venloer Straße;12;50825;Köln;2;threat;2029-01-01;",
        "Mueller;Stefan;;;;Aachener Straße;3;50674;Köln;1;insult;2029-02-01;",
    ))
    assert report.ok and report.created == 2, report.as_text()
    assert RegisterPerson.objects.filter(first_names="Stefan").count() == 2
    assert report.possible_duplicates == [(3, "Zeile 2")]
    [warning] = report.warnings
    assert warning.line == 3 and "mögliche Dublette von Zeile 2" in warning.reasons[0]
    text = report.as_text()
    assert "1 mit Hinweis" in text and "durch die ZKS prüfen" in text
    assert "Müller" not in text and "Venloer" not in text  # no personal data in the report
    # Re-import: both are there (natural key includes the address when the date is missing).
    again = run(csv_text(
        "Müller;Stefan;;;;Venloer Straße;12;50825;Köln;2;threat;2029-01-01;",
        "Mueller;Stefan;;;;Aachener Straße;3;50674;Köln;1;insult;2029-02-01;",
    ))
    assert again.created == 0 and again.existing == 2
    # A third one in a later file is listed against the register.
    third = run(csv_text("Müller;Stefan;;;1971-05-05;;;;;2;threat;2029-03-01;"))
    assert third.created == 1
    [(line, other)] = third.possible_duplicates
    assert line == 2 and other.startswith("Person Nr. ")
    # Namesakes with different dates of birth are not listed.
    fourth = run(csv_text("Schulz;Karl;;;1970-01-01;;;;;2;threat;2029-01-01;",
                          "Schulz;Karl;;;1985-06-06;;;;;2;threat;2029-01-01;"))
    assert fourth.created == 2 and fourth.possible_duplicates == []


def test_incomplete_address_imports_the_person_without_it_with_a_warning():
    report = run(csv_text(
        "Lang;Eva;;;1980-01-01;Hauptstr.;1;;Köln;2;threat;2029-01-01;",   # no postal code
        "Kurz;Otto;;;1981-01-01;;;50667;Köln;2;threat;2029-01-01;",       # no street
        "Breit;Uwe;;;1982-01-01;Weg;1;5066;Köln;2;threat;2029-01-01;",    # four-digit code
    ))
    assert report.ok and report.created == 3, report.as_text()
    assert not RegisterAddress.objects.exists()
    by_line = {w.line: " ".join(w.reasons) for w in report.warnings}
    assert "Anschrift unvollständig" in by_line[2] and "ohne Anschrift übernommen" in by_line[2]
    assert "Anschrift unvollständig" in by_line[3]
    assert "nicht fünf Ziffern" in by_line[4]
    lang = RegisterPerson.objects.get(last_name="Lang")
    assert SearchKey.objects.filter(person=lang, kind="nd").exists()  # still findable


def test_only_rows_without_identifying_data_are_rejected():
    report = run(csv_text(
        "Fuchs;;;;;;;;;2;threat;2029-01-01;",                      # last name only: imported
        ";;;;;;;;;2;threat;2029-01-01;",                           # nothing: rejected
    ))
    assert report.created == 1
    assert [r.line for r in report.rejections] == [3]
    assert "Name fehlt" in report.rejections[0].reasons[0]
    [warning] = report.warnings
    assert warning.line == 2 and "weder Vornamen noch Geburtsdatum" in warning.reasons[0]
