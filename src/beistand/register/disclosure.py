"""What the register tells the person about the processing (GDPR Art. 13-15): purposes,
recipients, legal basis, the supervisory authority, the person's rights, and the person's data
as they may see it. Shared by the rights requests (``rights``) and their letters (``letters``),
below both."""

from beistand.register.models import RegisterPerson

PURPOSES = [
    "Schutz der Beschäftigten der Behörde vor Angriffen bei der Erfüllung ihrer Aufgaben "
    "(Beschäftigtenschutzgesetz NRW – BSchG NRW)",
    "Beschäftigte, die dienstlich mit Ihnen zu tun haben, können im Einzelfall prüfen, ob "
    "Schutzmaßnahmen empfohlen sind (z. B. Termine nur zu zweit).",
]
RECIPIENTS = [
    "ausschließlich besonders berechtigte Beschäftigte dieser Behörde, im Einzelfall und nur "
    "bei dienstlichem Kontakt mit Ihnen (jede Abfrage wird protokolliert)",
    "die Zentrale Koordinierungsstelle (ZKS) der Behörde, die das Register führt",
    "keine Übermittlung an andere Behörden oder Dritte (nach dem BSchG NRW unzulässig)",
]
LEGAL_BASIS = [
    "Beschäftigtenschutzgesetz NRW (BSchG NRW) vom 18.11.2025, GV. NRW. 2025 S. 1012",
    "Art. 6 Abs. 1 Buchst. e DSGVO (Wahrnehmung einer Aufgabe im öffentlichen Interesse) "
    "in Verbindung mit dem BSchG NRW",
    "Art. 10 DSGVO (Daten über Straftaten) in Verbindung mit dem BSchG NRW",
    "Datenschutzgesetz Nordrhein-Westfalen (DSG NRW)",
]
SUPERVISORY_AUTHORITY = ("Landesbeauftragte für Datenschutz und Informationsfreiheit "
                         "Nordrhein-Westfalen (LDI NRW), Kavalleriestraße 2–4, 40213 Düsseldorf, "
                         "poststelle@ldi.nrw.de")

RIGHTS = [
    "Auskunft über die gespeicherten Daten (Art. 15 DSGVO)",
    "Berichtigung unrichtiger Daten (Art. 16 DSGVO)",
    "Löschung (Art. 17 DSGVO)",
    "Einschränkung der Verarbeitung (Art. 18 DSGVO)",
    "Widerspruch gegen die Verarbeitung aus Gründen Ihrer besonderen Situation "
    "(Art. 21 DSGVO)",
    "Beschwerde bei der Aufsichtsbehörde (Art. 77 DSGVO)",
]


def person_data(person: RegisterPerson) -> dict:
    """Everything stored on the person, as the person may see it (no staff, no reporters)."""
    addresses = [{"street": a.street, "house_number": a.house_number,
                  "postal_code": a.postal_code, "city": a.city,
                  "valid_from": a.valid_from, "valid_to": a.valid_to}
                 for a in person.addresses.order_by("-valid_to", "-valid_from", "pk")]
    entries = []
    for e in person.entries.prefetch_related("offences").order_by("-incident_date", "pk"):
        entries.append({
            "incident_date": e.incident_date, "hazard_level": e.hazard_level,
            "offences": [o.label for o in e.offences.all().order_by("-level", "sort", "label")],
            "source": e.get_source_display(),
        })
    return {
        "id": person.pk,
        "last_name": person.last_name, "first_names": person.first_names,
        "birth_name": person.birth_name, "aliases": list(person.aliases or []),
        "date_of_birth": person.date_of_birth,
        "addresses": addresses,
        "hazard_level": person.hazard_level, "last_incident_on": person.last_incident_on,
        "entries": entries,
        "measures": [m.label for m in person.measures.all()],
        "status": person.status, "status_label": person.get_status_display(),
        "review_on": person.review_on, "delete_on": person.delete_on,
    }
