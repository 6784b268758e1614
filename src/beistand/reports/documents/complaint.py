"""Strafanzeige und Strafantrag: the body, as employer and superior (Dienstherr), reports the
incident to the police and files the criminal application."""

from reportlab.lib.units import mm

from beistand.documents import layout as L
from beistand.documents import letterhead as lh
from beistand.organisation.models import OrgUnit
from beistand.reports.documents import common
from beistand.reports.models import Report

TITLE = "Strafanzeige"

# Offence code -> the provision of the Criminal Code (StGB) the act typically falls under. It only
# frames the complaint; the legal assessment is for police and public prosecutor. Codes without a
# clear single provision (harassment, verbal aggression, rampage) are named by their label only.
PROVISIONS = {
    "insult": "§ 185 StGB",              # Beleidigung
    "threat": "§ 241 StGB",              # Bedrohung
    "coercion": "§ 240 StGB",            # Nötigung
    "physical_violence": "§ 223 StGB",   # Körperverletzung
    "property_damage": "§ 303 StGB",     # Sachbeschädigung
    "sexual_harassment": "§ 184i StGB",  # Sexuelle Belästigung
    "weapon": "§ 224 StGB",              # Gefährliche Körperverletzung (Waffe, Werkzeug)
    "hostage_robbery": "§§ 239b, 249 StGB",  # Geiselnahme, Raub
    "bomb_threat": "§ 126 StGB",         # Androhung von Straftaten (Störung des öff. Friedens)
}


def build(report: Report, generated_at) -> tuple[str, bytes]:
    b = lh.body()
    address = lh.body_address(b)
    perpetrators = list(report.perpetrators.order_by("pk"))
    known = [p for p in perpetrators if p.known and p.last_name]
    victims = common.victims(report)
    personnel = OrgUnit.objects.filter(code="11").first()
    provisions = {code: lh.unbreakable(p) for code, p in PROVISIONS.items()}

    against = "gegen Unbekannt" if not known else (
        "gegen " + "; ".join(common.perpetrator_name(p) for p in known)
        + (" sowie Unbekannt" if len(known) < len(perpetrators) else ""))
    story = [
        *L.title("Strafanzeige und Strafantrag",
                 f"{against} – interne Meldung {report.reference}"),
        L.fields([
            ("Empfänger", "Zuständige Polizeidienststelle / Staatsanwaltschaft"),
            ("Anzeigende Stelle", [b.name, address, "als Dienstherr und Arbeitgeber der "
                                   "betroffenen Beschäftigten"]),
            ("Ansprechstelle", lh.unit_label(personnel) or "Personalverwaltung (Amt 11)"),
            ("Aktenzeichen (intern)", report.reference),
            ("Aktenzeichen Polizei", report.police_file_number
             or report.police_on_site_file_number),
        ]),
        *L.heading("1. Tatvorwurf"),
        L.para("Wir erstatten Strafanzeige wegen aller in Betracht kommenden Straftaten, "
               "insbesondere:"),
        L.fields([("Delikte", common.offence_lines(report, provisions))]),
        L.para("Die rechtliche Würdigung bleibt den Strafverfolgungsbehörden vorbehalten.",
               "small"),
        *L.heading("2. Tatzeit und Tatort"),
        L.fields([("Tatzeit", L.fmt_datetime(report.occurred_at)),
                  ("Tatort", common.place(report))]),
        *L.heading("3. Sachverhalt"),
        L.para(report.description),
    ]
    if report.injuries or report.incapacity_days:
        story.append(L.fields([
            ("Verletzungen", report.injuries),
            ("Arbeitsunfähigkeit", f"voraussichtlich {report.incapacity_days} Tage"
             if report.incapacity_days is not None else ""),
        ]))

    story += L.heading("4. Beschuldigte Person(en)")
    if not perpetrators:
        story.append(L.para("Die handelnde Person ist unbekannt; es liegen keine Angaben vor."))
    for i, p in enumerate(perpetrators, start=1):
        if len(perpetrators) > 1:
            story.append(L.para(f"Person {i}", "strong"))
        story.append(L.fields(common.perpetrator_rows(p)))

    story += L.heading("5. Geschädigte (Beschäftigte)")
    victim_rows = []
    for v in victims:
        victim_rows.append((v.full_name, [
            f"Dienststelle: {lh.unit_label(v.unit)}",
            f"Dienstanschrift: {b.name}, {address}",
        ]))
    story.append(L.fields(victim_rows, label_width=55 * mm))
    story.append(L.para("Die Beschäftigten haben die Wahrnehmungen in amtlicher Eigenschaft "
                        "gemacht; statt der Wohnanschrift wird der Dienstort angegeben "
                        "(§ 68 Abs. 1 Satz 2 StPO).", "small"))

    witness_rows = []
    if report.reporter_id not in {v.pk for v in victims}:
        r = report.reporter
        witness_rows.append((r.full_name, [
            "meldende Person", f"Dienststelle: {lh.unit_label(r.unit)}",
            f"Dienstanschrift: {b.name}, {address}"]))
    for w in report.witnesses.select_related("employee__unit").order_by("pk"):
        if w.employee_id:
            witness_rows.append((w.employee.full_name, [
                f"Dienststelle: {lh.unit_label(w.employee.unit)}",
                f"Dienstanschrift: {b.name}, {address}"]))
        else:
            witness_rows.append((w.name, [w.contact] if w.contact else
                                 ["Erreichbarkeit nicht bekannt"]))
    story += L.heading("6. Zeuginnen und Zeugen")
    if witness_rows:
        story.append(L.fields(witness_rows, label_width=55 * mm))
    else:
        story.append(L.para("Keine Zeuginnen oder Zeugen benannt."))

    story += [
        *L.heading("7. Maßnahmen vor Ort"),
        L.fields([
            ("Polizei vor Ort", L.yes_no(report.police_on_site)
             + (f", Aktenzeichen {report.police_on_site_file_number}"
                if report.police_on_site_file_number else "")),
            ("Hausverbot", ("ausgesprochen" if report.house_ban_issued else "nicht ausgesprochen")
             + (f" (am {L.fmt_date(report.house_ban_date)})" if report.house_ban_date else "")),
        ]),
    ]
    attachments = list(report.attachments.order_by("pk").values_list("original_name", flat=True))
    if attachments:
        story += [*L.heading("Anlagen"), L.fields([("Dateien", attachments)])]

    story += [
        *L.heading("8. Strafantrag"),
        L.markup("<b>Strafantrag wird gestellt.</b>", "strong"),
        L.para("Die Dienstvorgesetzte bzw. der Dienstvorgesetzte stellt Strafantrag aus allen "
               "rechtlichen Gesichtspunkten (§ 77a StGB, insbesondere § 194 Abs. 3 und "
               "§ 230 Abs. 2 StGB) und, soweit Eigentum der Behörde betroffen ist, als "
               "Verletzte (§ 303c StGB). Wir bitten um Mitteilung des Aktenzeichens und des "
               "Ausgangs des Verfahrens."),
        L.signatures(["Ort, Datum", "Unterschrift, Amt 11 (Personalverwaltung)",
                      "Name, Amtsbezeichnung"], lead=f"Für {b.name}:"),
    ]
    head = lh.letterhead(b, TITLE, report.reference, generated_at)
    return f"Strafanzeige-{report.reference}.pdf", L.render(head, story)
