"""The Art. 15 GDPR access report: all data on the person, purposes, recipients, source,
retention and the number of look-ups per unit (no reporter data, no querier names)."""

from reportlab.platypus import KeepTogether

from beistand.documents import layout
from beistand.documents import letterhead as lh
from beistand.documents.layout import fields, fmt_date, grid, para
from beistand.register.letters import common as c
from beistand.register.models import RegisterPerson, RightsRequest

TITLE = "Auskunft Art. 15"  # short: the footer centres the marking


def _address_rows(addresses: list[dict]) -> list[list[str]]:
    rows = []
    for a in addresses:
        street = f"{a['street']} {a['house_number']}".strip()
        rows.append([street, f"{a['postal_code']} {a['city']}".strip(),
                     fmt_date(a["valid_from"]) or "—",
                     fmt_date(a["valid_to"]) or "aktuell"])
    return rows


def story(data: dict, person: RegisterPerson, request: RightsRequest | None,
          reference: str) -> list:
    p = data["person"]
    out = [c.address_block(person, c.info(reference)),
           *c.subject("Auskunft über die zu Ihrer Person gespeicherten Daten (Art. 15 DSGVO)"),
           c.salutation(person)]
    received = f" vom {fmt_date(request.received_on)}" if request else ""
    out.append(para(f"auf Ihren Antrag{received} teilen wir Ihnen mit, welche Daten die "
                    f"{lh.body().name} in ihrem Melde- und Auskunftsregister zu Ihrer Person "
                    f"verarbeitet. Stand: {fmt_date(data['generated_at'])}."))
    out += c.heading("Angaben zur Person")
    out.append(fields([
        ("Name", p["last_name"]), ("Vornamen", p["first_names"]),
        ("Geburtsname", p["birth_name"]), ("weitere Namen", p["aliases"]),
        ("Geburtsdatum", fmt_date(p["date_of_birth"])),
        ("Status der Eintragung", p["status_label"]),
    ], missing="nicht gespeichert"))
    out += c.heading("Anschriften")
    if p["addresses"]:
        out.append(grid(["Straße", "Ort", "gültig ab", "gültig bis"],
                        _address_rows(p["addresses"]), [60, 50, 25, 25]))
    else:
        out.append(para("Keine Anschrift gespeichert."))
    out += c.heading("Vorfälle")
    rows = [[fmt_date(e["incident_date"]), str(e["hazard_level"]), ", ".join(e["offences"]),
             e["source"]] for e in p["entries"]]
    if rows:
        out.append(grid(["Datum", "Stufe", "Deliktskategorien", "Herkunft"], rows,
                        [22, 13, 85, 40]))
    else:
        out.append(para("Keine Vorfälle gespeichert."))
    # Kept on one page: a lone "Löschung am" row at the top of page 2 reads like an orphan.
    out.append(KeepTogether([*c.heading("Bewertung, Maßnahmen und Fristen"), fields([
        ("höchste Gefährdungsstufe", f"{p['hazard_level']} (Skala 0–3)"),
        ("letzter Vorfall", fmt_date(p["last_incident_on"])),
        ("empfohlene Schutzmaßnahmen", p["measures"] or "keine"),
        ("Prüfung am", fmt_date(p["review_on"])),
        ("Löschung am", fmt_date(p["delete_on"])),
    ], missing="—")]))
    out += c.heading("Abfragen durch Beschäftigte")
    counts = data["lookups_per_unit"]
    days = data["lookup_log_days"]
    if counts:
        out.append(para(f"Anzahl der Abfragen, bei denen Ihre Eintragung angezeigt wurde, je "
                        f"Organisationseinheit (Protokolle der letzten {days} Tage):"))
        out.append(grid(["Organisationseinheit", "Abfragen"],
                        [[unit, str(n)] for unit, n in counts.items()], [120, 40]))
    else:
        out.append(para(f"In den letzten {days} Tagen wurde Ihre Eintragung bei keiner "
                        f"Abfrage angezeigt."))
    out += c.heading("Zwecke")
    out += [c.bullet(x) for x in data["purposes"]]
    out += c.heading("Rechtsgrundlage")
    out += [c.bullet(x) for x in data["legal_basis"]]
    out += c.heading("Empfänger")
    out += [c.bullet(x) for x in data["recipients"]]
    out += c.heading("Herkunft der Daten")
    out.append(para(data["source"]))
    out += c.heading("Speicherdauer")
    out.append(para(c.retention_text(person)))
    if data["rights_requests"]:
        out += c.heading("Ihre Anträge und Informationen")
        out.append(grid(["Eingang", "Art", "Stand"],
                        [[fmt_date(r["received_on"]), r["kind_label"], r["state_label"]]
                         for r in data["rights_requests"]], [25, 95, 40]))
    out += c.rights_section()
    out.append(c.contact_and_closing())
    return out


def access_report_draft(data: dict, request: RightsRequest | None = None) -> layout.Draft:
    """The letter gathered (reads the database: call it in the audited read's transaction)."""
    person = RegisterPerson.objects.get(pk=data["person"]["id"])
    reference = f"ZKS-BR-{request.pk}" if request else f"ZKS-P-{person.pk}"
    return layout.Draft(c.letterhead(TITLE, reference), story(data, person, request, reference))


def access_report_pdf(data: dict, request: RightsRequest | None = None) -> bytes:
    return access_report_draft(data, request).render()
