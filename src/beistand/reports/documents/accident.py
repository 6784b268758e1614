"""Unfallanzeige (accident report to the statutory accident insurer, § 193 SGB VII), one per
victim. Filled from the case as far as beistand knows the form's fields (numbered as on the DGUV
form); what only the personnel file holds (date of birth, private address, health insurer, first
doctor) is left for personnel management to complete — beistand does not store it."""

from django.conf import settings

from beistand.documents import layout as L
from beistand.documents import letterhead as lh
from beistand.organisation.models import Employee
from beistand.reports.documents import common
from beistand.reports.models import Report

TITLE = "Unfallanzeige"
TO_COMPLETE = "von der Personalverwaltung zu ergänzen"


def obligation(days: int | None) -> str:
    """The reporting obligation: more than three days of incapacity (§ 193 Abs. 1 SGB VII)."""
    if days is None:
        return ("Meldepflicht prüfen: Die voraussichtliche Dauer der Arbeitsunfähigkeit ist nicht "
                "angegeben. Meldepflichtig ist ein Unfall mit mehr als drei Tagen "
                "Arbeitsunfähigkeit (§ 193 Abs. 1 SGB VII).")
    if days > 3:
        return (f"Meldepflichtig: voraussichtlich {days} Tage Arbeitsunfähigkeit (mehr als drei "
                "Tage). Die Anzeige ist binnen drei Tagen nach Kenntnis zu erstatten "
                "(§ 193 Abs. 1 und 4 SGB VII).")
    return (f"Nicht meldepflichtig (≤ 3 Tage; voraussichtlich {days} Tage Arbeitsunfähigkeit). "
            "Eine Anzeige wird bei Übergriffen dennoch empfohlen (DGUV Information 207-025), "
            "damit Folgeschäden später anerkannt werden können.")


def build(report: Report, victim: Employee, generated_at) -> tuple[str, bytes]:
    b = lh.body()
    days = report.incapacity_days
    offences = common.offence_lines(report)
    source = ("der versicherten Person" if report.reporter_id == victim.pk
              else f"anderer Personen (Meldung von {report.reporter.full_name})")
    witnesses = []
    for w in report.witnesses.select_related("employee__unit").order_by("pk"):
        if w.employee_id:
            witnesses.append(f"{w.employee.full_name}, {lh.unit_label(w.employee.unit)}")
        else:
            witnesses.append(w.name + (f" ({w.contact})" if w.contact else ""))
    first_knowledge = report.reporter.full_name + (
        " (versicherte Person)" if report.reporter_id == victim.pk else " (meldende Person)")
    other_victims = [v.full_name for v in common.victims(report) if v.pk != victim.pk]

    story = [
        *L.title("Unfallanzeige",
                 f"Tätlicher Angriff oder Bedrohung bei der Arbeit – {victim.full_name} – "
                 f"Meldung {report.reference}"),
        L.note(L.text(obligation(days)), is_markup=True),
        *L.heading("Unternehmen und Unfallversicherungsträger"),
        L.fields([
            ("1  Unternehmen", [b.name, lh.body_address(b)]),
            ("2  Unternehmensnummer", ""),
            ("3  Empfänger", settings.ACCIDENT_INSURER),
        ], missing=TO_COMPLETE),
        *L.heading("Versicherte Person"),
        L.fields([
            ("4  Name, Vorname", f"{victim.last_name}, {victim.first_name}"),
            ("5  Geburtsdatum", ""),
            ("6  Anschrift", ""),
            ("13  Krankenkasse", ""),
            ("23  Tätig als", ""),
            ("25  Ständig tätig in", lh.unit_label(victim.unit)),
            ("Personalnummer", victim.personnel_number),
        ], missing=TO_COMPLETE),
        *L.heading("Unfall"),
        L.fields([
            ("15  Unfallzeitpunkt", L.fmt_datetime(report.occurred_at)),
            ("16  Unfallort", common.place(report)),
            ("Art des Ereignisses", offences),
        ]),
        L.para("17  Ausführliche Schilderung des Unfallhergangs", "sublabel"),
        L.para(report.description),
        L.para(f"Die Angaben beruhen auf der Schilderung {source}.", "small"),
        L.fields([
            ("18/19  Verletzte Körperteile, Art der Verletzung", report.injuries),
            ("Voraussichtliche Arbeitsunfähigkeit",
             f"{days} Tage" if days is not None else ""),
            ("20  Zuerst Kenntnis genommen", first_knowledge),
            ("Zeuginnen und Zeugen", witnesses),
            ("Weitere betroffene Beschäftigte", other_victims),
            ("Polizei vor Ort", L.yes_no(report.police_on_site)
             + (f", Aktenzeichen {report.police_on_site_file_number}"
                if report.police_on_site_file_number else "")),
        ], missing="keine Angabe"),
        *L.heading("Angaben aus der Personalakte"),
        L.fields([
            ("21  Erstbehandelnde Ärztin / erstbehandelnder Arzt", ""),
            ("22  Arbeitszeit am Unfalltag", ""),
            ("26  Arbeit eingestellt", ""),
            ("27  Arbeit wieder aufgenommen", ""),
        ], missing=TO_COMPLETE),
        L.para("Hinweis: Für Beamtinnen und Beamte ist statt dieser Anzeige eine "
               "Dienstunfallmeldung nach dem Beamtenversorgungsrecht zu erstatten.", "small"),
        L.signatures(["28  Datum", "Unternehmer/in (Bevollmächtigte/r)",
                      "Betriebs- bzw. Personalrat"]),
    ]
    head = lh.letterhead(b, TITLE, report.reference, generated_at)
    filename = f"Unfallanzeige-{report.reference}-{victim.pk}.pdf"
    return filename, L.render(head, story)
